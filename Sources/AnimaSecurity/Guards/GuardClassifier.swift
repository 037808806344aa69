/// A guard backed by a model: it reads a text and says whether it is unsafe, and what
/// kind of unsafe. The pipeline asks it after the scanners, in the directions the guard
/// policy names (`"guards": {"model": {"on": ["input"]}}`), and its verdict is recorded
/// like any scanner's, as a finding of category `model`.
public protocol GuardClassifier: Sendable {
    /// The classifier's name, as verdicts record it.
    var name: String { get }
    func classify(_ text: String, _ direction: GuardPolicy.Direction) async throws -> GuardClassification
}

/// What a guard model said about one text.
public struct GuardClassification: Sendable, Hashable {
    public var unsafe: Bool
    /// What kind of thing it found (`injection`, `exfiltration`, ...), in its words.
    public var kind: String

    public init(unsafe: Bool, kind: String) {
        self.unsafe = unsafe
        self.kind = kind
    }
}
