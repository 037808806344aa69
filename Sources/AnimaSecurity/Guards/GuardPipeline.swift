import AnimaCore

/// The input and output evaluators: a pipeline of scanners whose findings a
/// `GuardPolicy` turns into an action. Every run yields a verdict, which the kernel
/// records in the audit log whether or not anything was found.
///
/// Each distinct text is scanned once: the findings are remembered by content (see
/// `ScanCache`), so a page that entered the context is not scanned again when the model
/// passes it on in a tool call's arguments.
public struct GuardPipeline: Sendable {
    public var scanners: [any GuardScanner] {
        didSet { cache = ScanCache() }  // findings of other scanners no longer hold
    }
    public var policy: GuardPolicy
    /// The guard model, asked by `screen` in the directions `policy.modelDirections` names.
    public var classifier: (any GuardClassifier)?
    private var cache = ScanCache()

    /// The built-in scanners: secrets, PII, invisible Unicode, injection phrasing,
    /// dangerous code, and the given canary tokens.
    public init(policy: GuardPolicy = .standard, canaries: Set<String> = []) {
        var scanners: [any GuardScanner] = [
            PatternScanner.secrets, PIIScanner(), InvisibleUnicodeScanner(), PatternScanner.injectionPhrases,
            PatternScanner.dangerousCode, ExfiltrationLinkScanner(),
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
        evaluate(text, direction, cached: true)
    }

    /// `cached: false` for texts that will not come back (a stream's moving window).
    func evaluate(_ text: String, _ direction: GuardPolicy.Direction, cached: Bool) -> GuardVerdict {
        let findings = cached ? cache.findings(in: text, scan: scan) : scan(text)
        return verdict(text, direction, findings)
    }

    /// Every scanner's findings in `text`. When it holds invisible characters, the scanners
    /// also read it as its reader sees it (see `VisibleText`), so a zero-width space cannot
    /// hide a key or a link; those findings are mapped back onto `text`.
    func scan(_ text: String) -> [GuardFinding] {
        let direct = scanners.flatMap { $0.scan(text) }
        guard let visible = VisibleText(text) else { return direct }
        var seen = Set(direct)
        var findings = direct
        for scanner in scanners where !(scanner is InvisibleUnicodeScanner) {
            for finding in scanner.scan(visible.text).map(visible.mapped) where seen.insert(finding).inserted {
                findings.append(finding)
            }
        }
        return findings
    }

    /// Where the earliest match that the policy redacts or blocks in `direction` may be under
    /// way at the end of `text`, as its reader sees it too (see `GuardScanner.pendingStart`);
    /// nil when none can be. The stream guard releases what comes before.
    func pendingStart(in text: String, _ direction: GuardPolicy.Direction) -> String.Index? {
        let acted = Set(GuardCategory.allCases.filter { [.redact, .block].contains(policy.action(for: $0, direction)) })
        guard !acted.isEmpty else { return nil }
        var starts = scanners.compactMap { $0.pendingStart(in: text, for: acted) }
        if let visible = VisibleText(text) {
            for scanner in scanners where !(scanner is InvisibleUnicodeScanner) {
                if let start = scanner.pendingStart(in: visible.text, for: acted) { starts.append(visible.index(start)) }
            }
        }
        return starts.min()
    }

    /// Runs the scanners and, where the policy puts it, the guard model over `text`. A
    /// model that fails counts as a finding (kind `guard model failed`): the guard fails
    /// closed, as the `model` category's action says.
    public func screen(_ text: String, _ direction: GuardPolicy.Direction) async -> GuardVerdict {
        let scanned = evaluate(text, direction)
        guard let classifier, policy.modelDirections.contains(direction), !text.isEmpty else { return scanned }
        let kind: String
        do {
            let said = try await classifier.classify(text, direction)
            guard said.unsafe else {
                var safe = scanned
                safe.modelVerdict = "\(classifier.name): safe"
                return safe
            }
            kind = "guard model: \(said.kind)"
        } catch {
            kind = "guard model failed: \(error)"
        }
        let finding = GuardFinding(scanner: classifier.name, category: .model, kind: kind, range: text.startIndex..<text.endIndex)
        var judged = verdict(text, direction, scanned.findings.filter { $0.category != .model } + [finding])
        judged.modelVerdict = "\(classifier.name): unsafe (\(kind))"
        return judged
    }

    /// `screen` over a tool call's arguments: the scanners string by string, the model
    /// once over the whole call.
    public func screen(arguments: JSONValue, _ direction: GuardPolicy.Direction) async -> GuardVerdict {
        let scanned = evaluate(arguments: arguments, direction)
        guard classifier != nil, policy.modelDirections.contains(direction) else { return scanned }
        let judged = await screen(arguments.jsonText, direction)
        let findings = scanned.findings + judged.findings.filter { $0.category == .model }
        var verdict = GuardVerdict(direction: direction, findings: findings, action: max(scanned.action, judged.action), text: scanned.text)
        verdict.modelVerdict = judged.modelVerdict
        return verdict
    }

    private func verdict(_ text: String, _ direction: GuardPolicy.Direction, _ findings: [GuardFinding]) -> GuardVerdict {
        let action = findings.map { policy.action(for: $0.category, direction) }.max() ?? .allow
        var result = text
        let redactions = findings.filter { policy.action(for: $0.category, direction) == .redact }
            .sorted { ($0.range.lowerBound, $1.range.upperBound) < ($1.range.lowerBound, $0.range.upperBound) }
        if !redactions.isEmpty {
            // By scalars: a span may start inside a character (a zero-width joiner belongs
            // to the character before it).
            let scalars = text.unicodeScalars
            var out = String.UnicodeScalarView()
            var cursor = scalars.startIndex
            for finding in redactions where finding.range.upperBound > cursor {
                if finding.range.lowerBound > cursor { out.append(contentsOf: scalars[cursor..<finding.range.lowerBound]) }
                // An overlapping span extends the one before; each visible one leaves a marker.
                if finding.category != .invisibleUnicode { out.append(contentsOf: "[REDACTED \(finding.kind)]".unicodeScalars) }
                cursor = finding.range.upperBound
            }
            out.append(contentsOf: scalars[cursor...])
            result = String(out)
        }
        return GuardVerdict(direction: direction, findings: findings, action: action, text: result)
    }
}

extension GuardPipeline {
    /// Runs the pipeline over each string in a tool call's `arguments` (each scanned, or
    /// found in the cache, on its own) and combines the verdicts: every finding (its range
    /// is within the string it was found in), the strongest action, and the arguments'
    /// JSON text unchanged (redact strings one by one with `evaluate(_:_:)`).
    public func evaluate(arguments: JSONValue, _ direction: GuardPolicy.Direction) -> GuardVerdict {
        var findings: [GuardFinding] = []
        var action = GuardPolicy.Action.allow
        func visit(_ value: JSONValue) {
            switch value {
            case .string(let s):
                let verdict = evaluate(s, direction)
                findings += verdict.findings
                action = max(action, verdict.action)
            case .array(let items): items.forEach(visit)
            case .object(let object): for (_, child) in object { visit(child) }
            default: break
            }
        }
        visit(arguments)
        return GuardVerdict(direction: direction, findings: findings, action: action, text: arguments.jsonText)
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
    /// What the guard model said, when it was asked (`name: safe`, `name: unsafe (...)`).
    public var modelVerdict: String?

    /// Whether there is anything to record: a finding, or the guard model's word.
    public var isWorthRecording: Bool { !findings.isEmpty || modelVerdict != nil }

    public var categories: [GuardCategory] { Array(Set(findings.map(\.category))).sorted() }

    public var description: String {
        let model = modelVerdict.map { "; \($0)" } ?? ""
        guard !findings.isEmpty else { return "\(direction.rawValue): clean\(model)" }
        let kinds = Dictionary(grouping: findings, by: \.kind).map { "\($0.key) x\($0.value.count)" }.sorted()
        return "\(direction.rawValue): \(action.rawValue) (\(kinds.joined(separator: ", ")))\(model)"
    }
}
