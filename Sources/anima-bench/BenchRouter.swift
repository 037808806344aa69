import AnimaCommandSupport
import AnimaCore
import AnimaProcessor
import AnimaProviders
import AnimaTesting
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

struct BenchRouter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "router",
        abstract: "The router's decision time, and the cloud client's streaming overhead over raw HTTP.",
        discussion: """
            Decisions: a router with one local engine (its load read on every decision) and
            three priced cloud models, learned beliefs for four task classes, a budget and a
            protected group, decides --decisions times over a mix of requests (public,
            private, with tools, structured). Reports p50/p99 in microseconds and, as the
            anchor measured in the same run, the time to encode the same request as an
            OpenAI-style JSON body, which every cloud call pays anyway.

            Streaming: a local replay server plays an OpenAI-style stream of --events
            chunks. The same stream is read --streams times per round by a bare
            AsyncHTTPClient (bytes only) and by Anima's OpenAI provider (SSE parsing, JSON
            decoding, events), alternating for --rounds rounds. Reports medians and the ratio.
            No network beyond 127.0.0.1.

            Example:
              anima-bench router
              anima-bench router --decisions 50000 --events 4000 --json
            """
    )

    @Option(help: NumericFlag.help("Routing decisions to time.", 1...100_000_000), transform: NumericFlag.integer(1...100_000_000))
    var decisions = 20_000

    @Option(help: NumericFlag.help("Chunks in the replayed stream.", 1...10_000_000), transform: NumericFlag.integer(1...10_000_000))
    var events = 2000

    @Option(help: NumericFlag.help("Streams read per client per round.", 1...10_000), transform: NumericFlag.integer(1...10_000))
    var streams = 10

    @Option(help: NumericFlag.help("Alternating rounds.", 1...1000), transform: NumericFlag.integer(1...1000))
    var rounds = 5

    @Flag(help: "Print JSON lines instead of text.")
    var json = false

    func validate() throws {
        guard decisions >= 100, events >= 10, streams >= 1, rounds >= 1 else {
            throw ValidationError("use at least 100 decisions, 10 events, 1 stream and 1 round")
        }
    }

    mutating func run() async throws {
        let routing = try Self.measureDecisions(count: decisions)
        let streaming = try await Self.measureStreaming(events: events, streams: streams, rounds: rounds)
        if json {
            print(
                jsonLine([
                    ("benchmark", "router-decision"), ("decisions", .number(Double(decisions))),
                    ("p50_us", .number(routing.p50)), ("p99_us", .number(routing.p99)),
                    ("anchor_json_encode_p50_us", .number(routing.anchorP50)), ("ratio_p50", .number(routing.p50 / routing.anchorP50)),
                ]))
            print(
                jsonLine([
                    ("benchmark", "provider-stream"), ("events", .number(Double(events))), ("bytes", .number(Double(streaming.bytes))),
                    ("raw_ms", .number(streaming.raw * 1000)), ("provider_ms", .number(streaming.provider * 1000)),
                    ("ratio", .number(streaming.provider / streaming.raw)),
                    ("overhead_us_per_event", .number((streaming.provider - streaming.raw) / Double(events) * 1e6)),
                ]))
            return
        }
        print("routing decision (\(decisions) decisions, 4 candidates, mixed requests)")
        print(String(format: "  p50 %.1f µs   p99 %.1f µs   (goal: under 100 µs)", routing.p50, routing.p99))
        print(
            String(
                format: "  anchor: JSON-encoding the same request p50 %.1f µs; decision/anchor %.2f", routing.anchorP50,
                routing.p50 / routing.anchorP50))
        print("streaming (\(events) chunks, \(streaming.bytes) bytes, medians of \(rounds) rounds × \(streams) streams)")
        print(
            String(
                format: "  raw HTTP stream %.2f ms   OpenAI provider %.2f ms   ratio %.2f   overhead %.2f µs per chunk",
                streaming.raw * 1000, streaming.provider * 1000, streaming.provider / streaming.raw,
                (streaming.provider - streaming.raw) / Double(events) * 1e6))
    }

    // MARK: - Decisions

    struct Routing { var p50: Double; var p99: Double; var anchorP50: Double }

    static func measureDecisions(count: Int) throws -> Routing {
        let capabilities = ModelCapabilities(contextLength: 128_000, tools: true, vision: true)
        func model(_ name: String) -> ScriptedModel { ScriptedModel(name: name) { _ in .text("ok") } }
        let candidates = [
            RouteCandidate(
                id: "local/smol", processor: model("local"), location: .local,
                capabilities: ModelCapabilities(contextLength: 8192), price: .free,
                load: { ProcessorLoad(running: 3, waiting: 0, slots: 4) }),
            RouteCandidate(
                id: "openai/gpt-4o-mini", processor: model("a"), location: .remote, capabilities: capabilities,
                price: ModelPrice(inputPerMillion: 0.15, outputPerMillion: 0.6)),
            RouteCandidate(
                id: "anthropic/claude-haiku-4-5", processor: model("b"), location: .remote, capabilities: capabilities,
                price: ModelPrice(inputPerMillion: 1, outputPerMillion: 5)),
            RouteCandidate(
                id: "gemini/gemini-2.5-flash", processor: model("c"), location: .remote, capabilities: capabilities,
                price: ModelPrice(inputPerMillion: 0.3, outputPerMillion: 2.5)),
        ]
        var learned: [TaskClass: [String: ThompsonSampler.Belief]] = [:]
        for (i, taskClass) in ["chat", "tools", "structured", "long-context"].enumerated() {
            for (j, candidate) in candidates.enumerated() {
                learned[TaskClass(taskClass), default: [:]][candidate.id] = .init(
                    successes: Double(10 + i * 3 + j * 7), failures: Double(5 + j))
            }
        }
        let router = try ProcessorRouter(
            candidates: candidates, policy: RouterPolicy(mode: .hybrid, protectedGroups: ["medical"], budget: 1000, seed: 1),
            learned: learned, log: DecisionLog(capacity: 1000))

        let paragraph = String(repeating: "The quarterly report covers revenue, costs and the outlook for next year. ", count: 6)
        let tool = try ToolDefinition(
            name: "search_files", description: "Search the user's files for a phrase.",
            parameters: JSONSchema(
                parsing: #"{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"}},"required":["query"]}"#))
        var requests: [GenerationRequest] = []
        for i in 0..<8 {
            var request = GenerationRequest(messages: [
                .system("You are a careful assistant."), .user(paragraph), .assistant("Noted."), .user("Summarise point \(i)."),
            ])
            if i % 4 == 1 { request.privacy = .private }
            if i % 4 == 2 { request.tools = [tool]; request.privacy = .groups("medical") }
            if i % 4 == 3 { request.responseFormat = .jsonObject }
            requests.append(request)
        }

        let clock = ContinuousClock()
        func time(_ work: () throws -> Void) rethrows -> Double {
            let start = clock.now
            try work()
            return seconds(clock.now - start) * 1e6
        }
        var decisionTimes: [Double] = []
        var anchorTimes: [Double] = []
        decisionTimes.reserveCapacity(count)
        anchorTimes.reserveCapacity(count)
        for i in 0..<(count + count / 10) {
            let request = requests[i % requests.count]
            let decision = try time { _ = try router.decide(request) }
            let anchor = time { _ = openAIBody(request).count }
            if i >= count / 10 {  // the first tenth warms caches and allocators
                decisionTimes.append(decision)
                anchorTimes.append(anchor)
            }
        }
        return Routing(p50: percentile(decisionTimes, 0.5), p99: percentile(decisionTimes, 0.99), anchorP50: percentile(anchorTimes, 0.5))
    }

    /// The request as an OpenAI-style JSON body, built from public pieces as a provider does.
    static func openAIBody(_ request: GenerationRequest) -> String {
        var body = JSONObject()
        body["model"] = "gpt-4o-mini"
        body["messages"] = .array(request.messages.map { ["role": .string($0.role.rawValue), "content": .string($0.content)] })
        body["temperature"] = .number(request.sampling.temperature)
        if !request.tools.isEmpty { body["tools"] = .array(request.tools.map(\.openAIJSON)) }
        return JSONValue.object(body).jsonText
    }

    // MARK: - Streaming

    struct Streaming { var raw: Double; var provider: Double; var bytes: Int }

    static func measureStreaming(events: Int, streams: Int, rounds: Int) async throws -> Streaming {
        var body = ""
        for i in 0..<events {
            body +=
                #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1745000000,"model":"bench","choices":[{"index":0,"delta":{"content":" token\#(i)"},"logprobs":null,"finish_reason":null}],"usage":null}"#
                + "\n\n"
        }
        body +=
            #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1745000000,"model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"#
            + "\n\n"
        body +=
            #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1745000000,"model":"bench","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":\#(events),"total_tokens":\#(events + 10)}}"#
            + "\n\n"
        body += "data: [DONE]\n\n"
        let exchange = ReplayExchange(
            request: .init(method: "POST", path: "/v1/chat/completions"),
            response: .init(status: 200, headers: [("Content-Type", "text/event-stream")], body: Array(body.utf8), chunking: .events))
        let server = try await ReplayServer.start([exchange], cycling: true)
        do {
            let result = try await measureStreaming(from: server, events: events, streams: streams, rounds: rounds)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    private static func measureStreaming(from server: ReplayServer, events: Int, streams: Int, rounds: Int) async throws -> Streaming {

        let endpoint = ProviderEndpoint(id: "bench", kind: .openAICompatible, baseURL: server.baseURL + "/v1", retry: .none)
        let provider = try OpenAIProvider(endpoint: endpoint, model: "bench", credential: nil)
        let request = GenerationRequest(messages: [.user("stream")], sampling: .greedy())
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(redirectConfiguration: .disallow))
        let clock = ContinuousClock()

        func raw() async throws -> Int {
            var http = HTTPClientRequest(url: server.baseURL + "/v1/chat/completions")
            http.method = .POST
            http.headers.add(name: "Content-Type", value: "application/json")
            http.body = .bytes(ByteBuffer(string: #"{"model":"bench","messages":[{"role":"user","content":"stream"}],"stream":true}"#))
            let response = try await client.execute(http, timeout: .seconds(30))
            var bytes = 0
            for try await chunk in response.body { bytes += chunk.readableBytes }
            return bytes
        }
        func viaProvider() async throws -> Int {
            var chunks = 0
            for try await event in provider.generate(request) { if case .text = event { chunks += 1 } }
            return chunks
        }
        // Warm both paths: connections, allocators, code.
        let bytes = try await raw()
        guard try await viaProvider() == events else { throw CLIError("the provider did not read every chunk of the stream") }

        var rawTimes: [Double] = []
        var providerTimes: [Double] = []
        for _ in 0..<rounds {
            for _ in 0..<streams {
                let start = clock.now
                guard try await raw() == bytes else { throw CLIError("the raw stream came back incomplete") }
                rawTimes.append(seconds(clock.now - start))
            }
            for _ in 0..<streams {
                let start = clock.now
                guard try await viaProvider() == events else { throw CLIError("the provider did not read every chunk of the stream") }
                providerTimes.append(seconds(clock.now - start))
            }
        }
        try await client.shutdown()
        return Streaming(raw: percentile(rawTimes, 0.5), provider: percentile(providerTimes, 0.5), bytes: bytes)
    }
}
