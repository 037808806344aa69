import AnimaKernel
import AnimaLlama

/// The agents' tool strategy for each model family, as measured with `anima-bench fc`
/// (BENCHMARKS.md, "Function calling"): the one with the best accuracy on the family's
/// models, with no malformed calls.
package enum ToolStrategyChoice {
    package static func measured(for syntax: ToolCallSyntax) -> AgentLoop.ToolStrategy {
        switch syntax {
        // Qwen2.5-Coder-0.5B: decide-first was slower and less accurate than the grammar.
        case .hermes: .grammar
        case .smolLM2, .llama3, .mistral, .bareJSON: .grammar
        }
    }
}
