import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaSecurity
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
              anima chat --tools mail,calendar --allow 'mail__send_email(to=ada@example.com)'

            When `anima setup` configured providers, a router picks the processor for each
            turn; --private keeps the whole conversation on this machine whatever the mode.

            With --tools, the conversation is one agent process under the kernel, as in
            `anima run`: every tool call passes the security policy, each is shown with its
            decision (→ ran, ✗ denied and why), and a call that needs your yes is asked at
            the terminal (--approval-timeout says how long it waits). Text the answer
            repeats from untrusted sources is marked ⟦untrusted from SOURCE⟧...⟦/untrusted⟧.
            /reset ends the agent; the next line starts a new one.
            """
    )

    @Option(help: "A system message for the whole conversation.")
    var system: String?

    @Flag(name: .customLong("private"), help: "The conversation holds private data: answer on this machine only.")
    var isPrivate = false

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var dataLocation: MemoryLocation
    @OptionGroup var kernelOptions: KernelOptions

    @Option(
        help: ArgumentHelp(
            "With --tools: the side-effecting calls the conversation may make once it has read untrusted text: tools (names, servers, globs) and, in parentheses, the values a call must use, e.g. 'bank__send_money(recipient=alice, amount=20)' (a value in double quotes when it holds , or )); a call with other values is asked or denied from the start. Default: the model decides from each of your turns before it reads anything.",
            valueName: "tool[(arg=value,...)][,...]"))
    var allow: String?

    func validate() throws {
        if allow != nil, kernelOptions.toolSelectors.isEmpty {
            throw ValidationError("--allow needs --tools: it narrows what the tools may do")
        }
        if let allow {
            do { for selector in ActionSelector.split(allow) { _ = try ActionSelector(parsing: selector) } } catch {
                throw ValidationError("--allow: \(error)")
            }
        }
    }

    mutating func run() async throws {
        if !kernelOptions.toolSelectors.isEmpty {
            try await runWithTools()
            return
        }
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

extension Chat {
    /// The conversation as one agent process with tools (see `ToolChat`).
    func runWithTools() async throws {
        // Tools first: a selector that chooses nothing is reported before a model loads.
        let toolbox = try await kernelOptions.loadTools(packages: dataLocation.directory)
        defer { Task { await toolbox.shutdown() } }
        let systemTools = ToolAdapter.adapting(toolbox.tools)
        let names = systemTools.map(\.definition.name)
        let allowed: [String]?
        do { allowed = try allow.map { try ActionSelector.resolve(ActionSelector.split($0), among: names) } } catch {
            throw ValidationError("--allow: \(error)")
        }
        let engine = try await modelOptions.load(slots: 1, scheduler: kernelOptions.scheduler)
        let kernel = Kernel(
            kernelOptions.configured(
                try .standard(
                    processor: try ConfiguredProcessor.processor(local: .local(engine)), tools: systemTools,
                    dataDirectory: dataLocation.directory.path)))
        // A policy's "ask" goes to the person at this terminal; without one it is a denial.
        if let terminal = TerminalApprover.forControllingTerminal() { await terminal.answerFor(kernel) }
        let interactive = Terminal.isInteractive(fd: 0)
        if interactive {
            Terminal.write(
                "Anima chat on \(engine.info.name) with tools \(names.joined(separator: ", ")); tool calls pass the security policy. /exit to leave.\n"
            )
        }
        let spec = AgentSpec(
            name: "chat", task: "", systemPrompt: system, tools: names,
            sampling: .init(temperature: sampling.temperature, maxTokensPerStep: sampling.maxTokens ?? 512, seed: sampling.seed),
            privacy: isPrivate ? .private : .public, actions: allowed)
        let chat = ToolChat(kernel: kernel, spec: spec, owner: CurrentUser.principal, interactive: interactive)
        if try await !chat.run(readLine: { readLine(strippingNewline: true) }) { throw ExitCode(2) }
    }
}
