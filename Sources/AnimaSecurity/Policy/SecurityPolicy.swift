import AnimaCore
import Crypto
import Foundation

/// The data-flow rules the policy engine applies to tool calls: a file the user can read
/// and change (JSON), loaded with every mistake named.
///
/// ```json
/// {
///   "default": {"allow": ["user", "system"], "onViolation": "deny"},
///   "tools": {
///     "send_email": {
///       "effect": "network",
///       "arguments": {
///         "to": {"allow": ["user"]},
///         "body": {"allow": ["user", "system", "tool:*", "web", "file"]}
///       },
///       "onViolation": "ask"
///     },
///     "shell": {"trustedContextOnly": true}
///   }
/// }
/// ```
///
/// A key of `tools` is a tool's full name (MCP tools are `server__tool`) or a glob
/// (`mail__*`, `*__send_*`); a name's own rule wins, else the most specific glob.
/// Only calls to tools whose effect is not `read-only` are checked. For each argument the
/// allowed sources come from the argument's rule, else the tool's `allow`, else the
/// default's. Source patterns: `user`, `system`, `web`, `file`, `email`, `memory`,
/// `tool:NAME`, `tool:*`, `agent:PID`, `agent:*`, `*`. `trustedContextOnly` denies the
/// call outright once any untrusted text has entered the context (for tools such as a
/// shell, where even user-given arguments are dangerous when the decision to call was
/// steered). `onViolation` is `deny` or `ask` (the user confirms; with no one to ask, deny).
/// `notes` (an array of strings) is for people and ignored. `guards` says what the input
/// and output guards do per category, and `guards.model.on` where the guard model reads.
///
/// Values also carry their readers: memory and files a process reads may be read by its
/// owner only. Such a value may not be an argument of a `network` call unless the
/// argument's (or tool's) rule says `"mayDisclose": true`, nor be sent to a process of
/// another principal.
///
/// The memory functions are checked under their own names: `core_memory_append`,
/// `core_memory_replace` and `archival_insert` write (so by default text from untrusted
/// sources cannot be saved to memory), `conversation_search` and `archival_search` read.
/// A policy may let `archival_insert` save untrusted text: the kernel tags each passage
/// with its untrusted sources, and labels it with them when it is read back.
public struct SecurityPolicy: Sendable, Hashable {
    /// What a violation leads to.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case deny, ask
    }

    /// A set of allowed sources.
    public struct SourcePatterns: Sendable, Hashable, CustomStringConvertible {
        public var patterns: [String]

        public init(_ patterns: [String]) throws(PolicyError) {
            for p in patterns where !Self.isValid(p) {
                throw PolicyError(
                    "unknown source \"\(p)\"; use user, system, web, file, email, memory, tool:NAME, tool:*, agent:PID, agent:* or *")
            }
            self.patterns = patterns
        }

        static func isValid(_ p: String) -> Bool {
            p == "*" || p == "tool:*" || p == "agent:*" || ProvenanceSource(p) != nil
        }

        public func allows(_ source: ProvenanceSource) -> Bool {
            patterns.contains { p in
                switch p {
                case "*": true
                case "tool:*": if case .tool = source { true } else { false }
                case "agent:*": if case .agent = source { true } else { false }
                default: p == source.description
                }
            }
        }

        public var description: String { patterns.joined(separator: ", ") }
    }

    public struct ArgumentRule: Sendable, Hashable {
        public var allow: SourcePatterns?
        public var onViolation: Action?
        /// Whether a network call may carry data with restricted readers in this argument.
        public var mayDisclose: Bool?
    }

    public struct ToolRule: Sendable, Hashable {
        /// Overrides the effect the tool declares.
        public var effect: ToolEffect?
        public var allow: SourcePatterns?
        /// By argument path (`to`, `meta.subject`) or top-level name.
        public var arguments: [String: ArgumentRule]
        public var trustedContextOnly: Bool
        public var onViolation: Action?
        /// Whether this network tool may carry data with restricted readers in any argument.
        public var mayDisclose: Bool?

        /// The rule for the argument at `path` (`to`, `items[0].name`): its own, else its
        /// top-level argument's.
        func rule(forArgument path: String) -> ArgumentRule? {
            arguments[path] ?? arguments[String(path.prefix { $0 != "." && $0 != "[" })]
        }
    }

    public var defaultAllow: SourcePatterns
    public var defaultAction: Action
    public var tools: [String: ToolRule]
    /// What the guards do about what they find (key `guards`).
    public var guards: GuardPolicy = .standard

    /// The rule for `tool`: its own, else the most specific glob that matches it (`mail__*`,
    /// `*__send_*`; the one with the most literal characters, ties broken by the pattern's
    /// order), else none. A tool whose name holds `*` or `?` is matched only by globs, so
    /// a server cannot name a tool after a rule to take it over.
    public func rule(for tool: String) -> ToolRule? {
        if !ToolSelection.isGlob(tool), let own = tools[tool] { return own }
        let globs = tools.keys.filter { ToolSelection.isGlob($0) && ToolSelection.matches($0, tool) }
        let best = globs.max { a, b in
            let (sa, sb) = (ToolSelection.specificity(a), ToolSelection.specificity(b))
            return sa != sb ? sa < sb : a > b
        }
        return best.flatMap { tools[$0] }
    }

    /// Only trusted sources may feed side effects; violations are denied.
    public static let strict = SecurityPolicy(defaultAllow: try! SourcePatterns(["user", "system"]), defaultAction: .deny, tools: [:])

    public init(defaultAllow: SourcePatterns, defaultAction: Action, tools: [String: ToolRule]) {
        self.defaultAllow = defaultAllow
        self.defaultAction = defaultAction
        self.tools = tools
    }

    /// Parses a policy document; the error names the key that is wrong.
    public init(json text: String) throws(PolicyError) {
        let root: JSONValue
        do { root = try JSONValue(parsing: text) } catch { throw PolicyError("not JSON: \(error)") }
        guard case .object(let object) = root else { throw PolicyError("the policy must be a JSON object") }
        try Self.onlyKeys(object, ["default", "tools", "guards", "version", "notes"], at: "the policy")
        if let notes = object["notes"], notes.arrayValue?.allSatisfy({ $0.stringValue != nil }) != true {
            throw PolicyError("\"notes\" must be an array of strings (they are for people; the engine ignores them)")
        }
        var policy = SecurityPolicy.strict
        if let d = object["default"] {
            guard case .object(let o) = d else { throw PolicyError("\"default\" must be an object") }
            try Self.onlyKeys(o, ["allow", "onViolation"], at: "default")
            if let a = try Self.patterns(o["allow"], at: "default.allow") { policy.defaultAllow = a }
            if let a = try Self.action(o["onViolation"], at: "default.onViolation") { policy.defaultAction = a }
        }
        if let t = object["tools"] {
            guard case .object(let tools) = t else { throw PolicyError("\"tools\" must be an object of tool names") }
            for (name, value) in tools {
                let at = "tools.\(name)"
                guard case .object(let o) = value else { throw PolicyError("\(at) must be an object") }
                try Self.onlyKeys(o, ["effect", "allow", "arguments", "trustedContextOnly", "onViolation", "mayDisclose"], at: at)
                var rule = ToolRule(effect: nil, allow: nil, arguments: [:], trustedContextOnly: false, onViolation: nil)
                rule.mayDisclose = try Self.flag(o["mayDisclose"], at: "\(at).mayDisclose")
                if let e = o["effect"] {
                    guard let s = e.stringValue, let effect = ToolEffect(rawValue: s) else {
                        throw PolicyError("\(at).effect must be one of \(ToolEffect.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    rule.effect = effect
                }
                rule.allow = try Self.patterns(o["allow"], at: "\(at).allow")
                rule.onViolation = try Self.action(o["onViolation"], at: "\(at).onViolation")
                if let b = o["trustedContextOnly"] {
                    guard let flag = b.boolValue else { throw PolicyError("\(at).trustedContextOnly must be true or false") }
                    rule.trustedContextOnly = flag
                }
                if let a = o["arguments"] {
                    guard case .object(let args) = a else { throw PolicyError("\(at).arguments must be an object of argument names") }
                    for (arg, value) in args {
                        let argAt = "\(at).arguments.\(arg)"
                        guard case .object(let ao) = value else { throw PolicyError("\(argAt) must be an object") }
                        try Self.onlyKeys(ao, ["allow", "onViolation", "mayDisclose"], at: argAt)
                        rule.arguments[arg] = ArgumentRule(
                            allow: try Self.patterns(ao["allow"], at: "\(argAt).allow"),
                            onViolation: try Self.action(ao["onViolation"], at: "\(argAt).onViolation"),
                            mayDisclose: try Self.flag(ao["mayDisclose"], at: "\(argAt).mayDisclose"))
                    }
                }
                policy.tools[name] = rule
            }
        }
        if let g = object["guards"] { policy.guards = try GuardPolicy(json: g) }
        self = policy
    }

    /// A policy document's SHA-256 in hex: what the audit trail names a version by.
    public static func digest(_ text: String) -> String { Hex.encode(SHA256.hash(data: Data(text.utf8))) }

    /// Loads the policy file at `path`.
    public init(contentsOf path: String) throws(SecurityError) {
        self = try Self.load(path).policy
    }

    /// The policy file at `path`, and its `digest`.
    public static func load(_ path: String) throws(SecurityError) -> (policy: SecurityPolicy, digest: String) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .io(path: path, reason: "cannot read the policy file: \(error.localizedDescription)")
        }
        do { return (try SecurityPolicy(json: text), digest(text)) } catch { throw .malformed(path: path, reason: error.description) }
    }

    private static func flag(_ value: JSONValue?, at: String) throws(PolicyError) -> Bool? {
        guard let value else { return nil }
        guard let flag = value.boolValue else { throw PolicyError("\(at) must be true or false") }
        return flag
    }

    private static func onlyKeys(_ object: JSONObject, _ allowed: Set<String>, at: String) throws(PolicyError) {
        for key in object.keys where !allowed.contains(key) {
            throw PolicyError("\(at) has an unknown key \"\(key)\"; allowed: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private static func patterns(_ value: JSONValue?, at: String) throws(PolicyError) -> SourcePatterns? {
        guard let value else { return nil }
        guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
            throw PolicyError("\(at) must be an array of source names")
        }
        do { return try SourcePatterns(items.compactMap(\.stringValue)) } catch { throw PolicyError("\(at): \(error.description)") }
    }

    private static func action(_ value: JSONValue?, at: String) throws(PolicyError) -> Action? {
        guard let value else { return nil }
        guard let s = value.stringValue, let a = Action(rawValue: s) else { throw PolicyError("\(at) must be \"deny\" or \"ask\"") }
        return a
    }
}

/// A policy document that cannot be used, and why.
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
