import AnimaCommandSupport
import AnimaCore
import AnimaProcessor
import ArgumentParser
import Foundation

struct Ask: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask one question and stream the answer.",
        discussion: """
            The answer streams to standard output as it is generated. With --json, Anima
            prints one JSON object when the answer is complete instead.

            With --schema the answer is constrained by a grammar compiled from the JSON
            Schema, so it always parses and matches it. The schema can be inline JSON or
            @path to a file.

            When `anima setup` configured providers, a router picks the processor for the
            question (the local model or a configured one) by mode, budget and learned
            quality, and says on standard error where it went. --private keeps the question
            on this machine whatever the mode.

            Examples:
              anima ask "Write a haiku about the sea"
              anima ask --temperature 0 --max-tokens 64 "List three primes"
              anima ask --json "What is 2+2?"
              anima ask --schema @person.schema.json "Invent a person"
              anima ask --private "Summarise my medical notes: ..."
            """
    )

    @Argument(help: "The question. Use - to read it from standard input.")
    var prompt: String

    @Option(help: "A system message that comes before the question.")
    var system: String?

    @Flag(help: "Print a single JSON object with the answer, finish reason and token usage.")
    var json = false

    @Option(help: ArgumentHelp("Constrain the answer to this JSON Schema (inline JSON or @file).", valueName: "schema"))
    var schema: String?

    @Flag(help: "Run the model in this process even when a daemon is running.")
    var local = false

    @Flag(name: .customLong("private"), help: "The question holds private data: answer it on this machine only.")
    var isPrivate = false

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var dataLocation: MemoryLocation

    mutating func run() async throws {
        let question = prompt == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : prompt
        guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("the question is empty")
        }
        var format = ResponseFormat.text
        if let schema {
            format = .jsonSchema(try Self.loadSchema(schema))
        }
        var messages: [ChatMessage] = []
        if let system { messages.append(.system(system)) }
        if case .jsonSchema(let s) = format {
            // Small models write better values when they can read the schema too.
            messages.append(
                .system(
                    [system, "Answer with JSON that matches this JSON Schema: \(s.json.jsonText)"].compactMap { $0 }.joined(
                        separator: "\n\n")))
            if system != nil { messages.removeFirst() }
        }
        messages.append(.user(question))
        let configuration = try ConfiguredProcessor.configuration()
        // The daemon serves its own local model; configured providers are routed here.
        if !local, configuration.providers.isEmpty, modelOptions.model == nil,
            let daemon = try await DaemonClient.discover(scope: .chat)
        {
            try await askDaemon(daemon, messages: messages, format: format)
            return
        }
        let engine = try await modelOptions.load()
        var request = GenerationRequest(messages: messages, responseFormat: format, sampling: sampling.parameters)
        if isPrivate { request.privacy = .private }
        var model = engine.info.name
        let events: AsyncThrowingStream<GenerationEvent, any Error>
        var session: RoutedSession?
        if let router = try ConfiguredProcessor.router(engine: engine, configuration: configuration) {
            session = try RoutedSession(router: router, dataDirectory: dataLocation.directory, name: "ask")
            let (quiet, mode) = (json, configuration.mode)
            events = session!.generate(request) { decision in
                if !quiet { Terminal.error("(\(mode) mode: \(decision.reason))\n") }
            }
        } else {
            events = engine.generate(request)
        }
        if json {
            let result = try await events.collect()
            if let chosen = session?.lastChoice { model = chosen }
            var usage = JSONObject()
            usage["prompt_tokens"] = .number(Double(result.usage.promptTokens))
            usage["completion_tokens"] = .number(Double(result.usage.completionTokens))
            var out = JSONObject()
            out["model"] = .string(model)
            out["text"] = .string(result.text)
            out["finish_reason"] = .string(result.finishReason.rawValue)
            out["usage"] = .object(usage)
            if case .jsonSchema = format, let value = try? JSONValue(parsing: result.text) { out["json"] = value }
            if !result.toolCalls.isEmpty {
                out["tool_calls"] = .array(
                    result.toolCalls.map { ["id": .string($0.id), "name": .string($0.name), "arguments": $0.arguments] })
            }
            print(JSONValue.object(out).jsonText)
        } else {
            var finish = FinishReason.stop
            for try await event in events {
                switch event {
                case .text(let t): Terminal.write(t)
                case .toolCall(let call): Terminal.write("[tool call \(call.name) \(call.arguments.jsonText)]")
                case .finished(let reason): finish = reason
                case .usage: break
                }
            }
            Terminal.write("\n")
            if finish == .length {
                Terminal.error("(the answer was cut at the token limit; raise --max-tokens or --context)\n")
            }
        }
    }

    /// Asks the running daemon through its OpenAI-compatible endpoint, streaming the answer.
    func askDaemon(_ daemon: DaemonClient, messages: [ChatMessage], format: ResponseFormat) async throws {
        var body = JSONObject()
        body["model"] = "anima"
        body["stream"] = true
        body["stream_options"] = ["include_usage": true]
        body["messages"] = .array(messages.map { ["role": .string($0.role.rawValue), "content": .string($0.content)] })
        body["temperature"] = .number(sampling.temperature)
        body["top_p"] = .number(sampling.topP)
        body["seed"] = .number(Double(sampling.seed))
        if let maxTokens = sampling.maxTokens { body["max_tokens"] = .number(Double(maxTokens)) }
        if !sampling.stop.isEmpty { body["stop"] = .array(sampling.stop.map(JSONValue.string)) }
        if case .jsonSchema(let schema) = format {
            body["response_format"] = ["type": "json_schema", "json_schema": ["name": "answer", "schema": schema.json]]
        }
        var text = "", finish = "stop", model = "anima"
        var usage: JSONValue = .null
        let quiet = json
        try await daemon.stream("/v1/chat/completions", .object(body)) { _, data in
            guard data != "[DONE]", let chunk = try? JSONValue(parsing: data) else { return }
            if let error = chunk["error"]?["message"]?.stringValue { throw CLIError(error) }
            model = chunk["model"]?.stringValue ?? model
            if let u = chunk["usage"], u != .null { usage = u }
            guard let choice = chunk["choices"]?.arrayValue?.first else { return }
            if let reason = choice["finish_reason"]?.stringValue { finish = reason }
            if let piece = choice["delta"]?["content"]?.stringValue {
                text += piece
                if !quiet { Terminal.write(piece) }
            }
        }
        if json {
            var out = JSONObject()
            out["model"] = .string(model)
            out["text"] = .string(text)
            out["finish_reason"] = .string(finish)
            out["usage"] = usage
            if case .jsonSchema = format, let value = try? JSONValue(parsing: text) { out["json"] = value }
            print(JSONValue.object(out).jsonText)
        } else {
            Terminal.write("\n")
        }
    }

    static func loadSchema(_ argument: String) throws -> JSONSchema {
        var text = argument
        if argument.hasPrefix("@") {
            let path = (String(argument.dropFirst()) as NSString).expandingTildeInPath
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read the schema file \(path)")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        do {
            return try JSONSchema(parsing: text)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
