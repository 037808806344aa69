import AnimaCore

/// Decides, from a `SecurityPolicy` and the provenance of its arguments, whether a tool
/// call may run. Pure and deterministic: the same policy, call and context always give the
/// same decision, and every denial says which argument came from where and what the
/// policy allows.
public struct PolicyEngine: Sendable {
    public var policy: SecurityPolicy

    public init(policy: SecurityPolicy = .strict) {
        self.policy = policy
    }

    /// Checks a call to `tool` (declaring `effect`) with `arguments`, made in `context`.
    public func evaluate(tool: String, effect declared: ToolEffect, arguments: JSONValue, context: ProvenanceLedger) -> PolicyDecision {
        let rule = policy.tools[tool]
        let effect = rule?.effect ?? declared
        guard effect != .readOnly else { return PolicyDecision(verdict: .allow, effect: effect, violations: []) }
        var violations: [PolicyDecision.Violation] = []
        let toolAction = rule?.onViolation ?? policy.defaultAction
        var action = SecurityPolicy.Action.ask  // the strictest action of any violation wins
        if rule?.trustedContextOnly == true, context.isTainted {
            action = toolAction == .deny ? .deny : action
            let sources = context.taint.sorted().map(\.description).joined(separator: ", ")
            violations.append(.init(
                argument: nil, sources: context.taint,
                reason: "\(tool) may only run before untrusted text enters the conversation, and it holds text from \(sources)"))
        }
        for argument in context.provenance(of: arguments) {
            let topLevel = String(argument.path.prefix { $0 != "." && $0 != "[" })
            let argumentRule = rule?.arguments[argument.path] ?? rule?.arguments[topLevel]
            let allowed = argumentRule?.allow ?? rule?.allow ?? policy.defaultAllow
            let bad = argument.label.sources.filter { !allowed.allows($0) }
            guard !bad.isEmpty else { continue }
            if (argumentRule?.onViolation ?? toolAction) == .deny { action = .deny }
            let names = bad.sorted().map(\.description).joined(separator: ", ")
            violations.append(.init(
                argument: argument.path, sources: bad,
                reason: "argument \(argument.path) depends on \(names), but the policy allows only \(allowed) there"))
        }
        guard !violations.isEmpty else { return PolicyDecision(verdict: .allow, effect: effect, violations: []) }
        let explanation = "\(tool) (\(effect.rawValue)): " + violations.map(\.reason).joined(separator: "; ")
        return PolicyDecision(verdict: action == .ask ? .ask(explanation) : .deny(explanation), effect: effect, violations: violations)
    }
}

/// What the policy engine decided about one call.
public struct PolicyDecision: Sendable, Hashable {
    public enum Verdict: Sendable, Hashable {
        case allow
        case deny(String)
        /// Allowed only if the user confirms; the text says what they are confirming.
        case ask(String)
    }

    /// One argument (or the context as a whole, when `argument` is nil) the policy rejects.
    public struct Violation: Sendable, Hashable {
        public var argument: String?
        public var sources: Set<ProvenanceSource>
        public var reason: String
    }

    public var verdict: Verdict
    /// The effect the decision assumed (the policy's override, else the tool's own).
    public var effect: ToolEffect
    public var violations: [Violation]
}
