import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaTesting
import AnimaTools
import ArgumentParser
import Foundation

/// `anima-bench run --scripted --script FILE TASK`: one agent under the kernel that
/// `anima run` builds (its data directory's policy and audit log, `--tools` with MCP
/// servers, questions asked at the terminal), its model replaced by a script.
struct ScriptedRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one agent whose model follows a script (for tests of tools and confirmation).",
        discussion: """
            The script is a JSON array: item N is the reply after N tool results,
            {"call": NAME, "arguments": {...}} or {"answer": TEXT} ({last}: the last result).

            Example:
              anima-bench run --scripted --script steps.json --tools mail --mcp-config mcp.json "Mail Ada"
            """
    )

    @Flag(help: "Use the scripted model (required: the only model anima-bench runs).") var scripted = false
    @Option(help: "The script (a JSON file).") var script: String
    @Argument(help: "The task.") var task: String
    @OptionGroup var kernelOptions: KernelOptions
    @OptionGroup var memoryLocation: MemoryLocation

    func validate() throws {
        guard scripted else { throw ValidationError("anima-bench run runs only a scripted model: add --scripted") }
    }

    mutating func run() async throws {
        let steps = try ScriptedSteps(file: script)
        let toolbox = try await kernelOptions.loadTools()
        let processor = ScriptedProcessor(slots: 1, scheduler: kernelOptions.scheduler) { steps.reply($0) }
        processor.startStepping()
        let kernel = Kernel(
            kernelOptions.configured(
                try .standard(
                    processor: try ConfiguredProcessor.processor(scripted: processor), tools: ToolAdapter.adapting(toolbox.tools),
                    dataDirectory: memoryLocation.directory.path)))
        if let terminal = TerminalApprover.forControllingTerminal() { await terminal.answerFor(kernel) }
        let events = await kernel.events()
        let pid = try await kernel.spawn(
            AgentSpec(name: "scripted", task: task, tools: toolbox.tools.map(\.name), limits: .init(maxSteps: 16)),
            owner: CurrentUser.principal)
        let printer = Task {
            for await event in events {
                switch event {
                case .toolCall(let p, let call) where p == pid: Terminal.write("→ \(call.name) \(call.arguments.jsonText)\n")
                case .toolResult(let p, let output) where p == pid: Terminal.write("← \(output.text.prefix(300))\n")
                default: break
                }
            }
        }
        let status = try await kernel.wait(pid)
        try? await Task.sleep(for: .milliseconds(50))
        printer.cancel()
        if case .completed(let answer) = status { Terminal.write(answer + "\n") }
        Terminal.write("exited: \(status)\n")
        await toolbox.shutdown()
        if case .completed = status {} else { throw ExitCode(2) }
    }
}
