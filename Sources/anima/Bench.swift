import ArgumentParser

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the processor.",
        subcommands: [
            BenchDecode.self, BenchAgents.self, BenchResume.self, BenchSyscalls.self, BenchScripted.self, BenchMemory.self,
            BenchSecurity.self, BenchTools.self, BenchRouter.self,
        ])
}
