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
              anima memory import notes.jsonl --agent assistant
              anima memory show assistant
              anima memory forget assistant --message 42
              anima memory forget assistant --all
            """,
        subcommands: [MemorySearch.self, MemoryImport.self, MemoryShow.self, MemoryForget.self]
    )

    /// The running daemon, when it serves the memory `location` names: then it is the one
    /// writer, and memory commands go through it.
    static func daemon(for location: MemoryLocation) async throws -> DaemonClient? {
        guard let found = try await DaemonClient.discoverWithDataDirectory(scopes: [.memory]),
            serves(found.dataDirectory, location)
        else { return nil }
        return found.client
    }

    /// Whether a daemon serving data directory `directory` holds the memory `location` names.
    static func serves(_ directory: String, _ location: MemoryLocation) -> Bool {
        URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
            == location.directory.standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// A form-encoded query string (a space as %20, every reserved byte escaped).
    static func queryString(_ items: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return items.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }
}

struct MemorySearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Find messages and passages by meaning and by words, in every agent or one.",
        discussion: """
            Results are messages and passages together, best first; --limit and --offset count
            them all. Dates are when a record happened: 2024-05-07, 2024-05-07T14:30:00Z or
            seconds since 1970. With a daemon running, the search goes through it.

            Examples:
              anima memory search "trip to Lisbon" --after 2024-01-01 --source user
              anima memory search "passport" --tag travel --limit 20 --offset 20
              anima memory search --after 2024-05-01 --before 2024-06-01
            """)

    @Argument(help: "What to look for; leave out to list the newest records matching the filters.") var query: String = ""
    @Option(help: "Only this agent's memory.") var agent: String?
    @Option(help: NumericFlag.help("Results in all.", 1...1000), transform: NumericFlag.integer(1...1000)) var limit = 10
    @Option(help: NumericFlag.help("Results to skip (offset + limit at most 1000).", 0...999), transform: NumericFlag.integer(0...999))
    var offset = 0
    @Option(help: "Only records that happened at or after this date.") var after: String?
    @Option(help: "Only records that happened before this date.") var before: String?
    @Option(name: .customLong("tag"), help: "Only passages with this tag; repeat for more (all must match).") var tags: [String] = []
    @Option(name: .customLong("source"), help: "Only records from this source (user, agent, tool, import); repeat for more.")
    var sources: [String] = []
    @Flag(help: "Full-text search only (no embedding model; a running daemon searches as it is set up).") var wordsOnly = false
    @Flag(help: "One JSON object per result.") var json = false
    @OptionGroup var location: MemoryLocation

    func validate() throws {
        _ = try request()
    }

    func request() throws -> MemorySearchRequest {
        var request = MemorySearchRequest(text: query, agent: agent, limit: limit, offset: offset, tags: tags)
        do {
            request.after = try after.map { try MemoryWire.date(text: $0, field: "--after") }
            request.before = try before.map { try MemoryWire.date(text: $0, field: "--before") }
            request.sources = try MemoryWire.sources(text: sources.joined(separator: ","), field: "--source")
        } catch let error as APIError {
            throw ValidationError(error.message)
        }
        if let problem = request.problem { throw ValidationError(problem) }
        if let after = request.after, let before = request.before, after >= before {
            throw ValidationError("the date range is empty: --after must be earlier than --before")
        }
        return request
    }

    func run() async throws {
        let request = try request()
        var rows: [JSONValue]
        var hasMore: Bool
        var damaged = 0
        if let daemon = try await MemoryCommand.daemon(for: location) {
            var items: [(String, String)] = [("q", query), ("limit", String(limit)), ("offset", String(offset))]
            if let agent { items.append(("agent", agent)) }
            if let after { items.append(("after", after)) }
            if let before { items.append(("before", before)) }
            if !tags.isEmpty { items.append(("tags", tags.joined(separator: ","))) }
            if !sources.isEmpty { items.append(("sources", sources.joined(separator: ","))) }
            let answer = try await daemon.call("/anima/v1/agent-memory/search?" + MemoryCommand.queryString(items))
            rows = answer.json.arrayValue ?? []
            hasMore = answer.headers["anima-has-more"] == "true"
            damaged = Int(answer.headers["anima-damaged-records"] ?? "") ?? 0
        } else {
            let system = try await location.open(embeddings: !wordsOnly)
            // Through the kernel, like MCP's memory_search: authorised and audited.
            let kernel = Kernel(try .standard(processor: nil, memory: system, dataDirectory: location.directory.path))
            let result: Result<SyscallResult, any Error>
            do {
                result = .success(try await kernel.invoke(.memory(.search(request)), as: CurrentUser.principal, name: "memory-search"))
            } catch {
                result = .failure(error)
            }
            try await system.store.close()
            guard case .records(let found) = try result.get() else { throw SyscallError.failed("unexpected result") }
            rows = found.records.map(MemoryWire.json)
            hasMore = found.hasMore
            damaged = found.damaged
        }
        if let warning = MemorySearchResult(records: [], damaged: damaged).damageWarning { Terminal.error("warning: \(warning)\n") }
        if rows.isEmpty && !json { Terminal.error("nothing found for \"\(query)\"\n") }
        for row in rows {
            if json {
                print(row.jsonText)
            } else {
                let line = (row["text"]?.stringValue ?? "").replacingOccurrences(of: "\n", with: " ")
                let fields = [
                    row["agent"]?.stringValue ?? "", "\(row["kind"]?.stringValue ?? "") \(row["id"]?.jsonText ?? "")",
                    row["happened"]?.stringValue ?? "", row["source"]?.stringValue ?? "", row["label"]?.stringValue ?? "",
                ]
                print(fields.joined(separator: "\t") + "\t" + line.prefix(160))
            }
        }
        if hasMore && !json { Terminal.error("more results: add --offset \(offset + limit)\n") }
    }
}

struct MemoryImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Save passages from a JSONL file to an agent's archival memory.",
        discussion: """
            One passage per line: {"text": "...", "tags": ["..."], "happened": "2024-05-07",
            "source": "import", "trust": "trusted"}; only text is required, source defaults to
            import. The whole file is checked first: a bad line is named by its number and
            nothing is imported. Passages are then saved in batches (each in one transaction,
            its embeddings computed together); with a daemon running, through it.

            Example:
              anima memory import notes.jsonl --agent assistant
            """)

    @Argument(help: "The JSONL file (- for standard input).") var file: String
    @Option(help: "The agent whose archival memory receives the passages.") var agent: String
    @Option(help: NumericFlag.help("Passages per batch.", 1...10_000), transform: NumericFlag.integer(1...10_000)) var batch = 1000
    @OptionGroup var location: MemoryLocation

    func validate() throws {
        if let problem = MemorySystem.problem(withAgentName: agent) { throw ValidationError("--agent: \(problem)") }
    }

    func run() async throws {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let read = FileManager.default.contents(atPath: file) else {
                throw CLIError("cannot read \(file): no such file, or not readable")
            }
            data = read
        }
        let (lines, passages) = try Self.parse(data, name: file == "-" ? "standard input" : file)
        let started = Date()
        var imported: [Int64] = []
        if let daemon = try await MemoryCommand.daemon(for: location) {
            // Batches stay well under the daemon's request size limit (1 MiB by default).
            var start = 0
            while start < lines.count {
                var end = start
                var bytes = 0
                while end < lines.count, end - start < batch, end == start || bytes + lines[end].jsonText.utf8.count < 768 << 10 {
                    bytes += lines[end].jsonText.utf8.count
                    end += 1
                }
                let answer = try await daemon.call(
                    "/anima/v1/agent-memory/\(agent)/passages", posting: ["passages": .array(Array(lines[start..<end]))])
                imported += (answer.json["ids"]?.arrayValue ?? []).compactMap { $0.numberValue.map { Int64($0) } }
                start = end
            }
        } else {
            let system = try await location.open(embeddings: true)
            let kernel = Kernel(try .standard(processor: nil, memory: system, dataDirectory: location.directory.path))
            let result: Result<[Int64], any Error>
            var ids: [Int64] = []
            do {
                var start = 0
                while start < passages.count {
                    let end = min(passages.count, start + batch)
                    let operation = MemoryOperation.insert(agent: agent, passages: Array(passages[start..<end]))
                    guard
                        case .inserted(let saved) = try await kernel.invoke(
                            .memory(operation), as: CurrentUser.principal, name: "memory-import")
                    else { throw SyscallError.failed("unexpected result") }
                    ids += saved
                    start = end
                }
                result = .success(ids)
            } catch {
                // Batches saved before the failure stay saved: say how far it got.
                result = .failure(
                    ids.isEmpty ? error : CLIError("\(error)\n\(ids.count) passages were imported before this; the rest were not"))
            }
            try await system.store.close()
            imported = try result.get()
        }
        let seconds = Date().timeIntervalSince(started)
        Terminal.error(
            "imported \(imported.count) passage\(imported.count == 1 ? "" : "s") into \(agent) in \(String(format: "%.1f", seconds)) s"
                + (imported.isEmpty ? "\n" : " (ids \(imported.first!)...\(imported.last!))\n"))
    }

    /// Every line of a JSONL file as a passage (source `import` unless it says otherwise);
    /// all the problems, each named by its line, before anything is saved.
    static func parse(_ data: Data, name: String) throws -> (lines: [JSONValue], passages: [NewMemoryPassage]) {
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(name) is not UTF-8 text") }
        var lines: [JSONValue] = []
        var passages: [NewMemoryPassage] = []
        var problems: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { continue }
            do {
                var value = try JSONValue(parsing: trimmed)
                let passage = try MemoryWire.passage(value, defaultSource: .import)
                if case .object(var object) = value, object["source"] == nil {
                    object["source"] = .string(MemorySource.import.rawValue)
                    value = .object(object)
                }
                lines.append(value)
                passages.append(passage)
            } catch let error as APIError {
                problems.append("line \(index + 1): \(error.message)")
            } catch {
                problems.append("line \(index + 1): not JSON (\(error))")
            }
        }
        if !problems.isEmpty {
            let shown = problems.prefix(10).joined(separator: "\n  ")
            let more = problems.count > 10 ? "\n  ... and \(problems.count - 10) more" : ""
            throw CLIError(
                "\(name) has \(problems.count) bad line\(problems.count == 1 ? "" : "s"); nothing was imported:\n  \(shown)\(more)")
        }
        guard !passages.isEmpty else { throw CLIError("\(name) holds no passages (one JSON object per line, with \"text\")") }
        return (lines, passages)
    }
}

struct MemoryShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show an agent's core memory, summary and context window; without a name, list your agents.")

    @Argument(help: "The agent (as given to `anima run --memory`).") var agent: String?
    @OptionGroup var location: MemoryLocation

    func run() async throws {
        let user = CurrentUser.principal.name
        if let daemon = try await MemoryCommand.daemon(for: location) {
            guard let agent else {
                let agents = try await daemon.call("/anima/v1/agent-memory").json["agents"]?.arrayValue ?? []
                if agents.isEmpty { Terminal.error("no agent of \(user) has memory yet; start one with anima run --memory NAME\n") }
                for row in agents {
                    print(
                        "\(row["agent"]?.stringValue ?? "")\t\(row["messages"]?.jsonText ?? "0") messages, \(row["passages"]?.jsonText ?? "0") passages"
                    )
                }
                return
            }
            if let problem = MemorySystem.problem(withAgentName: agent) { throw ValidationError(problem) }
            let row = try await daemon.call("/anima/v1/agent-memory/\(agent)").json
            Self.printSnapshot(row, agent: agent, user: user)
            return
        }
        let system = try await location.open(embeddings: false)
        defer { Task { try? await system.store.close() } }
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
        Self.printSnapshot(MemoryWire.json(try await show(agent)), agent: agent, user: user)
    }

    /// Prints what `MemoryWire.json(_: AgentMemorySnapshot)` holds (from the daemon or this process).
    static func printSnapshot(_ snapshot: JSONValue, agent: String, user: String) {
        let count = { (key: String) in snapshot[key]?.jsonText ?? "0" }
        Swift.print("agent \(agent) of \(user): \(count("messages")) messages, \(count("passages")) archival passages")
        for block in snapshot["blocks"]?.arrayValue ?? [] {
            let value = block["value"]?.stringValue ?? ""
            Swift.print(
                "\n[\(block["label"]?.stringValue ?? "")] \(block["description"]?.stringValue ?? "") (limit \(block["limit"]?.jsonText ?? "0") tokens)"
            )
            Swift.print(value.isEmpty ? "  (empty)" : value.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        }
        let summary = snapshot["summary"]?.stringValue ?? ""
        Swift.print("\n[summary]")
        Swift.print(summary.isEmpty ? "  (none yet)" : "  " + summary)
        let resident = snapshot["resident"]?.arrayValue ?? []
        Swift.print("\n[context window: \(resident.count) messages]")
        for message in resident {
            let text = (message["text"]?.stringValue ?? "").replacingOccurrences(of: "\n", with: " ")
            Swift.print("  \(message["id"]?.jsonText ?? "")\t\(message["role"]?.stringValue ?? "")\t\(text.prefix(160))")
        }
        let pageIns = snapshot["page_ins"]?.arrayValue ?? []
        Swift.print("\n[page-ins: the newest \(pageIns.count)]")
        if pageIns.isEmpty { Swift.print("  (none yet)") }
        for event in pageIns {
            let decisions = event["decisions"]?.arrayValue ?? []
            let paged = decisions.filter { $0["outcome"]?.stringValue == "paged" }.count
            Swift.print("  \(event["at"]?.stringValue ?? ""): \(paged) of \(decisions.count) candidates paged in")
            for d in decisions {
                let score = String(format: "%.3f", d["score"]?.numberValue ?? 0)
                let reasons = (d["reasons"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
                Swift.print(
                    "    \(d["outcome"]?.stringValue ?? "")\t\(d["source"]?.stringValue ?? "") #\(d["id"]?.jsonText ?? "")\tscore \(score)\t\(reasons)"
                )
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
        if let daemon = try await MemoryCommand.daemon(for: location) {
            var body = JSONObject()
            if all { body["all"] = true }
            if !messages.isEmpty { body["messages"] = .array(messages.map { .number(Double($0)) }) }
            if !passages.isEmpty { body["passages"] = .array(passages.map { .number(Double($0)) }) }
            if let problem = MemorySystem.problem(withAgentName: agent) { throw ValidationError(problem) }
            let count =
                try await daemon.call("/anima/v1/agent-memory/\(agent)/forget", posting: .object(body)).json["erased"]?.jsonText ?? "0"
            print("forgot \(count) record(s) of \(agent)")
            return
        }
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
