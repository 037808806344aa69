import AnimaKernel
import AnimaMemory
import AnimaProcessor
import AnimaServer
import AnimaTools

/// `anima mcp` and its scripted twin in anima-bench: one kernel on the given processor, with
/// the options' tools and the memory, served over standard input and output as the current user.
package enum MCPStdio {
    package static func serve(
        processor: any LanguageModel, memory: MemorySystem, kernelOptions: KernelOptions, memoryLocation: MemoryLocation
    ) async throws {
        let toolbox = try await kernelOptions.loadTools(packages: memoryLocation.directory)
        do {
            let kernel = Kernel(
                kernelOptions.configured(
                    try .standard(
                        processor: processor, tools: ToolAdapter.adapting(toolbox.tools), memory: memory,
                        dataDirectory: memoryLocation.directory.path)))
            try await MCPEndpoint(kernel: kernel).runStdio(as: CurrentUser.principal)
        } catch {
            await toolbox.shutdown()
            throw error
        }
        await toolbox.shutdown()
    }
}
