import AnimaCommandSupport
import AnimaKernel
import AnimaProcessor
import AnimaServer
import AnimaTesting
import AnimaTools
import ArgumentParser

/// `anima-bench mcp --scripted`: `anima mcp` over standard input and output on a scripted
/// echo model, for tests of MCP clients without a model.
struct ScriptedMCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve Anima as an MCP server over standard input and output, on a scripted echo model.",
        discussion: """
            The same tools as `anima mcp`; agents answer "You said: " and the task.

            Example:
              anima-bench mcp --scripted --tools calculator
            """
    )

    @Flag(help: "Use the scripted echo model (required: the only model anima-bench serves).") var scripted = false
    @Option(help: "Agents follow this script instead of echoing (see anima-bench run --help).") var script: String?
    @OptionGroup var kernelOptions: KernelOptions
    @OptionGroup var memoryLocation: MemoryLocation

    func validate() throws {
        guard scripted else {
            throw ValidationError("anima-bench mcp serves only the scripted echo model: add --scripted (for a real model, run anima mcp)")
        }
    }

    mutating func run() async throws {
        let memory = try await memoryLocation.open(embeddings: false)
        let steps = try script.map { try ScriptedSteps(file: $0) }
        let echo = ScriptedProcessor(slots: kernelOptions.slots, scheduler: kernelOptions.scheduler) { request in
            steps?.reply(request) ?? .text("You said: " + (request.messages.last?.content ?? ""))
        }
        echo.startStepping()
        try await MCPStdio.serve(
            processor: try ConfiguredProcessor.processor(scripted: echo), memory: memory, kernelOptions: kernelOptions,
            memoryLocation: memoryLocation)
    }
}
