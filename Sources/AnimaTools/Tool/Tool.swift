import AnimaCore

/// A program an agent can call: a name, a description, JSON-Schema arguments, a typed
/// result, the effect it has on the world and what it needs from the machine.
///
/// Conformers implement `perform`, which receives arguments already validated against
/// `parameters`; callers use `call`, which validates first and turns every failure into an
/// error result the agent can read, so a bad argument never crashes anything.
public protocol Tool: Sendable {
    var name: String { get }
    var description: String { get }
    /// The arguments, as a JSON Schema over an object.
    var parameters: JSONSchema { get }
    /// What calling the tool does to the world; the security layer decides on it.
    var effect: ToolEffect { get }
    /// Where its output comes from, for provenance: `.web` for what a fetch brings in,
    /// `.file` for what a file holds; by default the tool itself.
    var outputSource: ProvenanceSource { get }
    /// What the tool needs from the machine; each maps to a group the caller must hold.
    var needs: Set<ToolNeed> { get }
    /// Groups a caller must hold; by default the groups of `needs`.
    var requiredGroups: Set<String> { get }
    /// The part each top-level argument plays (a recipient, an amount, free text), for
    /// the policy engine; none by default.
    var argumentRoles: [String: ArgumentRole] { get }
    /// Runs the tool on validated arguments.
    func perform(_ arguments: JSONValue, in context: ToolContext) async throws -> ToolResult
}

extension Tool {
    /// The definition a model sees.
    public var definition: ToolDefinition {
        ToolDefinition(name: name, description: description, parameters: parameters)
    }

    /// Groups a caller must hold to use the tool.
    public var requiredGroups: Set<String> { Set(needs.compactMap(\.group)) }

    public var outputSource: ProvenanceSource { effect == .network ? .web : .tool(name) }

    public var argumentRoles: [String: ArgumentRole] { [:] }

    /// Validates `arguments`, checks the context grants every need, then runs the tool.
    /// Never throws: a bad argument, a missing grant or a failure is an error result.
    public func call(_ arguments: JSONValue, in context: ToolContext) async -> ToolResult {
        let violations = parameters.violations(of: arguments)
        if !violations.isEmpty {
            let list = violations.map(\.description).joined(separator: "; ")
            return .failure("invalid arguments for \(name): \(list). Expected arguments matching \(parameters.json.jsonText)")
        }
        let missing = requiredGroups.subtracting(context.groups)
        if !missing.isEmpty, !context.groups.contains("root") {
            return .failure(
                "\(name) needs the group(s) \(missing.sorted().joined(separator: ", ")), which the caller does not hold; ask the user to grant them"
            )
        }
        do {
            return try await perform(arguments, in: context)
        } catch let error as ToolError {
            return .failure(error.description)
        } catch {
            return .failure("\(name) failed: \(error)")
        }
    }
}
