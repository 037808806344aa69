import ArgumentParser

@main
struct Anima: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anima",
        abstract: "An operating system whose processor is a language model.",
        discussion: """
            Anima runs a local model with llama.cpp. Without --model it uses the embedded
            default, SmolLM2-135M-Instruct, installed by `make setup`.

            Examples:
              anima ask "What is the capital of France?"
              anima ask --json --schema '{"type":"object","properties":{"city":{"type":"string"}}}' "Name a city"
              anima chat --system "You are terse."
              anima run "Plan a picnic" "Name three rivers"
              anima ps
              anima models
              anima setup --mode hybrid --provider openai --model gpt-4o-mini
            """,
        version: "0.1.0",
        subcommands: [
            Ask.self, Chat.self, Run.self, Ps.self, Top.self, Kill.self, Serve.self, Token.self, MCPCommand.self, MemoryCommand.self,
            ToolsCommand.self, ToolCommand.self, Models.self, Setup.self, Audit.self, Users.self, Groups.self, Grant.self,
            Revoke.self, Scan.self,
            StoreCommand.self,
            WorkflowCommand.self,
            Voice.self,
            WebCommand.self,
            Do.self, TasksCommand.self, SkillsCommand.self,
        ]
    )
}
