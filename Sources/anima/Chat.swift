import AnimaCommandSupport
import AnimaCore
import AnimaProcessor
import ArgumentParser
import Foundation

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk with the model in an interactive session.",
        discussion: """
            Type a message and press Enter. The conversation is kept until you leave; when it
            outgrows the context, the oldest turns are dropped (and Anima says so).
            Commands: /reset forgets the conversation, /exit (or Ctrl-D) leaves.

            Examples:
              anima chat
              anima chat --system "You are a helpful pirate." --temperature 0.9
              anima chat --private

            When `anima setup` configured providers, a router picks the processor for each
            turn; --private keeps the whole conversation on this machine whatever the mode.
            """
    )

    @Option(help: "A system message for the whole conversation.")
    var system: String?

    @Flag(name: .customLong("private"), help: "The conversation holds private data: answer on this machine only.")
    var isPrivate = false

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var dataLocation: MemoryLocation

    mutating func run() async throws {
        let engine = try await modelOptions.load()
        let configuration = try ConfiguredProcessor.configuration()
        let router = try ConfiguredProcessor.router(engine: engine, configuration: configuration)
        let session = try router.map { try RoutedSession(router: $0, dataDirectory: dataLocation.directory, name: "chat") }
        let interactive = Terminal.isInteractive(fd: 0)
        if interactive {
            let on = router.map { "\(configuration.mode) mode, \($0.candidates.map(\.id).joined(separator: ", "))" } ?? engine.info.name
            Terminal.write("Anima chat on \(on) (\(engine.info.contextLength) tokens of context). /exit to leave.\n")
        }
        var history: [ChatMessage] = system.map { [.system($0)] } ?? []
        while true {
            if interactive { Terminal.write("\n> ") }
            guard let line = readLine(strippingNewline: true) else { break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input == "/exit" || input == "/quit" { break }
            if input == "/reset" {
                history = system.map { [.system($0)] } ?? []
                Terminal.write("(conversation cleared)\n")
                continue
            }
            history.append(.user(input))
            var request = GenerationRequest(messages: history, sampling: sampling.parameters)
            if isPrivate { request.privacy = .private }
            // Leave room for an answer: drop the oldest turns until the prompt fits.
            let reserve = min(sampling.maxTokens ?? 256, engine.info.contextLength / 2)
            while try await engine.countTokens(request) > engine.info.contextLength - reserve {
                guard let oldest = history.firstIndex(where: { $0.role != .system }), oldest < history.count - 1 else { break }
                history.remove(at: oldest)
                if oldest < history.count, history[oldest].role == .assistant { history.remove(at: oldest) }
                request.messages = history
                Terminal.error("(dropped the oldest turn to fit the context)\n")
            }
            var answer = ""
            do {
                let events: AsyncThrowingStream<GenerationEvent, any Error>
                if let session {
                    events = session.generate(request) { Terminal.error("(\($0.chosen))\n") }
                } else {
                    events = engine.generate(request)
                }
                for try await event in events {
                    if case .text(let t) = event {
                        answer += t
                        Terminal.write(t)
                    }
                }
                Terminal.write("\n")
                history.append(.assistant(answer))
            } catch {
                Terminal.error("error: \(error)\n")
                history.removeLast()
            }
        }
    }
}
