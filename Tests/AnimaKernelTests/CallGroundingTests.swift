import AnimaCore
import AnimaProcessor
import AnimaSecurity
import AnimaTesting
import Testing

@testable import AnimaKernel

/// Calls a small model invents for small talk are not run; calls the request asks for are,
/// including those whose values the model had to work out.
@Suite("Grounded tool calls")
struct CallGroundingTests {
    static func tool(_ name: String, _ properties: JSONValue) -> ToolDefinition {
        ToolDefinition(name: name, description: "", parameters: try! JSONSchema(["type": "object", "properties": properties]))
    }

    static let tools = [
        tool("calculator", ["expression": ["type": "string"]]),
        tool("get_weather", ["city": ["type": "string"], "unit": ["enum": ["celsius", "fahrenheit"]]]),
        tool("convert_currency", ["amount": ["type": "number"], "from": ["type": "string"], "to": ["type": "string"]]),
        tool("set_timer", ["minutes": ["type": "integer"]]),
        tool("send_email", ["to": ["type": "string"], "subject": ["type": "string"], "body": ["type": "string"]]),
        tool("getStockPrice", ["symbol": ["type": "string"]]),
        tool("list_files", [:]),
        tool("notify", ["urgent": ["type": "boolean"], "level": ["const": "high"]]),
    ]

    static func grounded(_ words: String, _ name: String, _ arguments: JSONValue, history: [ChatMessage] = []) -> Bool {
        let messages = [ChatMessage.system(AgentLoop.defaultSystemPrompt), .user(words)] + history
        return CallGrounding(messages).isGrounded(ToolCall(id: "c", name: name, arguments: arguments), offered: tools)
    }

    /// What Qwen2.5-Coder-0.5B called, under the lazy grammar, for requests that need no tool.
    static let invented: [(String, String, JSONValue)] = [
        ("Hello! How are you?", "calculator", ["expression": "2 + 3"]),
        ("Tell me a short joke.", "get_weather", ["city": "London", "unit": "celsius"]),
        ("What is the capital of France?", "calculator", ["expression": "Paris"]),
        ("How many days are in a week?", "calculator", ["expression": "7"]),
        ("What is a noun?", "send_email", ["to": "recipient@example.com", "subject": "Test Email", "body": "This is a test email."]),
        ("Which planet do we live on?", "get_weather", ["city": "Earth"]),
        ("Say good night.", "set_timer", ["minutes": 0]),
        ("Good morning!", "send_email", ["to": "recipient@example.com", "subject": "Hello, World!"]),
        ("Hello! How are you?", "calculator", ["expression": ""]),
        ("こんにちは、元気ですか？", "get_weather", ["city": "大阪"]),
    ]

    @Test(arguments: CallGroundingTests.invented)
    func anInventedCallIsNotGrounded(words: String, name: String, arguments: JSONValue) {
        #expect(!Self.grounded(words, name, arguments))
    }

    static let asked: [(String, String, JSONValue)] = [
        ("What is 17 * 23 + 4?", "calculator", ["expression": "17 * 23 + 4"]),
        ("What is 17 factorial?", "calculator", ["expression": "17!"]),
        ("Is it raining in Paris right now?", "get_weather", ["city": "Paris"]),
        ("What's the temperature in Rome in Fahrenheit?", "get_weather", ["city": "Rome", "unit": "fahrenheit"]),
        // Values worked out from the words: the tool's name is in the request.
        ("Convert twenty dollars to euros.", "convert_currency", ["amount": 20, "from": "USD", "to": "EUR"]),
        ("Set a timer for half an hour.", "set_timer", ["minutes": 30]),
        ("Please send an e-mail to bob@example.org about the report", "send_email", ["to": "bob@example.org", "subject": "Report"]),
        ("What is the latest stock price of AAPL?", "getStockPrice", ["symbol": "AAPL"]),
        ("How are stocks doing?", "getStockPrice", ["symbol": "SPY"]),  // "stocks" meets "stock"
        ("東京の天気は？", "get_weather", ["city": "東京"]),  // a script without spaces
        ("Wie ist das Wetter in München?", "get_weather", ["city": "München"]),
        // Nothing free-form to invent.
        ("Hello!", "list_files", [:]),
        ("Hello!", "notify", ["urgent": true, "level": "high"]),
    ]

    @Test(arguments: CallGroundingTests.asked)
    func aCallTheRequestAsksForIsGrounded(words: String, name: String, arguments: JSONValue) {
        #expect(Self.grounded(words, name, arguments))
    }

    @Test func aToolsOutputGroundsACallButTheModelsOwnWordsDoNot() {
        let asked = "Forward the newest message to my assistant."
        let call: JSONValue = ["to": "dana@example.com", "subject": "Budget"]
        #expect(!Self.grounded(asked, "send_email", call, history: [.assistant("I will email dana@example.com about the Budget.")]))
        #expect(
            Self.grounded(
                asked, "send_email", call, history: [.tool("From: carl. Subject: Budget. Assistant: dana@example.com", callID: "1")]))
    }

    @Test func wordsAreLettersOrDigitsWithoutFunctionWords() {
        #expect(CallGrounding.words("What's 2**40, Alice@Example.COM?") == ["2", "40", "alice", "example", "com"])
        #expect(CallGrounding.words("abc123def 3.5 H2O") == ["abc123def", "3", "5", "h2o"])
        #expect(CallGrounding.words("Save these notes; pass") == ["save", "note", "pass"])
        #expect(CallGrounding.words("") == [])
    }

    // MARK: the agent's step

    static let weather = tool("get_weather", ["city": ["type": "string"]])

    static func step(_ words: String, replies: [ScriptedModel.Reply], choice: ToolChoice = .auto) async throws -> (
        GenerationResult, [GenerationRequest], dropped: [ToolCall]
    ) {
        let model = ScriptedModel(replies: replies)
        let request = GenerationRequest(messages: [.user(words)], tools: [weather], toolChoice: choice)
        let (result, dropped) = try await AgentLoop.step(.native, request) { try await model.generate($0).collect() }
        return (result, model.requests, dropped)
    }

    static func call(_ city: String) -> ToolCall { ToolCall(id: city, name: "get_weather", arguments: ["city": .string(city)]) }

    @Test func aStepWhoseCallsAreAllInventedAnswersInWordsInstead() async throws {
        let (result, requests, dropped) = try await Self.step(
            "Hello! How are you?", replies: [.toolCalls([Self.call("London")]), .text("Fine, thanks.")])
        #expect(dropped.map(\.id) == ["London"])
        #expect(result.toolCalls.isEmpty)
        #expect(result.text == "Fine, thanks.")
        #expect(requests.count == 2)
        #expect(requests[1].toolChoice == .none)
        #expect(requests[1].toolConstraint == .wholeAnswer)
    }

    /// (Asked about the "weather", every `get_weather` call would be grounded by the tool's name.)
    @Test func aStepKeepsItsGroundedCallsAndDropsTheRest() async throws {
        let (result, requests, dropped) = try await Self.step(
            "How warm is it in Oslo and in Lima?", replies: [.toolCalls([Self.call("Oslo"), Self.call("London"), Self.call("Lima")])])
        #expect(result.toolCalls.map(\.id) == ["Oslo", "Lima"])
        #expect(dropped.map(\.id) == ["London"])
        #expect(requests.count == 1)
    }

    @Test func aCallTheCallerRequiredIsNotSecondGuessed() async throws {
        let (result, requests, dropped) = try await Self.step("Hello!", replies: [.toolCalls([Self.call("London")])], choice: .required)
        #expect(result.toolCalls.map(\.id) == ["London"])
        #expect(dropped.isEmpty)
        #expect(requests.count == 1)
    }

    /// End to end: the agent never runs the invented call and answers the greeting; the
    /// user sees the call denied, and the audit trail keeps it, its arguments sealed.
    @Test func anAgentDoesNotRunACallInventedForSmallTalk() async throws {
        let model = ScriptedModel { request in
            if case .jsonSchema = request.responseFormat { return .text(#"{"actions": []}"#) }
            if request.toolChoice == .auto {
                return .toolCalls([ToolCall(id: "1", name: "add", arguments: ["a": 40, "b": 2])])
            }
            return .text("Hello! I am well.")
        }
        let trail = MemoryAuditTrail()
        let kernel = Kernel(.init(processor: model, tools: [AddTool()], audit: trail))
        let events = await kernel.events()
        let pid = try await kernel.spawn(AgentSpec(task: "Hello! How are you?", tools: ["add"]), owner: alice)
        #expect(try await kernel.wait(pid) == .completed("Hello! I am well."))
        #expect(!model.requests.contains { $0.messages.contains { $0.role == .tool } })
        var denied: [(ToolCall, String)] = []
        for await event in events {
            if case .toolDenied(let p, let call, let reason) = event, p == pid { denied.append((call, reason)) }
            if case .exited(let p, _) = event, p == pid { break }
        }
        #expect(denied.map(\.0.name) == ["add"])
        #expect(denied.first?.1.contains("not run") == true)
        let records = trail.records.filter { $0.syscall == "call_tool" }
        #expect(records.count == 1)
        #expect(records.first?.outcome == .denied(Kernel.ungrounded))
        #expect(records.first?.summary.contains("hmac:") == true, "\(records.first?.summary ?? "")")
    }

    /// The data boundary's instructions carry a random hex nonce in the system prompt; its
    /// digits once grounded `add(40, 2)` now and then (a nonce holding a lone 2).
    @Test func theDataBoundarysNonceGroundsNothing() {
        let boundary = DataBoundary(nonce: "0a2b40c7d9e1f305")
        let grounding = CallGrounding([.system(boundary.instructions), .user("Hello! How are you?")])
        let add = ToolCall(id: "1", name: "add", arguments: ["a": 40, "b": 2])
        #expect(!grounding.isGrounded(add, offered: []))
    }
}
