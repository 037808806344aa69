import AnimaCore
import AnimaKernel
import Foundation
import Synchronization
import Testing

@testable import AnimaStore

private final class Counter: Sendable {
    let value = Mutex(0)
}

/// A tool that needs one group and records each run.
private struct GroupTool: SystemTool {
    let definition: ToolDefinition
    let requiredGroups: Set<String>
    let counter = Counter()
    var runs: Int { counter.value.withLock { $0 } }

    init(_ name: String, group: String) {
        definition = ToolDefinition(name: name, description: name, parameters: try! JSONSchema(["type": "object"]))
        requiredGroups = [group]
    }

    var effect: ToolEffect { .readOnly }
    var outputSource: ProvenanceSource { .tool(definition.name) }

    func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput {
        counter.value.withLock { $0 += 1 }
        return ToolOutput(text: "ran \(definition.name)")
    }
}

@Suite("Grant enforcement")
struct GrantEnforcementTests {
    @Test func anInstalledAgentRunsWithExactlyItsGrantedGroups() async throws {
        let (store, key) = try trustedStore("grant")
        let pkg = try makeAgentPackage(in: temporaryFolder("grant"), effects: ["network", "files"])
        try RegistryPublisher.sign(pkg, key: key)
        let reg = temporaryFolder("grant-registry")
        let entry = try RegistryPublisher.publish(pkg, to: reg, key: key)
        let onlyFiles: PackageStore.Grant = { (_: PackageManifest, _: [String]?) throws(StoreError) -> Set<String> in ["files"] }
        let record = try await store.install(entry, from: RegistrySource(reg.path), grant: onlyFiles)
        #expect(record.processGroups == ["files"])
        var everything = record
        everything.granted = ["network", "files"]
        #expect(everything.processGroups == ["net", "files"])

        let fetch = GroupTool("fetch", group: "net")
        let note = GroupTool("write_note", group: "files")
        let kernel = Kernel(.init(processor: nil, tools: [fetch, note]))
        // The owner holds network; the package was not granted it, so its process lacks it.
        let owner = Principal(name: "dana", groups: ["users", "net", "files"])
        let (_, verified) = try store.verifyForLoad("web-agent")
        let outcomes = Mutex<[String]>([])
        let pid = try await kernel.spawn(name: verified.manifest.name, owner: owner, groups: record.processGroups) { context in
            for tool in verified.manifest.agent?.tools ?? [] {
                do {
                    _ = try await context.callTool(ToolCall(id: tool, name: tool, arguments: [:]))
                    outcomes.withLock { $0.append("\(tool): ok") }
                } catch {
                    outcomes.withLock { $0.append("\(tool): \(error)") }
                }
            }
            return "done"
        }
        _ = try await kernel.wait(pid)
        let seen = outcomes.withLock { $0 }
        #expect(seen.count == 2)
        #expect(seen.first?.contains("fetch needs group net") == true, "\(seen)")
        #expect(seen.last == "write_note: ok")
        #expect(fetch.runs == 0)
        #expect(note.runs == 1)
    }
}
