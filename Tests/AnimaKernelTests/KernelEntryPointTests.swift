import AnimaCore
import AnimaProcessor
import AnimaSecurity
import AnimaTesting
import Foundation
import Synchronization
import Testing

@testable import AnimaKernel

/// Allows every syscall except those named in `refused`, and remembers what it was asked.
final class RecordingAuthorizer: SyscallAuthorizer {
    let refused: Set<String>
    let asked = Mutex<[String]>([])

    init(refusing refused: Set<String>) { self.refused = refused }

    func deny(_ syscall: Syscall, by caller: ProcessCredentials, target: ProcessCredentials?) -> String? {
        asked.withLock { $0.append(syscall.name) }
        return refused.contains(syscall.name) ? "refused by the test" : nil
    }
}

/// Every public entry point of the kernel: each one that acts is authorised and audited,
/// and the table below is kept equal to what the source declares, so a new public method
/// fails this test until it has an entry.
@Suite("Kernel entry points")
struct KernelEntryPointTests {
    /// How one entry point is driven: it makes the syscall named `syscall` as `alice`.
    struct Driver: Sendable {
        var syscall: String
        var run: @Sendable (Kernel) async throws -> Void
    }

    /// The entry points that act, by name and first argument label.
    static let syscalls: [String: Driver] = [
        "spawn(_": Driver(syscall: "spawn") { kernel in
            _ = try await kernel.spawn(AgentSpec(name: "probe", task: "say hi"), owner: alice)
        },
        "spawn(name": Driver(syscall: "spawn") { kernel in
            _ = try await kernel.spawn(name: "probe", owner: alice) { _ in "done" }
        },
        "invoke(_": Driver(syscall: "list_processes") { kernel in
            _ = try await kernel.invoke(.listProcesses, as: alice)
        },
        "signal(_": Driver(syscall: "signal") { kernel in
            let target = try await kernel.spawn(name: "target", owner: alice) { context in
                _ = try await context.receive()
                return ""
            }
            try await kernel.signal(target, .terminate, from: alice)
        },
        "tell(_": Driver(syscall: "send") { kernel in
            let target = try await kernel.spawn(name: "target", owner: alice) { context in
                _ = try await context.receive()
                return ""
            }
            try await kernel.tell(target, "hello", as: alice)
        },
    ]

    /// The entry points that only read the kernel's own state, and why they are not syscalls.
    static let reads: [String: String] = [
        "init(_": "creates the kernel; nothing exists to act on yet",
        "processor": "the processor the kernel was configured with",
        "toolDefinitions": "the tool definitions, the same for every caller",
        "toolSummaries": "the tools with their effects under the policy in force, the same for every caller",
        "policy": "the data-flow policy in force, which every signed-in user may read (the console's policies view)",
        "reloadPolicy(from":
            "applies the data directory's policy file, which only the operator can write (the daemon's watch, or the console after checking root); audited as policy-reload",
        "wait(_": "waits for an exit status; the syscall `wait` checks callers from processes",
        "processes(visibleTo": "filters the table to what the principal may see",
        "status(_": "one process's status, for the operator",
        "events(following": "the operator's live view (all processes, or those an observer follows)",
        "approvals": "questions about tool calls; an answer must come from the agent's owner or root, and is audited as an approval",
        "recordWorkflowEvent(_":
            "appends a workflow run's lifecycle record (digests only) to the audit trail; it acts on nothing, and the steps' own side effects are syscalls",
        "noteAccess(_": "appends a sign-in record of the web console (a passkey registered, used or refused) to the audit trail; it acts on nothing",
        "noteTuning(_": "appends the kernel tuner's decision about engine settings (numbers only) to the audit trail; it acts on nothing",
        "recordDeviceUse(_": "appends a record of a speech route's use (sizes, durations, keyed digests; never the words) to the audit trail; it acts on nothing",
    ]

    /// The kernel's public members as the source declares them: `public` declarations at
    /// the top level of `actor Kernel` and of every `extension Kernel`.
    static func declaredEntryPoints() throws -> Set<String> {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/AnimaKernel")
        let files =
            FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        #expect(!files.isEmpty, "the kernel's sources are not at \(sources.path)")
        var names: Set<String> = []
        for file in files {
            let lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
            var inKernel = false
            for (index, line) in lines.enumerated() {
                if line.hasPrefix("public actor Kernel {") || line.hasPrefix("public actor Kernel:") || line.hasPrefix("extension Kernel {")
                    || line.hasPrefix("extension Kernel:")
                {
                    inKernel = true
                } else if line.hasPrefix("}") {
                    inKernel = false
                }
                guard inKernel, line.hasPrefix("    public ") else { continue }
                var words = line.dropFirst(4).split(separator: " ").map(String.init)
                words.removeAll { ["public", "nonisolated", "static", "final"].contains($0) }
                guard let kind = words.first else { continue }
                if kind.hasPrefix("init(") {
                    names.insert("init(" + Self.firstLabel(kind.dropFirst(5), next: lines[safe: index + 1]))
                    continue
                }
                let declaration = words.dropFirst().joined(separator: " ")
                guard let name = declaration.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).first else { continue }
                guard ["func", "var", "let"].contains(kind) else { continue }
                if kind == "func" {
                    let rest = declaration.dropFirst(name.count)
                    let arguments = rest.drop { $0 != "(" }.dropFirst()
                    names.insert(String(name) + "(" + Self.firstLabel(arguments, next: lines[safe: index + 1]))
                } else {
                    names.insert(String(name))
                }
            }
        }
        return names
    }

    /// The first argument label of a parameter list starting at `arguments` (or, when the
    /// list breaks right after its parenthesis, on the next line).
    static func firstLabel(_ arguments: Substring, next: String?) -> String {
        let text = arguments.isEmpty ? Substring(next?.trimmingCharacters(in: .whitespaces) ?? "") : arguments
        return String(text.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
    }

    @Test func theTableListsEveryPublicEntryPoint() throws {
        let declared = try Self.declaredEntryPoints()
        let listed = Set(Self.syscalls.keys).union(Self.reads.keys)
        #expect(declared.subtracting(listed).isEmpty, "public kernel members without an entry: \(declared.subtracting(listed).sorted())")
        #expect(listed.subtracting(declared).isEmpty, "entries for members that no longer exist: \(listed.subtracting(declared).sorted())")
        #expect(declared.contains("spawn(_") && declared.contains("invoke(_"))
    }

    @Test(arguments: Array(syscalls.keys).sorted())
    func aRefusingAuthoriserRefusesItAndTheRefusalIsAudited(_ entry: String) async throws {
        let driver = try #require(Self.syscalls[entry])
        let audit = MemoryAuditTrail()
        let authorizer = RecordingAuthorizer(refusing: [driver.syscall])
        let kernel = Kernel(.init(processor: ScriptedModel(replies: []), authorizer: authorizer, audit: audit))
        await #expect(throws: SyscallError.permissionDenied(syscall: driver.syscall, reason: "refused by the test")) {
            try await driver.run(kernel)
        }
        #expect(authorizer.asked.withLock { $0 }.contains(driver.syscall))
        #expect(
            audit.records.contains {
                $0.syscall == driver.syscall && $0.owner == alice.name && $0.outcome == .denied("refused by the test")
            })
        if driver.syscall == "spawn" {
            #expect(await kernel.processes().isEmpty, "a refused spawn started a process")
        }
    }

    @Test(arguments: Array(syscalls.keys).sorted())
    func anAllowedCallIsAuthorisedAndAudited(_ entry: String) async throws {
        let driver = try #require(Self.syscalls[entry])
        let audit = MemoryAuditTrail()
        let authorizer = RecordingAuthorizer(refusing: [])
        let kernel = Kernel(.init(processor: ScriptedModel(replies: []), authorizer: authorizer, audit: audit))
        try await driver.run(kernel)
        #expect(authorizer.asked.withLock { $0 }.contains(driver.syscall))
        #expect(audit.records.contains { $0.syscall == driver.syscall && $0.owner == alice.name && $0.outcome == .completed })
    }

    @Test func aSpawnAskingForGroupsTheOwnerLacksGetsOnlyTheOwnersAndIsNotRefused() async throws {
        let audit = MemoryAuditTrail()
        let kernel = Kernel(.init(processor: ScriptedModel(replies: []), audit: audit))
        let pid = try await kernel.spawn(name: "greedy", owner: alice, groups: ["users", "admin"]) { _ in "" }
        #expect(await kernel.status(pid)?.groups == ["users"])
        #expect(audit.records.contains { $0.syscall == "spawn" && $0.outcome == .completed })
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
