import AnimaCore
import MCP

/// What an MCP tool does to the world, which argument plays which part, and where Anima
/// learned it: the server's annotations, the user's override in mcp.json, or the default.
///
/// The server's word is a hint (MCP says so): an override in mcp.json always wins, a
/// server with `"trustAnnotations": false` gets the default, and a tool with no
/// annotations gets the default, which assumes the worst (it writes, deletes, sends data
/// out and moves money). The kernel decides on `effect`, the coarse class these map to.
public struct MCPToolEffects: Sendable, Hashable {
    /// One consequence of calling a tool.
    public enum Consequence: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
        /// Changes state the server keeps (a record, a file, a calendar entry).
        case writes
        /// Removes or overwrites something (MCP's `destructiveHint`).
        case deletes
        /// Carries data out of the machine or to other people (an email, a post, a fetch).
        case sendsData = "sends-data"
        /// Pays, transfers or spends money.
        case movesMoney = "moves-money"
        /// Runs code or commands.
        case executes

        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    }

    /// The part an argument plays, for the policy engine (see `AnimaCore.ArgumentRole`).
    public typealias ArgumentRole = AnimaCore.ArgumentRole

    /// Where the effects came from.
    public enum Origin: String, Sendable, Hashable, Codable {
        /// The server's MCP annotations (`readOnlyHint`, `destructiveHint`, ...).
        case annotation
        /// The tool's entry in mcp.json.
        case override
        /// Nothing said: the most restrictive effects.
        case `default`
    }

    /// Empty: the tool only reads.
    public var consequences: Set<Consequence>
    /// Calling it twice with the same arguments does no more than calling it once.
    public var idempotent: Bool
    /// It deals with the world outside the server (MCP's `openWorldHint`).
    public var openWorld: Bool
    /// By top-level argument name.
    public var argumentRoles: [String: ArgumentRole]
    public var origin: Origin

    public init(
        consequences: Set<Consequence>, idempotent: Bool = false, openWorld: Bool = true, argumentRoles: [String: ArgumentRole] = [:],
        origin: Origin
    ) {
        self.consequences = consequences
        self.idempotent = idempotent
        self.openWorld = openWorld
        self.argumentRoles = argumentRoles
        self.origin = origin
    }

    /// The most restrictive effects: for a tool nobody described.
    public static let unknown = MCPToolEffects(consequences: Set(Consequence.allCases), origin: .default)

    /// The effects a server's annotations claim. Missing hints take MCP's defaults (not
    /// read-only, destructive, not idempotent, open world); no hints at all is `unknown`.
    /// A tool that changes things in an open world sends data out; one that only reads
    /// sends its arguments out only when its server has the network (`serverHasNetwork`).
    public init(annotations a: MCP.Tool.Annotations, serverHasNetwork: Bool) {
        guard a.readOnlyHint != nil || a.destructiveHint != nil || a.idempotentHint != nil || a.openWorldHint != nil else {
            self = .unknown
            return
        }
        let openWorld = a.openWorldHint ?? true
        var consequences: Set<Consequence> = []
        if a.readOnlyHint != true {
            consequences.insert(.writes)
            if a.destructiveHint ?? true { consequences.insert(.deletes) }
        }
        if openWorld, a.readOnlyHint != true || serverHasNetwork { consequences.insert(.sendsData) }
        self.init(consequences: consequences, idempotent: a.idempotentHint ?? false, openWorld: openWorld, origin: .annotation)
    }

    /// The coarse effect the kernel and the policy engine decide on: `network` when data or
    /// money can leave, `execute` for code, `write` for changes, else `read-only`.
    public var effect: ToolEffect {
        if consequences.contains(.sendsData) || consequences.contains(.movesMoney) { return .network }
        if consequences.contains(.executes) { return .execute }
        if consequences.contains(.writes) || consequences.contains(.deletes) { return .write }
        return .readOnly
    }

    /// "writes, deletes" or "read-only", for `anima tools`.
    public var summary: String {
        consequences.isEmpty ? "read-only" : consequences.sorted().map(\.rawValue).joined(separator: ", ")
    }
}

/// The user's description of one MCP tool in mcp.json, which replaces what its server says:
/// `{"effects": ["moves-money"], "idempotent": false, "arguments": {"to": "recipient", "amount": "amount"}}`.
/// `"effects": []` says the tool only reads.
public struct MCPToolOverride: Sendable, Hashable, Codable {
    public var effects: Set<MCPToolEffects.Consequence>?
    public var idempotent: Bool?
    public var openWorld: Bool?
    public var arguments: [String: MCPToolEffects.ArgumentRole]?

    public init(
        effects: Set<MCPToolEffects.Consequence>? = nil, idempotent: Bool? = nil, openWorld: Bool? = nil,
        arguments: [String: MCPToolEffects.ArgumentRole]? = nil
    ) {
        self.effects = effects
        self.idempotent = idempotent
        self.openWorld = openWorld
        self.arguments = arguments
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case effects, idempotent, openWorld, arguments
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Refuses unknown keys: a misspelt "effect" must not leave a tool with the server's word.
    public init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = all.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: all,
                debugDescription:
                    "unknown key \"\(unknown.stringValue)\" in a tool override; allowed: \(known.sorted().joined(separator: ", ")); effects are \(MCPToolEffects.Consequence.allCases.map(\.rawValue).joined(separator: ", ")), argument roles \(MCPToolEffects.ArgumentRole.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        effects = try c.decodeIfPresent(Set<MCPToolEffects.Consequence>.self, forKey: .effects)
        idempotent = try c.decodeIfPresent(Bool.self, forKey: .idempotent)
        openWorld = try c.decodeIfPresent(Bool.self, forKey: .openWorld)
        arguments = try c.decodeIfPresent([String: MCPToolEffects.ArgumentRole].self, forKey: .arguments)
    }

    /// `base` with what this override says put in its place. Argument roles add to (and
    /// replace) the base's; effects, when given, replace them entirely.
    func applied(to base: MCPToolEffects) -> MCPToolEffects {
        var effects = base
        if let consequences = self.effects { effects.consequences = consequences }
        if let idempotent { effects.idempotent = idempotent }
        if let openWorld { effects.openWorld = openWorld }
        for (name, role) in arguments ?? [:] { effects.argumentRoles[name] = role }
        effects.origin = .override
        return effects
    }
}
