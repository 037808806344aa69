import Foundation

/// What a daemon must have to run a workflow, so that daemons sharing one run queue lease
/// only the runs they can serve: `model` for any agent step (a processor), `model:NAME` for
/// an agent's model preference, `tool:NAME` for every tool a step calls or an agent is
/// given (MCP tools as `server__tool`), and `group:NAME` for every group the workflow or an
/// agent step asks for (a daemon without network serves no `group:net`; one whose user
/// store lacks a group could not grant it). Each daemon still checks the run's groups
/// against its own user store on every syscall.
extension Workflow {
    public var needs: Set<String> {
        var needs = Set(groups.map { "group:" + $0 })
        func visit(_ steps: [WorkflowStep]) {
            for step in steps {
                switch step.kind {
                case .agent(_, let tools, let groups, _, let model):
                    needs.insert("model")
                    if let model { needs.insert("model:" + model) }
                    for tool in tools { needs.insert("tool:" + tool) }
                    for group in groups ?? [] { needs.insert("group:" + group) }
                case .tool(let name, _): needs.insert("tool:" + name)
                case .mcp(let server, let tool, _): needs.insert("tool:\(server)__\(tool)")
                default: break
                }
                visit(step.children)
            }
        }
        visit(steps)
        return needs
    }

    /// Whether a daemon that serves `serving` (nil: everything) can run this workflow; the
    /// needs it lacks otherwise.
    public func unmetNeeds(servedBy serving: Set<String>?) -> Set<String> {
        guard let serving else { return [] }
        return needs.subtracting(serving)
    }
}

extension WorkflowEngine {
    /// What a daemon with `models` (none: no processor), `tools` and `groups` serves, in the
    /// terms of `Workflow.needs`.
    public static func serving(models: [String], tools: [String], groups: Set<String>) -> Set<String> {
        var serving = Set(tools.map { "tool:" + $0 }).union(groups.map { "group:" + $0 })
        if !models.isEmpty { serving.insert("model") }
        for model in models { serving.insert("model:" + model) }
        return serving
    }
}
