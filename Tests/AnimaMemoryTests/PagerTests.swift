import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaStorage
import AnimaTesting
import Foundation
import Testing

/// The pager on a scripted processor (whose tokens are words, so budgets are easy to
/// reason about), real SQLite storage, and the real embedding model where search
/// quality matters.
@Suite struct PagerTests {
    static let prefix = "You are Anima, a helpful assistant with long-term memory."

    static func configuration(
        policy: EvictionPolicy = .oldestFirst, summaryBudget: Int = 40, pageBudget: Int = 120
    ) -> PagerConfiguration {
        PagerConfiguration(
            systemPrefix: prefix,
            blocks: [
                CoreMemoryBlock(label: "persona", description: "who you are", value: "Helpful and brief.", limit: 30),
                CoreMemoryBlock(label: "human", description: "about the user", limit: 30),
            ],
            answerReserve: 64, summaryBudget: summaryBudget, pageBudget: pageBudget, policy: policy)
    }

    /// A summariser that says little, so that only page-in can bring back details.
    static let terseSummariser = ScriptedModel(name: "summariser", contextLength: 4096) { _ in
        .text("The user and the assistant chatted about many everyday topics.")
    }

    static func filler(_ i: Int) -> String {
        let topics = ["gardening", "chess openings", "bread baking", "bicycle repair", "jazz records", "tide pools", "origami"]
        return "Let us talk about \(topics[i % topics.count]) for a while, round \(i), with a few more words to fill the line."
    }

    @Test func aFactEvictedLongAgoIsPagedBackInWhenAskedAbout() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let model = ScriptedModel(name: "processor", contextLength: 700) { _ in .text("ok") }
        let counters = PagingCounters()
        let pager = try await Pager.open(
            namespace: try MemoryNamespace(user: "alice", agent: "assistant"), store: temp.store, model: model,
            embedder: try await TestEmbedder.embedder(), summariser: Self.terseSummariser, configuration: Self.configuration(),
            counters: counters)
        let fact = try await pager.append(.user("Please remember that my passport number is X47-KB-9921."))
        try await pager.append(.assistant("Noted, I will remember your passport number."))
        for i in 0..<30 {
            try await pager.append(.user(Self.filler(i)))
            try await pager.append(.assistant("Happy to talk about that, round \(i)."))
        }
        let window = await pager.window
        #expect(!window.messages.contains { $0.recallID == fact.recallID }, "the fact must have been evicted")
        #expect(!window.summary.contains("X47"))

        try await pager.append(.user("What was my passport number again?"))
        let prepared = try await pager.prepare()
        let page = try #require(prepared.pages.first { $0.id == fact.recallID }, "the evicted fact was not paged in")
        #expect(counters.pagedOut >= 2 && counters.pagedIn == prepared.pages.count)
        #expect(page.source == .conversation)
        #expect(prepared.request.messages.contains { $0.content.contains("X47-KB-9921") })
        #expect(prepared.promptTokens + 64 <= 700)
        #expect(prepared.request.messages[0] == .system(Self.prefix))
        // Paged in without any model call beyond the summariser's.
        #expect(model.requests.isEmpty)
    }

    /// Page-in decisions are events: which records, why, with what score, and what became
    /// of each; stored as they are made (before the next message), shown by the snapshot,
    /// counted for metrics, and free of text.
    @Test func pageInDecisionsAreRecordedShownAndCounted() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let model = ScriptedModel(name: "processor", contextLength: 700) { _ in .text("ok") }
        let counters = PagingCounters()
        let namespace = try MemoryNamespace(user: "alice", agent: "events")
        let pager = try await Pager.open(
            namespace: namespace, store: temp.store, model: model, embedder: nil, summariser: Self.terseSummariser,
            configuration: Self.configuration(), counters: counters)
        let fact = try await pager.append(.user("My locker code at the gym is 4471, remember it."))
        let guess = try await pager.append(.assistant("Your locker code at the gym is probably 1234, I guess."))
        for i in 0..<30 {
            try await pager.append(.user(Self.filler(i)))
            try await pager.append(.assistant("Happy to talk about that, round \(i)."))
        }
        #expect(await pager.pageInEvents.isEmpty)
        try await pager.append(.user("What is my locker code at the gym?"))
        let prepared = try await pager.prepare()
        let event = try #require(await pager.pageInEvents.last)
        #expect(event.paged.map(\.id) == prepared.pages.map(\.id))
        let user = try #require(event.decisions.first { $0.id == fact.recallID })
        #expect(user.outcome == .paged && user.reasons.contains("words") && user.tokens > 0)
        let agent = try #require(event.decisions.first { $0.id == guess.recallID })
        #expect(agent.reasons.contains("agent-statement"))
        #expect(event.decisions.firstIndex(of: user)! < event.decisions.firstIndex(of: agent)!, "the guess outranked the user's word")
        #expect(counters.pageInEvents == 1 && counters.pagedIn == prepared.pages.count)
        #expect(counters.pagedInByReason.first { $0.reason == "words" }!.pages >= 1)
        let json = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
        #expect(!json.contains("locker") && !json.contains("is 4471"))  // not "4471" alone: a score can spell it

        // Stored before the answer comes back: what `anima memory show` reads, with no
        // further message.
        let snapshot = try await MemorySystem(store: temp.store, embedder: nil).snapshot(user: "alice", agent: "events")
        #expect(snapshot.pageIns == [event])
    }

    /// A pager that dies right after a page-in (no later message saves anything) leaves its
    /// events in the store, sealed: a new pager and the snapshot read them back, after the
    /// store itself was closed and reopened, and no stored byte holds the query or a page.
    @Test func pageInEventsSurviveThePagerDyingBeforeItsNextMessage() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let model = ScriptedModel(name: "processor", contextLength: 700) { _ in .text("ok") }
        let namespace = try MemoryNamespace(user: "alice", agent: "crash")
        var pager: Pager? = try await Pager.open(
            namespace: namespace, store: temp.store, model: model, embedder: nil, summariser: Self.terseSummariser,
            configuration: Self.configuration())
        try await pager!.append(.user("The harbour pass for the kayak is number 5521, keep it."))
        for i in 0..<30 { try await pager!.append(.user(Self.filler(i))) }
        _ = try await pager!.prepare(query: "which harbour pass does the kayak use")
        let events = await pager!.pageInEvents
        #expect(events.count == 1 && !events[0].paged.isEmpty)
        pager = nil
        try await temp.store.close()
        let key = temp.key
        let store = try await MemoryStore.open(.directory(temp.directory), key: key, dimensions: 384)
        let reopened = try await Pager.open(
            namespace: namespace, store: store, model: model, embedder: nil, summariser: Self.terseSummariser,
            configuration: Self.configuration())
        #expect(await reopened.pageInEvents == events)
        #expect(try await MemorySystem(store: store, embedder: nil).snapshot(user: "alice", agent: "crash").pageIns == events)
        try await store.close()
        for file in try FileManager.default.subpathsOfDirectory(atPath: temp.directory.path) {
            let bytes = FileManager.default.contents(atPath: temp.directory.appendingPathComponent(file).path) ?? Data()
            // "number 5521", not "5521" alone: hex digests in the store spell any four digits by chance.
            for text in ["harbour", "kayak", "number 5521"] {
                #expect(bytes.range(of: Data(text.utf8)) == nil, "\(file) holds \(text) in the clear")
            }
        }
    }

    /// Retention is a setting: only the newest `pageInHistory` events are kept, across
    /// restarts; 0 keeps none (still counted); a history out of range is refused by name.
    @Test func pageInHistoryKeepsOnlyTheNewestAndZeroKeepsNone() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let model = ScriptedModel(name: "processor", contextLength: 700) { _ in .text("ok") }
        let namespace = try MemoryNamespace(user: "alice", agent: "history")
        var configuration = Self.configuration()
        configuration.pageInHistory = 3
        let pager = try await Pager.open(
            namespace: namespace, store: temp.store, model: model, embedder: nil, summariser: Self.terseSummariser,
            configuration: configuration)
        try await pager.append(.user("My locker code at the gym is 4471."))
        for i in 0..<5 { _ = try await pager.prepare(query: "locker code \(i)") }
        let kept = await pager.pageInEvents
        #expect(kept.count == 3)
        let reopened = try await Pager.open(
            namespace: namespace, store: temp.store, model: model, embedder: nil, summariser: Self.terseSummariser,
            configuration: configuration)
        #expect(await reopened.pageInEvents == kept)
        configuration.pageInHistory = 1
        let narrower = try await Pager.open(
            namespace: namespace, store: temp.store, model: model, embedder: nil, summariser: Self.terseSummariser,
            configuration: configuration)
        #expect(await narrower.pageInEvents == [kept[2]])
        // One sealed value per kept event, so a page-in writes its own event only.
        let core = temp.store.coreMemory(namespace)
        #expect(try await core.names().filter { $0.hasPrefix("page-in.") } == ["page-in.0"])
        // A list kept by an older version moves into slots on open.
        try await core.removeValue("page-in.0")
        try await core.setValue(kept, for: "page-ins")
        configuration.pageInHistory = 3
        let migrated = try await Pager.open(
            namespace: namespace, store: temp.store, model: model, embedder: nil, summariser: Self.terseSummariser,
            configuration: configuration)
        #expect(await migrated.pageInEvents == kept)
        #expect(try await core.names().filter { $0.hasPrefix("page-in") }.sorted() == ["page-in.0", "page-in.1", "page-in.2"])
        _ = try await migrated.prepare(query: "locker code again")
        let rotated = await migrated.pageInEvents
        #expect(rotated.count == 3 && Array(rotated.prefix(2)) == Array(kept.suffix(2)))
        #expect(try await MemorySystem(store: temp.store, embedder: nil).snapshot(user: "alice", agent: "history").pageIns == rotated)

        let counters = PagingCounters()
        configuration.pageInHistory = 0
        let none = try await Pager.open(
            namespace: try MemoryNamespace(user: "alice", agent: "none"), store: temp.store, model: model, embedder: nil,
            summariser: Self.terseSummariser, configuration: configuration, counters: counters)
        try await none.append(.user("My locker code at the gym is 4471."))
        _ = try await none.prepare(query: "locker code")
        #expect(await none.pageInEvents.isEmpty && counters.pageInEvents == 1)
        #expect(try await MemorySystem(store: temp.store, embedder: nil).snapshot(user: "alice", agent: "none").pageIns.isEmpty)

        for bad in [-1, PagerConfiguration.maximumPageInHistory + 1, Int.max, Int.min] {
            configuration.pageInHistory = bad
            await #expect(
                throws: MemoryError.invalidConfiguration(
                    "the page-in history must keep 0 to \(PagerConfiguration.maximumPageInHistory) events, not \(bad)")
            ) {
                _ = try await Pager.open(
                    namespace: namespace, store: temp.store, model: model, embedder: nil, configuration: configuration)
            }
        }
    }

    /// Page-in shows when things happened, not when they were stored: an imported passage
    /// dated 2023-05-07 and a message appended with its own time (2021-11-30) read with
    /// those days in the prompt.
    @Test func pagedInLinesShowWhenThingsHappened() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let model = ScriptedModel(name: "processor", contextLength: 700) { _ in .text("ok") }
        let namespace = try MemoryNamespace(user: "alice", agent: "dates")
        let may7 = Date(timeIntervalSince1970: 1_683_417_600)  // 2023-05-07T00:00:00Z
        let nov30 = Date(timeIntervalSince1970: 1_638_273_600)  // 2021-11-30T12:00:00Z
        _ = try await temp.store.archival(namespace).insert([
            NewArchivalPassage(text: "The marathon in Lisbon took four hours and ten minutes.", happenedAt: may7, source: .import)
        ])
        let pager = try await Pager.open(
            namespace: namespace, store: temp.store, model: model, embedder: nil, summariser: Self.terseSummariser,
            configuration: Self.configuration())
        try await pager.append(.user("I planted the quince tree by the garage."), at: nov30)
        for i in 0..<30 { try await pager.append(.user(Self.filler(i))) }
        let prepared = try await pager.prepare(query: "how long did the Lisbon marathon take, and where is the quince tree")
        let prompt = prepared.request.messages.map(\.content).joined(separator: "\n")
        #expect(prepared.pages.count == 2, "\(prepared.pages)")
        #expect(prompt.contains("2023-05-07") && prompt.contains("marathon in Lisbon"), "\(prompt)")
        #expect(prompt.contains("2021-11-30") && prompt.contains("quince tree by the garage"), "\(prompt)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let today = formatter.string(from: Date())
        #expect(!prompt.contains(", \(today)"), "a page shows the day it was stored: \(prompt)")
    }

    @Test func theSummarySlotNeverExceedsItsBudget() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let essay = (0..<400).map { "word\($0)" }.joined(separator: " ")
        let verbose = ScriptedModel(name: "verbose", contextLength: 4096) { _ in .text(essay) }
        let model = ScriptedModel(name: "processor", contextLength: 600) { _ in .text("ok") }
        let pager = try await Pager.open(
            namespace: try MemoryNamespace(user: "alice", agent: "a"), store: temp.store, model: model, embedder: nil,
            summariser: verbose, configuration: Self.configuration(summaryBudget: 40))
        var evictions = 0
        for i in 0..<60 {
            let outcome = try await pager.append(.user(Self.filler(i)))
            evictions += outcome.evicted.isEmpty ? 0 : 1
            let summary = await pager.window.summary
            #expect(try await model.countTokens(text: summary) <= 40, "after message \(i)")
        }
        #expect(evictions >= 2)
        #expect(!(await pager.window.summary.isEmpty))
        #expect(verbose.requests.count == evictions)
    }

    @Test func nothingEvictedIsLostEvenWhenTheSummariserFails() async throws {
        for summariser in [Self.terseSummariser, ScriptedModel(name: "broken") { _ in .failure("out of service") }] {
            let temp = try await TemporaryStore.open()
            defer { temp.discard() }
            let model = ScriptedModel(name: "processor", contextLength: 500) { _ in .text("ok") }
            let namespace = try MemoryNamespace(user: "alice", agent: "a")
            let pager = try await Pager.open(
                namespace: namespace, store: temp.store, model: model, embedder: nil, summariser: summariser,
                configuration: Self.configuration())
            var sent: [String] = []
            var evicted: [Int64] = []
            let call = ToolCall(id: "c9", name: "calculator", arguments: ["expression": "6*7"])
            for i in 0..<50 {
                let message: ChatMessage =
                    i % 10 == 5 ? .assistant("", toolCalls: [call]) : i % 10 == 6 ? .tool("42", callID: "c9") : .user(Self.filler(i))
                sent.append(message.content)
                evicted += try await pager.append(message).evicted
            }
            #expect(!evicted.isEmpty)
            let stored = try await temp.store.recall(namespace).list(MemoryQuery(limit: 1000))
            #expect(stored.map(\.message.content) == sent)
            let resident = await pager.window.messages.map(\.recallID)
            #expect(Set(resident).isDisjoint(with: evicted))
            #expect(Set(resident).union(evicted) == Set(stored.map(\.id)))
            // A tool result never stays without its call.
            let window = await pager.window.messages
            if let first = window.first { #expect(first.message.role != .tool) }
            if summariser.info.name == "broken" {
                #expect(await pager.window.summary.contains("conversation_search"))
            }
        }
    }

    @Test func thePromptAlwaysFitsWithRoomForTheAnswer() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let model = ScriptedModel(name: "processor", contextLength: 400) { _ in .text("ok") }
        let pager = try await Pager.open(
            namespace: try MemoryNamespace(user: "u", agent: "a"), store: temp.store, model: model, embedder: nil,
            summariser: Self.terseSummariser, configuration: Self.configuration(pageBudget: 60))
        var rng = SplitMix(seed: 7)
        for i in 0..<80 {
            let words = Int(rng.next() % 120) + 1
            let text = (0..<words).map { "w\($0 % 17)" }.joined(separator: " ") + " gardening \(i)"
            try await pager.append(i % 2 == 0 ? .user(text) : .assistant(text))
            let prepared = try await pager.prepare(query: "gardening")
            #expect(prepared.promptTokens + 64 <= 400)
            #expect(try await model.countTokens(prepared.request) == prepared.promptTokens)
            #expect(prepared.usage.residentTokens <= prepared.usage.residentLimit)
            #expect(prepared.usage.pageTokens <= 60)
            #expect((prepared.request.sampling.maxTokens ?? 0) >= 64)
        }
        // The 600-word message was kept in part; all of it is in recall storage.
        let huge = (0..<600).map { "huge\($0)" }.joined(separator: " ")
        let outcome = try await pager.append(.user(huge))
        let resident = try #require(await pager.window.messages.last)
        #expect(resident.recallID == outcome.recallID && resident.truncated)
        #expect(try await temp.store.recall(pager.namespace).entries([outcome.recallID]).first?.message.content == huge)
    }

    @Test func memoryPressureIsWarnedAtTheConfiguredFraction() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let model = ScriptedModel(name: "processor", contextLength: 600) { _ in .text("ok") }
        let pager = try await Pager.open(
            namespace: try MemoryNamespace(user: "u", agent: "a"), store: temp.store, model: model, embedder: nil,
            summariser: Self.terseSummariser, configuration: Self.configuration())
        var sawCalm = false, sawWarning = false
        for i in 0..<40 {
            try await pager.append(.user(Self.filler(i)))
            let prepared = try await pager.prepare()
            if prepared.usage.fraction >= 0.7 {
                #expect(prepared.pressureWarning != nil)
                #expect(prepared.request.messages.contains { $0.role == .system && $0.content.hasPrefix("Memory pressure") })
                sawWarning = true
            } else {
                #expect(prepared.pressureWarning == nil)
                sawCalm = true
            }
        }
        #expect(sawCalm && sawWarning)
    }

    @Test func evictionPoliciesAreDeterministicAndRespectPins() async throws {
        for policy in EvictionPolicy.allCases {
            let temp = try await TemporaryStore.open()
            defer { temp.discard() }
            let model = ScriptedModel(name: "processor", contextLength: 500) { _ in .text("ok") }
            let pager = try await Pager.open(
                namespace: try MemoryNamespace(user: "u", agent: "a"), store: temp.store, model: model, embedder: nil,
                summariser: Self.terseSummariser, configuration: Self.configuration(policy: policy))
            let pinned = try await pager.append(.user("Standing instruction: always answer in French."), pinned: true)
            let important = try await pager.append(.user("The launch code word is heliotrope."), priority: 10)
            var evictedOrder: [Int64] = []
            var ids: [Int64] = []
            for i in 0..<40 {
                let outcome = try await pager.append(.user(Self.filler(i)))
                ids.append(outcome.recallID)
                evictedOrder += outcome.evicted
                if policy == .leastRecentlyUsed { await pager.touch([important.recallID]) }
            }
            let resident = await pager.window.messages.map(\.recallID)
            #expect(resident.contains(pinned.recallID), "\(policy)")
            #expect(!evictedOrder.contains(pinned.recallID))
            switch policy {
            case .oldestFirst:
                #expect(evictedOrder.first == important.recallID)
                #expect(evictedOrder == evictedOrder.sorted())
            case .leastRecentlyUsed, .lowestPriorityFirst:
                #expect(resident.contains(important.recallID), "\(policy) kept the used / high-priority message")
            }
        }
    }

    @Test func memoryFunctionsEditCoreMemoryWithinItsLimits() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let model = ScriptedModel(name: "processor", contextLength: 800) { _ in .text("ok") }
        let pager = try await Pager.open(
            namespace: try MemoryNamespace(user: "u", agent: "a"), store: temp.store, model: model, embedder: nil,
            summariser: Self.terseSummariser, configuration: Self.configuration())
        let f = pager.functions
        var r = await f.execute(name: "core_memory_append", arguments: ["label": "human", "content": "Name: Ada. Lives in Basel."])
        #expect(!r.isError)
        r = await f.execute(name: "core_memory_replace", arguments: ["label": "human", "old_content": "Basel", "new_content": "Bern"])
        #expect(!r.isError)
        #expect(await pager.window.blocks.first { $0.label == "human" }?.value == "Name: Ada. Lives in Bern.")

        r = await f.execute(
            name: "core_memory_append", arguments: ["label": "human", "content": .string(String(repeating: "much more ", count: 40))])
        #expect(r.isError && r.text.contains("limit is 30"))
        r = await f.execute(name: "core_memory_replace", arguments: ["label": "human", "old_content": "Paris", "new_content": "x"])
        #expect(r.isError && r.text.contains("does not contain"))
        r = await f.execute(name: "core_memory_append", arguments: ["label": "diary", "content": "x"])
        #expect(r.isError && r.text.contains("persona, human"))
        r = await f.execute(name: "core_memory_append", arguments: ["label": "human"])
        #expect(r.isError && r.text.contains("content"))
        r = await f.execute(name: "archival_search", arguments: ["query": "x", "page": -1])
        #expect(r.isError)
        r = await f.execute(name: "conversation_search", arguments: ["query": "x", "start_date": "last tuesday"])
        #expect(r.isError && r.text.contains("2025-03-14"))
        r = await f.execute(name: "format_disk", arguments: [:])
        #expect(r.isError && r.text.contains("archival_insert"))

        let prepared = try await pager.prepare(query: "hello")
        #expect(prepared.request.messages[0] == .system(Self.prefix))
        #expect(prepared.request.messages[1].content.contains("Name: Ada. Lives in Bern."))
        #expect(Set(prepared.request.tools.map(\.name)) == MemoryFunctions.names)
    }

    @Test func conversationAndArchivalSearchFunctionsFilterAndPaginate() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let model = ScriptedModel(name: "processor", contextLength: 800) { _ in .text("ok") }
        let pager = try await Pager.open(
            namespace: try MemoryNamespace(user: "u", agent: "a"), store: temp.store, model: model,
            embedder: try await TestEmbedder.embedder(), summariser: Self.terseSummariser, configuration: Self.configuration())
        let day = 86_400.0
        let start = Date(timeIntervalSince1970: 1_735_689_600)  // 2025-01-01
        for i in 0..<12 {
            try await pager.append(.user("Trip log \(i): hiking near Zermatt in the snow."), at: start.addingTimeInterval(Double(i) * day))
        }
        let f = pager.functions
        var r = await f.execute(
            name: "conversation_search", arguments: ["query": "Zermatt hiking", "start_date": "2025-01-05", "end_date": "2025-01-06"])
        #expect(!r.isError)
        let dated = r.json["results"]?.arrayValue ?? []
        #expect(dated.compactMap { $0["date"]?.stringValue }.sorted() == ["2025-01-05", "2025-01-06"])
        r = await f.execute(name: "conversation_search", arguments: ["query": "Zermatt hiking"])
        #expect(r.json["results"]?.arrayValue?.count == 5 && r.json["more"] == true)
        r = await f.execute(name: "conversation_search", arguments: ["query": "Zermatt hiking", "page": 2])
        #expect(r.json["results"]?.arrayValue?.count == 2 && r.json["more"] == false)

        r = await f.execute(name: "archival_insert", arguments: ["content": "Ada's blood type is AB negative.", "tags": ["health"]])
        #expect(!r.isError)
        r = await f.execute(name: "archival_insert", arguments: ["content": "Ada prefers window seats on trains.", "tags": ["travel"]])
        r = await f.execute(name: "archival_search", arguments: ["query": "What blood group does Ada have?"])
        #expect(r.json["results"]?.arrayValue?.first?["content"] == "Ada's blood type is AB negative.")
        r = await f.execute(name: "archival_search", arguments: ["query": "Ada", "tags": ["travel"]])
        #expect(r.json["results"]?.arrayValue?.map { $0["content"] } == ["Ada prefers window seats on trains."])
    }

    @Test func anAgentResumesWithItsBlocksSummaryAndResidentMessages() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let namespace = try MemoryNamespace(user: "u", agent: "a")
        let model = ScriptedModel(name: "processor", contextLength: 500) { _ in .text("ok") }
        let first = try await Pager.open(
            namespace: namespace, store: temp.store, model: model, embedder: nil, summariser: Self.terseSummariser,
            configuration: Self.configuration())
        _ = await first.functions.execute(name: "core_memory_append", arguments: ["label": "human", "content": "Likes tea."])
        for i in 0..<30 { try await first.append(.user(Self.filler(i))) }
        let before = await first.window
        #expect(!before.summary.isEmpty)
        let second = try await Pager.open(
            namespace: namespace, store: temp.store, model: model, embedder: nil, summariser: Self.terseSummariser,
            configuration: Self.configuration())
        #expect(await second.window == before)
        // Another agent of the same user starts empty.
        let other = try await Pager.open(
            namespace: try MemoryNamespace(user: "u", agent: "b"), store: temp.store, model: model, embedder: nil,
            summariser: Self.terseSummariser, configuration: Self.configuration())
        #expect(await other.window.messages.isEmpty)
    }

    @Test func configurationsThatCannotFitAreRefused() async throws {
        let temp = try await TemporaryStore.open()
        defer { temp.discard() }
        let model = ScriptedModel(name: "processor", contextLength: 200) { _ in .text("ok") }
        var configuration = Self.configuration()
        configuration.pageBudget = 150
        await #expect(throws: MemoryError.self) {
            _ = try await Pager.open(
                namespace: try MemoryNamespace(user: "u", agent: "a"), store: temp.store, model: model, embedder: nil,
                configuration: configuration)
        }
        configuration = Self.configuration()
        configuration.pressureFraction = 1.5
        await #expect(throws: MemoryError.invalidConfiguration("the pressure fraction must be in (0, 1]")) {
            _ = try await Pager.open(
                namespace: try MemoryNamespace(user: "u", agent: "a"), store: temp.store, model: model, embedder: nil,
                configuration: configuration)
        }
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
