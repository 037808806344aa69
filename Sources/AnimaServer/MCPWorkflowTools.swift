import AnimaAutomation
import AnimaCore
import AnimaKernel
import Foundation
import MCP

/// Workflows over MCP: list them, start a run, read its status, cancel it, decide its
/// approval. Each tool needs the `workflows` scope (as the routes do) and sees only the
/// caller's workflows and runs (all of them for root).
enum MCPWorkflowTools {
    static let names: Set<String> = ["workflow_list", "workflow_run", "workflow_status", "workflow_cancel", "workflow_approve"]

    static let tools: [Tool] = [
        Tool(
            name: "workflow_list", description: "List the caller's workflows: name, version, triggers, description.",
            inputSchema: (["type": "object", "properties": [:]] as JSONValue).mcpValue),
        Tool(
            name: "workflow_run",
            description:
                "Start a run of a workflow with inputs; returns the run (id, status). With wait, returns once it finishes or stops at an approval.",
            inputSchema: ([
                "type": "object",
                "properties": [
                    "name": ["type": "string", "description": "The workflow."],
                    "inputs": ["type": "object", "description": "The run's inputs, checked against the workflow's inputs schema."],
                    "wait": ["type": "boolean", "description": "Wait for the run to finish or to wait for an approval (default false)."],
                ],
                "required": ["name"],
            ] as JSONValue).mcpValue),
        Tool(
            name: "workflow_status", description: "A run with its steps: status, output, each step's attempt, key and result.",
            inputSchema: (["type": "object", "properties": ["run": ["type": "string"]], "required": ["run"]] as JSONValue).mcpValue),
        Tool(
            name: "workflow_cancel", description: "Cancel a run at its next step boundary.",
            inputSchema: (["type": "object", "properties": ["run": ["type": "string"]], "required": ["run"]] as JSONValue).mcpValue),
        Tool(
            name: "workflow_approve", description: "Approve (or, with approve false, reject) the approval step a run waits on.",
            inputSchema: ([
                "type": "object",
                "properties": [
                    "run": ["type": "string"],
                    "step": ["type": "string", "description": "The approval step, as workflow_status names it."],
                    "approve": ["type": "boolean", "description": "true approves (default), false rejects."],
                ],
                "required": ["run", "step"],
            ] as JSONValue).mcpValue),
    ]

    /// Calls workflow tool `name` for `principal`; the answer is JSON text.
    static func call(_ name: String, _ arguments: JSONValue, engine: WorkflowEngine, as principal: Principal) async throws -> String {
        let store = engine.store
        func string(_ field: String) throws -> String {
            guard let value = arguments[field]?.stringValue, !value.isEmpty else {
                throw SyscallError.invalidArguments("\(field) is required (a string)")
            }
            return value
        }
        func visibleRun(_ id: String) async throws -> WorkflowRun {
            guard let run = try await store.run(id), principal.isRoot || run.owner.name == principal.name else {
                throw WorkflowError.unknownRun(id)
            }
            return run
        }
        switch name {
        case "workflow_list":
            let all = try await store.workflows().filter { principal.isRoot || $0.owner.name == principal.name }
            return JSONValue.array(all.map(WorkflowRoutes.json)).jsonText
        case "workflow_run":
            let workflow = try string("name")
            let inputs = arguments["inputs"] ?? .object([:])
            guard inputs.objectValue != nil else { throw SyscallError.invalidArguments("inputs must be an object") }
            if let wait = arguments["wait"], wait != .null, wait.boolValue == nil {
                throw SyscallError.invalidArguments("wait must be true or false")
            }
            let run = try await engine.start(workflow, inputs: inputs, caller: principal, trigger: "mcp")
            guard arguments["wait"]?.boolValue == true else { return run.json.jsonText }
            return try await engine.wait(run.id, orWaiting: true).json.jsonText
        case "workflow_status":
            let run = try await visibleRun(try string("run"))
            var o = run.json.objectValue ?? [:]
            o["steps"] = .array(try await store.steps(run: run.id).map(WorkflowRoutes.json))
            return JSONValue.object(o).jsonText
        case "workflow_cancel":
            let run = try await visibleRun(try string("run"))
            let asked = try await engine.cancel(run.id, caller: principal)
            return JSONValue.object(["run": .string(run.id), "cancelling": .bool(asked)]).jsonText
        case "workflow_approve":
            let run = try await visibleRun(try string("run"))
            let step = try string("step")
            if let approve = arguments["approve"], approve != .null, approve.boolValue == nil {
                throw SyscallError.invalidArguments("approve must be true or false")
            }
            let approved = arguments["approve"]?.boolValue ?? true
            try await engine.approve(run.id, step: step, approved: approved, caller: principal)
            return JSONValue.object(["run": .string(run.id), "step": .string(step), "approved": .bool(approved)]).jsonText
        default:
            throw SyscallError.invalidArguments("no workflow tool \(name)")
        }
    }
}
