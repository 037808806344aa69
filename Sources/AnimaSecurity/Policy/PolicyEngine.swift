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
    /// - Parameter roles: the part each top-level argument plays (see `ArgumentRole`): a
    ///   recipient, amount, target, path or URL must be the user's whole value or a whole
    ///   field of a source they pointed to, whatever the policy allows there; `content` may
    ///   carry untrusted text (marked by the monitor) unless the argument's own rule says otherwise.
    public func evaluate(
        tool: String, effect declared: ToolEffect, arguments: JSONValue, context: ProvenanceLedger, roles: [String: ArgumentRole] = [:]
    ) -> PolicyDecision {
        let rule = policy.rule(for: tool)
        let effect = rule?.effect ?? declared
        guard effect != .readOnly else { return PolicyDecision(verdict: .allow, effect: effect, violations: []) }
        var violations: [PolicyDecision.Violation] = []
        let toolAction = rule?.onViolation ?? policy.defaultAction
        var action = SecurityPolicy.Action.ask  // the strictest action of any violation wins
        if rule?.trustedContextOnly == true, context.isTainted {
            action = toolAction == .deny ? .deny : action
            let sources = context.taint.sorted().map(\.description).joined(separator: ", ")
            violations.append(
                .init(
                    argument: nil, sources: context.taint,
                    reason: "\(tool) may only run before untrusted text enters the conversation, and it holds text from \(sources)"))
        }
        var provenance = context.provenance(of: arguments)
        // The action set, fixed before untrusted text came in, says which calls the task makes.
        let covering = context.actions?.actions(for: tool)
        // Values the user gave explicitly (`--allow 'tool(arg=value)'`) bind from the start;
        // those the model read from the user's words, once untrusted text could steer a call.
        if let actions = context.actions, let covering, context.isTainted || (actions.origin == .explicit && !covering.isEmpty) {
            if covering.isEmpty {
                let sources = context.taint.sorted().map(\.description).joined(separator: ", ")
                violations.append(
                    .init(
                        argument: nil, sources: context.taint,
                        reason:
                            "\(tool) is not among the actions the task calls for (\(actions)), and text from \(sources) entered the conversation "
                            + "before it was asked for, so an instruction there may have chosen it"))
            } else {
                for argument in provenance {
                    let key = String(argument.path.prefix { $0 != "." && $0 != "[" })
                    let fixed = covering.map { $0.arguments[argument.path] ?? $0.arguments[key] }
                    guard !fixed.contains(where: { $0 == nil }) else { continue }
                    let values = fixed.compactMap { $0 }
                    guard !values.contains(where: { Self.same($0, argument.value) }) else { continue }
                    let wanted = values.map(\.jsonText).joined(separator: " or ")
                    violations.append(
                        .init(
                            argument: argument.path, sources: argument.label.sources,
                            reason: "the task fixed argument \(argument.path) of \(tool) to \(wanted), and the call gives another value"))
                }
            }
        }
        // A value in both the user's words and untrusted text is the user's only in a call the task makes.
        if context.actions != nil, covering?.isEmpty != false, context.isTainted {
            for i in provenance.indices {
                if let other = provenance[i].coincidence { provenance[i].label = provenance[i].label.joined(with: other) }
            }
        }
        let pointed = (covering ?? []).reduce(into: Set<String>()) { $0.formUnion($1.from) }
        if effect == .network {
            // Data only some principals may read must not leave over the network, unless the
            // policy says this argument may carry it (say, an email body to a recipient the user chose).
            for argument in provenance {
                guard let readers = argument.label.readers, !Self.fromPointedSource(argument, pointed, context) else { continue }
                let argumentRule = rule?.rule(forArgument: argument.path)
                if argumentRule?.mayDisclose ?? rule?.mayDisclose ?? false { continue }
                if (argumentRule?.onViolation ?? toolAction) == .deny { action = .deny }
                let names = argument.label.sources.sorted().map(\.description).joined(separator: ", ")
                violations.append(
                    .init(
                        argument: argument.path, sources: argument.label.sources,
                        reason:
                            "argument \(argument.path) holds data from \(names) that only \(readers.sorted().joined(separator: ", ")) may read, "
                            + "and \(tool) sends it over the network to others (a policy can allow it with \"mayDisclose\")"))
            }
        }
        var flagged: Set<String> = []
        for argument in provenance {
            let argumentRule = rule?.rule(forArgument: argument.path)
            // Free text may carry what was read, marked as such (see SecurityMonitor.screen).
            if Self.role(of: argument.path, in: roles) == .content, argumentRule?.allow == nil { continue }
            let allowed = argumentRule?.allow ?? rule?.allow ?? policy.defaultAllow
            let bad = argument.label.sources.filter { !allowed.allows($0) }
            guard !bad.isEmpty, !Self.fromPointedSource(argument, pointed, context) else { continue }
            if (argumentRule?.onViolation ?? toolAction) == .deny { action = .deny }
            flagged.insert(argument.path)
            let names = bad.sorted().map(\.description).joined(separator: ", ")
            violations.append(
                .init(
                    argument: argument.path, sources: bad,
                    reason: "argument \(argument.path) depends on \(names), but the policy allows only \(allowed) there"))
        }
        // Who or what the call acts on is never chosen by untrusted text, whatever the policy allows.
        for argument in provenance where !flagged.contains(argument.path) {
            guard let role = Self.role(of: argument.path, in: roles), role.isSelector, !argument.label.isTrusted,
                !Self.fromPointedSource(argument, pointed, context)
            else { continue }
            if (rule?.rule(forArgument: argument.path)?.onViolation ?? toolAction) == .deny { action = .deny }
            let names = argument.label.untrustedSources.sorted().map(\.description).joined(separator: ", ")
            violations.append(
                .init(
                    argument: argument.path, sources: argument.label.untrustedSources,
                    reason:
                        "argument \(argument.path) is the call's \(role.rawValue), which must be a value from your own words or a whole field of the source you pointed to, and it came from \(names)"
                ))
        }
        guard !violations.isEmpty else { return PolicyDecision(verdict: .allow, effect: effect, violations: []) }
        let explanation = "\(tool) (\(effect.rawValue)): " + violations.map(\.reason).joined(separator: "; ")
        return PolicyDecision(verdict: action == .ask ? .ask(explanation) : .deny(explanation), effect: effect, violations: violations)
    }
}

extension PolicyEngine {
    /// The role of the argument at `path` (`to`, `items[0].name`): its top-level argument's.
    static func role(of path: String, in roles: [String: ArgumentRole]) -> ArgumentRole? {
        roles.isEmpty ? nil : roles[path] ?? roles[String(path.prefix { $0 != "." && $0 != "[" })]
    }

    /// Whether an argument was read from a source the user pointed to for this call
    /// (`ActionSet.Action.from`): every untrusted source of its label is one of those
    /// tools' outputs (or the kind of data they read), at least one such tool is named, the
    /// injection detector found no instructions in it, and the value is a whole data field
    /// of that output (a JSON leaf, a `key: value` line), not words inside its prose,
    /// where an injected instruction would carry its own values.
    static func fromPointedSource(_ argument: ArgumentProvenance, _ pointed: Set<String>, _ context: ProvenanceLedger) -> Bool {
        let label = argument.label
        guard !pointed.isEmpty, context.isField(argument.value, fromTools: pointed) else { return false }
        var named = false
        for source in label.untrustedSources {
            switch source {
            case .tool(let name):
                guard pointed.contains(name), !context.suspect.contains(source) else { return false }
                named = true
            case .web, .file, .email, .memory: continue
            case .agent, .user, .system: return false
            }
        }
        return named
    }

    /// Whether an argument's text is the value the action set fixed, up to case, white
    /// space, and number and date formats.
    static func same(_ fixed: JSONValue, _ text: String) -> Bool {
        let wanted = fixed.stringValue ?? fixed.jsonText
        if ValueNormalizer.fold(wanted) == ValueNormalizer.fold(text) { return true }
        let keys = ValueNormalizer.keys(ofValue: text)
        return !keys.isEmpty && !keys.isDisjoint(with: ValueNormalizer.keys(inText: wanted))
    }

    /// Checks that `value`, sent to a process of `recipient`, is data `recipient` may read
    /// in `context` (its label's readers, if restricted, include them).
    public func evaluateDisclosure(of value: String, to recipient: String, context: ProvenanceLedger) -> PolicyDecision {
        let label = context.label(of: value)
        guard let readers = label.readers, !readers.contains(recipient) else {
            return PolicyDecision(verdict: .allow, effect: .network, violations: [])
        }
        let names = label.sources.sorted().map(\.description).joined(separator: ", ")
        let reason =
            "the message holds data from \(names) that only \(readers.sorted().joined(separator: ", ")) may read, and its recipient is a process of \(recipient)"
        return PolicyDecision(
            verdict: .deny(reason), effect: .network, violations: [.init(argument: nil, sources: label.sources, reason: reason)])
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
