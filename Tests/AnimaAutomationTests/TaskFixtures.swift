import AnimaAutomation
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaTesting
import Foundation
import Synchronization

/// Judges code without a sandbox: it passes when the code holds `PASS`, and can hang
/// (for the kill test) when it holds `HANG`.
final class MarkerRunner: TestRunner {
    private let state = Mutex<[String]>([])
    private let flight = Mutex<(now: Int, most: Int)>((0, 0))
    /// Each run waits (up to 5 s) until this many runs are in flight at once.
    let peers: Int
    var runs: [String] { state.withLock { $0 } }
    var mostAtOnce: Int { flight.withLock { $0.most } }

    init(peers: Int = 1) { self.peers = peers }

    func run(files: [String: String], tests: [String: String]) async throws -> TestReport {
        // The code under test, not the skills' files beside it.
        let code = files.filter { !$0.key.hasPrefix("skill") }.values.joined()
        state.withLock { $0.append(code) }
        flight.withLock {
            $0.now += 1
            $0.most = max($0.most, $0.now)
        }
        defer { flight.withLock { $0.now -= 1 } }
        for _ in 0..<500 where flight.withLock({ $0.most }) < peers { try await Task.sleep(for: .milliseconds(10)) }
        if code.contains("HANG") { try await Task.sleep(for: .seconds(20)) }
        return code.contains("PASS")
            ? TestReport(passed: 2, total: 2) : TestReport(passed: 0, total: 2, failures: ["test_one: AssertionError: expected 3, got 4"])
    }
}

/// A tool that needs the `net` group and counts its runs.
final class NetTool: SystemTool {
    let calls = Mutex<Int>(0)
    var definition: ToolDefinition {
        ToolDefinition(name: "web_fetch", description: "fetch", parameters: try! JSONSchema(parsing: #"{"type":"object"}"#))
    }
    var requiredGroups: Set<String> { ["net"] }
    func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput {
        calls.withLock { $0 += 1 }
        return ToolOutput(text: "fetched")
    }
}

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("anima-tasks-" + UUID().uuidString)
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The system prompt of a request (the role it was made for).
func system(of request: GenerationRequest) -> String { request.messages.first?.content ?? "" }
func lastUser(of request: GenerationRequest) -> String { request.messages.last { $0.role == .user }?.content ?? "" }

let coderAnswer = "```python\ndef add(a, b):\n    return a + b  # PASS\n```"
let testsAnswer = "```python\nfrom solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n```"
