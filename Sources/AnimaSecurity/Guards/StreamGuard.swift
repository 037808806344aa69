/// The output guard for text that streams: it scans what it holds each time more arrives,
/// and releases only text in which no match that the policy acts on can still be under
/// way: it holds back from the earliest place where a scanner's pattern has begun and more
/// text could complete it (`GuardPipeline.pendingStart`: `AKI`, `sk-pr`, `![x](ht`,
/// `ANIMA-CAN` at the end), and at most the last `window` characters for such a start.
/// Text in which nothing can be under way leaves at once: "The capital" is not held.
///
/// A secret or canary split across chunks is therefore seen whole before any of it is
/// released: redacted text is released redacted, and a `block` verdict releases nothing
/// more, ever. A pattern that stays unfinished for more than `window` characters could be
/// released in part, so the window is longer than any secret the scanners know (keys,
/// tokens, canaries); a match that is already whole and may still grow is held past it.
///
/// The final text still passes the whole-text output guard; this guard only decides what
/// may leave early.
public struct StreamGuard: Sendable {
    /// What may leave now.
    public enum Release: Sendable, Equatable {
        /// Scanned text to send on (may be empty while the guard holds text back).
        case text(String)
        /// A finding the policy blocks: the stream must end here, with this verdict.
        case blocked(String)
    }

    public let pipeline: GuardPipeline
    public let window: Int
    private var held = ""
    private var heldCount = 0
    public private(set) var isBlocked = false

    /// The most characters held back for an unfinished match: longer than any key or token
    /// the scanners match.
    public static let defaultWindow = 256

    public init(_ pipeline: GuardPipeline, window: Int = StreamGuard.defaultWindow) {
        self.pipeline = pipeline
        self.window = max(1, window)
    }

    /// Takes the next chunk; returns what may be sent on now.
    public mutating func feed(_ chunk: String) -> Release {
        guard !isBlocked else { return .blocked("the stream was already stopped") }
        held += chunk
        heldCount += chunk.count
        let growing: String.Index?
        switch scan(final: false) {
        case .blocked(let reason): return .blocked(reason)
        case .growing(let start): growing = start
        }
        // Only the last `window` characters are asked about: an earlier start is released
        // anyway, and a long chunk then costs a window's attempts, not one per character.
        let recentStart = heldCount > window ? held.index(held.startIndex, offsetBy: heldCount - window) : held.startIndex
        let recent = String(held[recentStart...])
        var cut =
            pipeline.pendingStart(in: recent, .output).map {
                held.index(recentStart, offsetBy: recent.distance(from: recent.startIndex, to: $0))
            }
            ?? held.endIndex
        if let growing, growing < cut { cut = growing }  // never release part of a match that may still grow
        guard cut > held.startIndex else { return .text("") }
        let out = String(held[..<cut])
        heldCount -= out.count
        held.removeSubrange(..<cut)
        return .text(out)
    }

    /// The text ended (the stream, or a run of text before a tool call): scans and
    /// releases what is still held. The guard may be fed again afterwards.
    public mutating func finish() -> Release {
        guard !isBlocked else { return .blocked("the stream was already stopped") }
        if case .blocked(let reason) = scan(final: true) { return .blocked(reason) }
        let out = held
        held = ""
        heldCount = 0
        return .text(out)
    }

    private enum Scan {
        case blocked(String)
        /// Where the earliest match that reaches the end of the held text starts (it may
        /// grow with the next chunk: a key's tail), or nil.
        case growing(String.Index?)
    }

    /// Scans the held text; redacts what the policy redacts, except a match that reaches
    /// the end and may still grow (redacted whole once it stops, or at the end).
    private mutating func scan(final: Bool) -> Scan {
        let verdict = pipeline.evaluate(held, .output, cached: false)
        guard !verdict.findings.isEmpty else { return .growing(nil) }
        if verdict.action == .block {
            isBlocked = true
            held = ""
            heldCount = 0
            return .blocked("the output guard stopped the answer: it holds \(verdict.categories.map(\.rawValue).joined(separator: ", "))")
        }
        let growing = final ? [] : verdict.findings.filter { $0.range.upperBound == held.endIndex }
        if let start = growing.map(\.range.lowerBound).min() {
            // Redact what lies wholly before the growing match; keep the rest for the next scan.
            let head = String(held[..<start])
            let redacted = pipeline.evaluate(head, .output, cached: false).text
            guard redacted != head else { return .growing(start) }
            held = redacted + held[start...]
            heldCount = held.count
            return .growing(held.index(held.startIndex, offsetBy: redacted.count))
        }
        if verdict.text != held {
            held = verdict.text
            heldCount = held.count
        }
        return .growing(nil)
    }
}
