/// The way a model family writes tool calls, read from its GGUF chat template.
///
/// Each family is tuned on its own shape, and a model writes a call most reliably in the
/// shape it was trained on. The local engine offers tools, shows earlier calls and builds
/// its grammar in this shape; the kernel chooses each agent's tool strategy by it
/// (`ModelInfo.toolCallSyntax`). Remote providers speak their own API and have none.
public enum ToolCallSyntax: String, Sendable, Hashable, CaseIterable {
    /// Qwen, Hermes and other ChatML models: `<tool_call>{"name": …, "arguments": …}</tool_call>`.
    case hermes
    /// Llama 3.x: a bare `{"name": …, "parameters": …}` (after `<|python_tag|>` when the model writes one).
    case llama3
    /// Mistral: `[TOOL_CALLS]` and a JSON array of `{"name": …, "arguments": …}`.
    case mistral
    /// SmolLM2: `<tool_call>[{"name": …, "arguments": …}]</tool_call>`, a list inside the tags.
    case smolLM2 = "smollm2"
    /// Templates that say nothing about tools: a bare `{"name": …, "arguments": …}`.
    case bareJSON = "bare-json"

    /// The family a chat template (Jinja text or a llama.cpp built-in name) belongs to.
    public init(template: String) {
        if template.contains("[TOOL_CALLS]") || template == "mistral-v7" {
            self = .mistral
        } else if template.contains("<|python_tag|>") || template.contains("<|start_header_id|>") || template == "llama3" {
            self = .llama3
        } else if template.contains("<tool_call>") {
            self = .hermes
        } else if template.contains("SmolLM") {
            self = .smolLM2
        } else if template.contains("<|im_start|>") || template == "chatml" {
            self = .hermes
        } else {
            self = .bareJSON
        }
    }
}
