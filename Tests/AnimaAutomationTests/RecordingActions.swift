import AnimaAutomation
import AnimaCore
import Foundation
import Synchronization

/// Step actions that record every call and answer from a script, for engine tests.
final class RecordingActions: StepActions {
    struct State {
        var calls: [(kind: String, key: String, detail: String)] = []
        /// Failures still to give, by URL path or tool name.
        var failures: [String: Int] = [:]
        /// Seconds an action named here sleeps.
        var delays: [String: Double] = [:]
        /// Actions under way now, and the most there ever were at once.
        var running = 0
        var peakRunning = 0
    }

    let state = Mutex(State())

    func fail(_ name: String, times: Int) { state.withLock { $0.failures[name] = times } }
    func delay(_ name: String, seconds: Double) { state.withLock { $0.delays[name] = seconds } }
    var keys: [String] { state.withLock { $0.calls.map(\.key) } }
    var calls: [(kind: String, key: String, detail: String)] { state.withLock { $0.calls } }
    var peakRunning: Int { state.withLock { $0.peakRunning } }

    func record(_ kind: String, _ name: String, key: String, detail: String) async throws {
        let (fails, delay) = state.withLock { s -> (Bool, Double) in
            s.calls.append((kind, key, detail))
            s.running += 1
            s.peakRunning = max(s.peakRunning, s.running)
            let left = s.failures[name] ?? 0
            if left > 0 { s.failures[name] = left - 1 }
            return (left > 0, s.delays[name] ?? 0)
        }
        defer { state.withLock { $0.running -= 1 } }
        if delay > 0 { try await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
        if fails { throw StepFailure("\(name) is down", retryable: true) }
    }

    func runAgent(_ request: AgentStepRequest, as owner: Principal) async throws -> LabeledValue {
        try await record("agent", "agent", key: request.key, detail: "\(owner.name) \(owner.groups.sorted()) \(request.task)")
        return LabeledValue(.string("summary of: \(request.task)"), label: ProvenanceLabel(.agent(9)))
    }

    func callTool(_ name: String, arguments: JSONValue, as owner: Principal) async throws -> LabeledValue {
        try await record("tool", name, key: "", detail: arguments.jsonText)
        return LabeledValue(.object(["tool": .string(name), "arguments": arguments]), label: ProvenanceLabel(.tool(name)))
    }

    func http(_ request: HTTPStepRequest) async throws -> LabeledValue {
        try await record(
            "http", request.url.path, key: request.key, detail: "\(request.method) \(request.url.absoluteString) \(request.body ?? "")")
        return LabeledValue(
            .object(["status": 200, "body": .object(["path": .string(request.url.path), "items": [1, 2, 3]])]), label: ProvenanceLabel(.web)
        )
    }
}

/// A fresh store in a temporary directory.
func temporaryStore() throws -> SQLiteWorkflowStore {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-workflows-\(UUID().uuidString)")
    return try SQLiteWorkflowStore(directory: directory)
}

let alice = Principal(name: "alice", groups: ["users", "net"])
