import Foundation

/// What a daemon must have to run a workflow, so that daemons sharing one run queue lease
/// only the runs they can serve: `model` for any agent step (a processor), `model:NAME` for
/// an agent's model preference, and `tool:NAME` for every tool a step calls or an agent is
/// given (MCP tools as `server__tool`). Groups are not needs: every daemon checks the run's
/// groups against its own user store on each syscall.
extension Workflow {
    public var needs: Set<String> {
        var needs: Set<String> = []
        func visit(_ steps: [WorkflowStep]) {
            for step in steps {
                switch step.kind {
                case .agent(_, let tools, _, _, let model):
                    needs.insert("model")
                    if let model { needs.insert("model:" + model) }
                    for tool in tools { needs.insert("tool:" + tool) }
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
    /// What a daemon with `models` (none: no processor) and `tools` serves, in the terms of `Workflow.needs`.
    public static func serving(models: [String], tools: [String]) -> Set<String> {
        var serving = Set(tools.map { "tool:" + $0 })
        if !models.isEmpty { serving.insert("model") }
        for model in models { serving.insert("model:" + model) }
        return serving
    }
}
