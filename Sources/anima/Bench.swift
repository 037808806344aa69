import ArgumentParser

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure the processor.", subcommands: [BenchDecode.self, BenchAgents.self, BenchResume.self, BenchSyscalls.self, BenchMemory.self, BenchRouter.self])
}
