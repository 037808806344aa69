import ArgumentParser

/// The benchmarks and the scripted daemon for load tests, apart from `anima` so that no
/// test double ships in the product binary.
@main
struct AnimaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anima-bench",
        abstract: "Measure Anima: the processor, the kernel, memory, security, tools and the router.",
        discussion: """
            Every measurement in BENCHMARKS.md comes from one of these commands.
            `serve` and `mcp` run the daemon and the MCP server on a scripted echo
            model, for load tests.

            Examples:
              anima-bench decode --concurrency 1,4,8,16
              anima-bench syscalls --count 100000
              anima-bench serve --scripted --port 0
            """,
        version: "0.1.0",
        subcommands: [
            BenchDecode.self, BenchPrefill.self, BenchAgents.self, BenchResume.self, BenchSyscalls.self, BenchScripted.self, BenchMemory.self,
            BenchSecurity.self, BenchTools.self, BenchRouter.self, ScriptedServe.self, ScriptedMCP.self, ScriptedRun.self,
            ScriptedChat.self,
            BenchStore.self, BenchIntegrity.self, BenchWorkflows.self, BenchFunctionCalling.self,
            BenchVoice.self,
            BenchWeb.self,
            BenchBuild.self,
            BenchSpeculative.self,
            BenchTune.self,
        ])
}
