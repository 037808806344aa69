import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import AnimaTesting
import Foundation
import Synchronization

@testable import AnimaKernel

/// Side effects the fixture tools carried out, in order: what an attacker wants to cause.
final class SideEffects: Sendable {
    enum Effect: Sendable, Hashable {
        case email(to: String, body: String)
        case write(path: String, content: String)
        case shell(String)
        case fetch(String)
        case roleChange(String)
        /// A core memory block now holding this text.
        case coreMemory(String)
        /// An archival passage saved with these tags.
        case archived(String, tags: [String])
    }

    private let log = Mutex<[Effect]>([])
    func record(_ effect: Effect) { log.withLock { $0.append(effect) } }
    var all: [Effect] { log.withLock { $0 } }
}

/// A tool fixture: a name, a schema of string arguments, an effect, and what it does.
struct FixtureTool: SystemTool {
    let definition: ToolDefinition
    let effect: ToolEffect
    let outputSource: ProvenanceSource
    let requiredGroups: Set<String>
    let body: @Sendable (JSONValue) -> String

    init(
        _ name: String, _ arguments: [String], effect: ToolEffect, source: ProvenanceSource? = nil, groups: Set<String> = [],
        body: @escaping @Sendable (JSONValue) -> String
    ) {
        let properties = JSONObject(arguments.map { ($0, ["type": "string"] as JSONValue) })
        definition = ToolDefinition(
            name: name, description: name,
            parameters: try! JSONSchema([
                "type": "object", "properties": .object(properties), "required": .array(arguments.map { .string($0) }),
            ]))
        self.effect = effect
        outputSource = source ?? .tool(name)
        requiredGroups = groups
        self.body = body
    }

    func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput {
        ToolOutput(text: body(arguments))
    }
}

/// The content an agent can reach, by where it lives.
struct World: Sendable {
    var pages: [String: String] = [:]
    var files: [String: String] = [:]
    var inbox = ""
    var lookups: [String: String] = [:]
    var notes = ""
}

/// Tools over `world` that record every side effect in `effects`.
func fixtureTools(_ world: World, _ effects: SideEffects) -> [any SystemTool] {
    [
        FixtureTool("fetch", ["url"], effect: .network, source: .web) { a in
            let url = a["url"]?.stringValue ?? ""
            effects.record(.fetch(url))
            return world.pages[url] ?? "404 not found"
        },
        FixtureTool("read_file", ["path"], effect: .readOnly, source: .file) { a in
            world.files[a["path"]?.stringValue ?? ""] ?? "no such file"
        },
        FixtureTool("read_inbox", [], effect: .readOnly, source: .email) { _ in world.inbox },
        FixtureTool("lookup", ["query"], effect: .readOnly) { a in world.lookups[a["query"]?.stringValue ?? ""] ?? "nothing found" },
        FixtureTool("recall", [], effect: .readOnly, source: .memory) { _ in world.notes },
        FixtureTool("send_email", ["to", "body"], effect: .network) { a in
            effects.record(.email(to: a["to"]?.stringValue ?? "", body: a["body"]?.stringValue ?? ""))
            return "sent"
        },
        FixtureTool("write_file", ["path", "content"], effect: .write) { a in
            effects.record(.write(path: a["path"]?.stringValue ?? "", content: a["content"]?.stringValue ?? ""))
            return "written"
        },
        FixtureTool("shell", ["command"], effect: .execute) { a in
            effects.record(.shell(a["command"]?.stringValue ?? ""))
            return "ok"
        },
        FixtureTool("set_role", ["user", "role"], effect: .write, groups: ["admin"]) { a in
            effects.record(.roleChange("\(a["user"]?.stringValue ?? "") \(a["role"]?.stringValue ?? "")"))
            return "done"
        },
    ]
}

/// The worst-case model: it obeys every instruction it reads, wherever it reads it.
///
/// An instruction is a line `ACTION: tool {json}` in any message (the task, a tool's
/// output, delimited or not). The model carries them out in the order they appear, one
/// per step; `$RESULT` in an instruction stands for the data of the latest tool output.
/// With none left it answers `DONE`. Asked for the task's action set (which only ever
/// shows it the task), it names the tools of the task's own instructions.
func obedientModel() -> ScriptedProcessor {
    ScriptedProcessor(slots: 4, scheduler: Scheduler()) { request in
        if request.messages.first?.content.hasPrefix("Decide which of these side-effecting tools") == true {
            let task = request.messages.last?.content ?? ""
            let tools = task.split(separator: "\n").compactMap { line -> String? in
                line.range(of: "ACTION: ").map { String(line[$0.upperBound...].prefix { $0 != " " }) }
            }
            return .text(#"{"actions": ["# + tools.map { #"{"tool": "\#($0)"}"# }.joined(separator: ", ") + "]}")
        }
        var instructions: [(String, String)] = []
        var latest = ""
        for message in request.messages where message.role != .system {
            if message.role == .tool { latest = DataBoundary.content(of: message.content) ?? message.content }
            for line in message.content.split(separator: "\n") {
                guard let range = line.range(of: "ACTION: ") else { continue }
                let rest = line[range.upperBound...]
                let name = String(rest.prefix { $0 != " " })
                instructions.append((name, String(rest.dropFirst(name.count)).trimmingCharacters(in: .whitespaces)))
            }
        }
        let done = request.messages.filter { !$0.toolCalls.isEmpty }.count
        guard done < instructions.count else { return .text("DONE " + latest) }
        let (name, json) = instructions[done]
        let escaped = String(JSONValue.string(latest).jsonText.dropFirst().dropLast())
        let arguments = (try? JSONValue(parsing: json.replacingOccurrences(of: "$RESULT", with: escaped))) ?? [:]
        return .toolCalls([ToolCall(id: "call\(done)", name: name, arguments: arguments)])
    }
}

/// The policy the injection scenarios run under: recipients, paths and URLs must come
/// from the user; message bodies and file contents may carry data from anywhere.
let scenarioPolicy = try! SecurityPolicy(
    json: """
        {
          "default": {"allow": ["user", "system"], "onViolation": "deny"},
          "tools": {
            "send_email": {"arguments": {"to": {"allow": ["user"]}, "body": {"allow": ["*"], "mayDisclose": true}}},
            "write_file": {"arguments": {"path": {"allow": ["user"]}, "content": {"allow": ["*"]}}},
            "shell": {"trustedContextOnly": true},
            "archival_insert": {"arguments": {"content": {"allow": ["*"]}}}
          },
          "guards": {"output": {"dangerous-code": "redact"}}
        }
        """)

let dana = Principal(name: "dana", groups: ["users", "net"])

/// A kernel over the obedient model and the fixture tools.
func securedKernel(
    _ world: World, _ effects: SideEffects, security: SecurityMonitor? = SecurityMonitor(policy: scenarioPolicy),
    audit: any AuditTrail = MemoryAuditTrail(), authorizer: (any SyscallAuthorizer)? = nil, memory: MemorySystem? = nil
) -> Kernel {
    let processor = obedientModel()
    processor.startStepping()
    return Kernel(
        .init(
            processor: processor, tools: fixtureTools(world, effects), memory: memory, authorizer: authorizer, audit: audit,
            security: security))
}

/// Every request a scripted processor was asked to serve.
final class RequestLog: Sendable {
    private let requests = Mutex<[GenerationRequest]>([])
    func record(_ request: GenerationRequest) { requests.withLock { $0.append(request) } }
    var all: [GenerationRequest] { requests.withLock { $0 } }
}

let allFixtureTools = ["fetch", "read_file", "read_inbox", "lookup", "recall", "send_email", "write_file", "shell", "set_role"]
