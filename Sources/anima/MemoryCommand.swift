import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaMemory
import AnimaProcessor
import AnimaServer
import AnimaStorage
import ArgumentParser
import Foundation

struct MemoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Search, show and forget what your agents remember.",
        discussion: """
            Agents started with `anima run --memory NAME` keep their conversations, core
            memory and archival passages here, encrypted, under your user name.

            Examples:
              anima memory search "trip to Lisbon"
              anima memory show assistant
              anima memory forget assistant --message 42
              anima memory forget assistant --all
            """,
        subcommands: [MemorySearch.self, MemoryShow.self, MemoryForget.self]
    )
}

struct MemorySearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Find messages and passages by meaning and by words, in every agent or one.")

    @Argument(help: "What to look for.") var query: String
    @Option(help: "Only this agent's memory.") var agent: String?
    @Option(help: NumericFlag.help("Results per agent and store.", 1...1000), transform: NumericFlag.integer(1...1000)) var limit = 10
    @Flag(help: "Full-text search only (no embedding model).") var wordsOnly = false
    @Flag(help: "One JSON object per result.") var json = false
    @OptionGroup var location: MemoryLocation

    func validate() throws {
        if query.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the query is empty") }
        if !(1...1000).contains(limit) { throw ValidationError("--limit must be between 1 and 1000") }
    }

    func run() async throws {
        let system = try await location.open(embeddings: !wordsOnly)
        // Through the kernel, like MCP's memory_search: authorised and audited.
        let kernel = Kernel(try .standard(processor: nil, memory: system, dataDirectory: location.directory.path))
        let result = try await kernel.invoke(
            .memory(.search(agent: agent, text: query, limit: limit)), as: CurrentUser.principal, name: "memory-search")
        try await system.store.close()
        guard case .records(let records, let damaged) = result else { throw SyscallError.failed("unexpected result") }
        if let warning = MemorySearchResult(records: records, damaged: damaged).damageWarning { Terminal.error("warning: \(warning)\n") }
        if records.isEmpty && !json { Terminal.error("nothing found for \"\(query)\"\n") }
        let dates = ISO8601DateFormatter()
        for record in records {
            if json {
                let row: JSONValue = [
                    "agent": .string(record.agent), "kind": .string(record.kind.rawValue), "id": .number(Double(record.id)),
                    "created": .string(dates.string(from: record.createdAt)), "label": .string(record.label),
                    "text": .string(record.text), "score": .number(record.score),
                ]
                print(row.jsonText)
            } else {
                let line = record.text.replacingOccurrences(of: "\n", with: " ")
                print(
                    "\(record.agent)\t\(record.kind.rawValue) \(record.id)\t\(dates.string(from: record.createdAt))\t\(record.label)\t\(line.prefix(160))"
                )
            }
        }
    }
}

struct MemoryShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show an agent's core memory, summary and context window; without a name, list your agents.")

    @Argument(help: "The agent (as given to `anima run --memory`).") var agent: String?
    @OptionGroup var location: MemoryLocation

    func run() async throws {
        let system = try await location.open(embeddings: false)
        defer { Task { try? await system.store.close() } }
        let user = CurrentUser.principal.name
        // Each read is a syscall: authorised and audited.
        let kernel = Kernel(try .standard(processor: nil, memory: system, dataDirectory: location.directory.path))
        func show(_ agent: String) async throws -> AgentMemorySnapshot {
            let result = try await kernel.invoke(.memory(.show(agent: agent)), as: CurrentUser.principal, name: "memory-show")
            guard case .snapshot(let snapshot) = result else { throw SyscallError.failed("unexpected result") }
            return snapshot
        }
        guard let agent else {
            let result = try await kernel.invoke(.memory(.agents), as: CurrentUser.principal, name: "memory-show")
            guard case .agents(let agents) = result else { throw SyscallError.failed("unexpected result") }
            if agents.isEmpty { Terminal.error("no agent of \(user) has memory yet; start one with anima run --memory NAME\n") }
            for name in agents {
                let snapshot = try await show(name)
                print("\(name)\t\(snapshot.messages) messages, \(snapshot.passages) passages")
            }
            return
        }
        let snapshot = try await show(agent)
        print("agent \(agent) of \(user): \(snapshot.messages) messages, \(snapshot.passages) archival passages")
        for block in snapshot.blocks {
            print("\n[\(block.label)] \(block.description) (limit \(block.limit) tokens)")
            print(block.value.isEmpty ? "  (empty)" : block.value.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        }
        print("\n[summary]")
        print(snapshot.summary.isEmpty ? "  (none yet)" : "  " + snapshot.summary)
        print("\n[context window: \(snapshot.resident.count) messages]")
        for resident in snapshot.resident {
            let text = resident.message.content.replacingOccurrences(of: "\n", with: " ")
            print("  \(resident.recallID)\t\(resident.message.role.rawValue)\t\(text.prefix(160))")
        }
        print("\n[page-ins: the newest \(snapshot.pageIns.count)]")
        if snapshot.pageIns.isEmpty { print("  (none yet)") }
        for event in snapshot.pageIns {
            print("  \(event.at.formatted(.iso8601)): \(event.paged.count) of \(event.decisions.count) candidates paged in")
            for d in event.decisions {
                let score = String(format: "%.3f", d.score)
                print("    \(d.outcome.rawValue)\t\(d.source) #\(d.id)\tscore \(score)\t\(d.reasons.joined(separator: ","))")
            }
        }
    }
}

struct MemoryForget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Erase messages, passages or an agent's whole memory: text and vectors, from every store.",
        discussion: "The erasure is a syscall like any other: checked, and recorded in the audit trail.")

    @Argument(help: "The agent.") var agent: String
    @Option(
        name: .customLong("message"),
        help: NumericFlag.help("A message ID (from search or show); repeat for more.", 1...9_000_000_000_000_000),
        transform: NumericFlag.integer(Int64(1)...9_000_000_000_000_000)) var messages: [Int64] = []
    @Option(
        name: .customLong("passage"), help: NumericFlag.help("An archival passage ID; repeat for more.", 1...9_000_000_000_000_000),
        transform: NumericFlag.integer(Int64(1)...9_000_000_000_000_000)) var passages: [Int64] = []
    @Flag(help: "Everything the agent kept.") var all = false
    @OptionGroup var location: MemoryLocation

    func validate() throws {
        if all == !(messages.isEmpty && passages.isEmpty) {
            throw ValidationError("say what to forget: --message/--passage IDs, or --all (not both)")
        }
    }

    func run() async throws {
        let system = try await location.open(embeddings: false)
        // A kernel for this one syscall: it authorises, carries out and audits the erasure;
        // it needs no model.
        let kernel = Kernel(try .standard(processor: nil, memory: system, dataDirectory: location.directory.path))
        let operation = MemoryOperation.forget(
            agent: agent, recallIDs: all ? nil : messages, archivalIDs: all ? nil : passages)
        let result = try await kernel.invoke(.memory(operation), as: CurrentUser.principal, name: "memory-forget")
        try await system.store.close()
        guard case .erased(let count) = result else { throw SyscallError.failed("unexpected result") }
        print("forgot \(count) record(s) of \(agent)")
    }
}
