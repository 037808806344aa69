import AnimaCore
import AnimaProcessor

/// Writes the recursive summary: the old summary plus the messages just evicted become a
/// new summary, by one language-model call per chunk of messages that fits the model.
///
/// The result never exceeds `budget` tokens of the counting model: if the summariser
/// writes more, the summary is cut at a word boundary until it fits.
struct Summariser: Sendable {
    let model: any LanguageModel
    /// The model whose tokenizer the budget is measured in (the agent's processor).
    let counter: any LanguageModel
    let budget: Int

    func fold(summary: String, evicted: [ChatMessage]) async throws -> String {
        guard !evicted.isEmpty else { return summary }
        let request = self.request(summary: summary, evicted: evicted)
        let room = model.info.contextLength - budget - 8
        if evicted.count > 1, try await model.countTokens(request) > room {
            // Too much for one call: fold the older half first, then the newer half.
            let half = evicted.count / 2
            let first = try await fold(summary: summary, evicted: Array(evicted[..<half]))
            return try await fold(summary: first, evicted: Array(evicted[half...]))
        }
        var request1 = request
        if evicted.count == 1, try await model.countTokens(request) > room {
            // One message longer than the summariser's context: summarise its start.
            var message = evicted[0]
            message.content = String(message.content.prefix(max(64, room * 2)))
            request1 = self.request(summary: summary, evicted: [message])
        }
        let result = try await model.generate(request1).collect()
        let text = result.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw MemoryError.summariserFailed("it returned an empty summary") }
        return try await fit(text)
    }

    /// Cuts `text` at word boundaries until the counting model says it fits the budget.
    func fit(_ text: String) async throws -> String {
        var text = text
        var tokens = try await counter.countTokens(text: text)
        while tokens > budget {
            var words = text.split(separator: " ", omittingEmptySubsequences: false)
            // Drop roughly the excess share of words at once, at least one.
            let drop = max(1, Int(Double(words.count) * Double(tokens - budget) / Double(tokens)))
            words.removeLast(min(drop, words.count))
            text = words.joined(separator: " ")
            if text.isEmpty { return "" }
            tokens = try await counter.countTokens(text: text)
        }
        return text
    }

    private func request(summary: String, evicted: [ChatMessage]) -> GenerationRequest {
        let transcript = evicted.map { message -> String in
            var line = "\(message.role.rawValue): \(message.content)"
            for call in message.toolCalls { line += " [called \(call.name)(\(call.arguments.jsonText))]" }
            return line
        }.joined(separator: "\n")
        let words = max(8, budget * 3 / 4)
        return GenerationRequest(
            messages: [
                .system(
                    "You maintain the running summary of a conversation whose older messages no longer fit in memory. "
                        + "Merge the summary so far with the messages below into one new summary of at most \(words) words. "
                        + "Keep names, numbers, dates, decisions, preferences and open tasks; drop small talk. "
                        + "Write only the summary."),
                .user("Summary so far:\n\(summary.isEmpty ? "(none)" : summary)\n\nMessages leaving memory:\n\(transcript)"),
            ],
            sampling: .greedy(maxTokens: budget))
    }
}
