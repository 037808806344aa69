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
            """
    )

    @Option(help: "A system message for the whole conversation.")
    var system: String?

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    mutating func run() async throws {
        let engine = try await modelOptions.load()
        let interactive = Terminal.isInteractive(fd: 0)
        if interactive {
            Terminal.write("Anima chat on \(engine.info.name) (\(engine.info.contextLength) tokens of context). /exit to leave.\n")
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
                for try await event in engine.generate(request) {
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
