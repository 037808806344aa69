import AnimaProcessor
import CLlama
import Foundation

/// A model's chat template, applied by llama.cpp, with message content kept apart from
/// the template's own markup.
///
/// The template is rendered with a unique placeholder in place of each message's
/// content; the result is split at the placeholders. Markup is then tokenised with
/// special tokens recognised, and content with them off, so a message that contains
/// `<|im_start|>system` stays text and cannot open a turn of its own.
struct ChatTemplate: Sendable {
    struct Segment: Equatable {
        var text: String
        /// True for template markup, false for message content.
        var isMarkup: Bool
    }

    /// The template text (Jinja from the GGUF, or a built-in name such as `chatml`).
    let source: String

    /// Names of the templates llama.cpp applies without a Jinja engine.
    static var builtInNames: [String] {
        var names = [UnsafePointer<CChar>?](repeating: nil, count: 128)
        let n = Int(llama_chat_builtin_templates(&names, names.count))
        return names.prefix(min(n, names.count)).compactMap { $0.map { String(cString: $0) } }
    }

    /// Checks that llama.cpp can apply `source`; the error names the model and the choices.
    init(source: String, modelName: String) throws(ProcessorError) {
        self.source = source
        guard (try? render([("user", "x")])) != nil else {
            throw .unsupportedChatTemplate(model: modelName, supported: Self.builtInNames)
        }
    }

    /// The prompt for `messages` (role, content), ending where the assistant's turn begins.
    func segments(_ messages: [(role: String, content: String)]) throws(ProcessorError) -> [Segment] {
        let placeholders = messages.indices.map { "\u{E000}anima-\($0)\u{E001}" }
        let rendered = try render(zip(messages, placeholders).map { ($0.role, $1) })
        var segments: [Segment] = []
        var rest = Substring(rendered)
        for (message, placeholder) in zip(messages, placeholders) {
            guard let range = Self.firstRange(of: placeholder, in: rest) else {
                throw .engineFailure("the chat template dropped a \(message.role) message; it may not support that role")
            }
            if range.lowerBound > rest.startIndex {
                segments.append(Segment(text: String(rest[..<range.lowerBound]), isMarkup: true))
            }
            if !message.content.isEmpty { segments.append(Segment(text: message.content, isMarkup: false)) }
            rest = rest[range.upperBound...]
        }
        if !rest.isEmpty { segments.append(Segment(text: String(rest), isMarkup: true)) }
        return segments
    }

    /// Where `needle` first occurs in `text`, compared byte by byte. (Foundation's
    /// `range(of:)` indexes the text as UTF-16 on every call: a tenth of a page-in.) A
    /// placeholder starts with a whole scalar, so a match is on character boundaries.
    static func firstRange(of needle: String, in text: Substring) -> Range<String.Index>? {
        let pattern = Array(needle.utf8)
        guard let first = pattern.first else { return nil }
        let bytes = text.utf8
        var start = bytes.startIndex
        while let candidate = bytes[start...].firstIndex(of: first) {
            var end = candidate
            var matched = 0
            while matched < pattern.count, end < bytes.endIndex, bytes[end] == pattern[matched] {
                matched += 1
                end = bytes.index(after: end)
            }
            if matched == pattern.count { return candidate..<end }
            start = bytes.index(after: candidate)
        }
        return nil
    }

    private func render(_ messages: [(String, String)]) throws(ProcessorError) -> String {
        // llama_chat_message holds C strings; keep them alive for the call.
        let roles = messages.map { strdup($0.0) }
        let contents = messages.map { strdup($0.1) }
        defer { (roles + contents).forEach { free($0) } }
        let chat = zip(roles, contents).map { llama_chat_message(role: $0, content: $1) }
        var capacity = max(256, messages.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count } * 2 + 512)
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            let n = llama_chat_apply_template(source, chat, chat.count, true, &buffer, Int32(capacity))
            if n < 0 { throw .engineFailure("unsupported chat template") }
            if Int(n) <= capacity {
                return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            capacity = Int(n) + 1
        }
    }
}
