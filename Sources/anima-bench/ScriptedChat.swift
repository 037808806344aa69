import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaSecurity
import AnimaTesting
import AnimaTools
import ArgumentParser
import Foundation

/// `anima-bench chat --scripted --script FILE --tools ...`: `anima chat --tools` (the same
/// `ToolChat`, kernel, policy and terminal questions), its model replaced by a script;
/// each line of standard input is a turn.
struct ScriptedChat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "A conversation with tools whose model follows a script (for tests of anima chat --tools).",
        discussion: """
            The script is a JSON array: item N is the reply after N tool results and later
            user turns, {"call": NAME, "arguments": {...}} or {"answer": TEXT} ({last}: the last result).

            Example:
              printf 'list my mail\\nreply to it\\n' | anima-bench chat --scripted --script steps.json --tools mail
            """
    )

    @Flag(help: "Use the scripted model (required: the only model anima-bench runs).") var scripted = false
    @Option(help: "The script (a JSON file).") var script: String
    @Option(help: "The side-effecting calls allowed once untrusted text is read (as anima chat --allow).") var allow: String?
    @OptionGroup var kernelOptions: KernelOptions
    @OptionGroup var memoryLocation: MemoryLocation

    func validate() throws {
        guard scripted else { throw ValidationError("anima-bench chat runs only a scripted model: add --scripted") }
        guard !kernelOptions.toolSelectors.isEmpty else { throw ValidationError("give --tools: this is the chat with tools") }
    }

    mutating func run() async throws {
        let steps = try ScriptedSteps(file: script)
        let toolbox = try await kernelOptions.loadTools()
        let names = toolbox.tools.map(\.name)
        let allowed: [String]?
        do { allowed = try allow.map { try ActionSelector.resolve(ActionSelector.split($0), among: names) } } catch {
            throw ValidationError("--allow: \(error)")
        }
        let processor = ScriptedProcessor(slots: 1, scheduler: kernelOptions.scheduler) { steps.reply($0) }
        processor.startStepping()
        let kernel = Kernel(
            kernelOptions.configured(
                try .standard(
                    processor: try ConfiguredProcessor.processor(scripted: processor), tools: ToolAdapter.adapting(toolbox.tools),
                    dataDirectory: memoryLocation.directory.path)))
        if let terminal = TerminalApprover.forControllingTerminal() { await terminal.answerFor(kernel) }
        let spec = AgentSpec(name: "scripted-chat", task: "", tools: names, limits: .init(maxSteps: 16), actions: allowed)
        let chat = ToolChat(kernel: kernel, spec: spec, owner: CurrentUser.principal, interactive: false)
        let healthy = try await chat.run { readLine(strippingNewline: true) }
        await toolbox.shutdown()
        if !healthy { throw ExitCode(2) }
    }
}
