/// The input and output evaluators: a pipeline of scanners whose findings a
/// `GuardPolicy` turns into an action. Every run yields a verdict, which the kernel
/// records in the audit log whether or not anything was found.
public struct GuardPipeline: Sendable {
    public var scanners: [any GuardScanner]
    public var policy: GuardPolicy

    /// The built-in scanners: secrets, PII, invisible Unicode, injection phrasing,
    /// dangerous code, and the given canary tokens.
    public init(policy: GuardPolicy = .standard, canaries: Set<String> = []) {
        var scanners: [any GuardScanner] = [
            PatternScanner.secrets, PIIScanner(), InvisibleUnicodeScanner(), PatternScanner.injectionPhrases,
            PatternScanner.dangerousCode, PatternScanner.exfiltrationLinks,
        ]
        if !canaries.isEmpty { scanners.append(CanaryScanner(tokens: canaries)) }
        self.init(scanners: scanners, policy: policy)
    }

    public init(scanners: [any GuardScanner], policy: GuardPolicy) {
        self.scanners = scanners
        self.policy = policy
    }

    /// Runs every scanner over `text` and applies the policy.
    public func evaluate(_ text: String, _ direction: GuardPolicy.Direction) -> GuardVerdict {
        let findings = scanners.flatMap { $0.scan(text) }
        let action = findings.map { policy.action(for: $0.category, direction) }.max() ?? .allow
        var result = text
        let redactions = findings.filter { policy.action(for: $0.category, direction) == .redact }
            .sorted { $0.range.lowerBound < $1.range.lowerBound }
        if !redactions.isEmpty {
            var out = ""
            var cursor = text.startIndex
            for finding in redactions where finding.range.lowerBound >= cursor {
                out += text[cursor..<finding.range.lowerBound]
                if finding.category != .invisibleUnicode { out += "[REDACTED \(finding.kind)]" }
                cursor = finding.range.upperBound
            }
            out += text[cursor...]
            result = out
        }
        return GuardVerdict(direction: direction, findings: findings, action: action, text: result)
    }
}

/// What a guard decided about one text.
public struct GuardVerdict: Sendable, CustomStringConvertible {
    public var direction: GuardPolicy.Direction
    public var findings: [GuardFinding]
    /// The strongest action any finding calls for; `allow` when nothing was found.
    public var action: GuardPolicy.Action
    /// The text after redaction (the original when nothing was redacted).
    public var text: String

    public var categories: [GuardCategory] { Array(Set(findings.map(\.category))).sorted() }

    public var description: String {
        guard !findings.isEmpty else { return "\(direction.rawValue): clean" }
        let kinds = Dictionary(grouping: findings, by: \.kind).map { "\($0.key) x\($0.value.count)" }.sorted()
        return "\(direction.rawValue): \(action.rawValue) (\(kinds.joined(separator: ", ")))"
    }
}
