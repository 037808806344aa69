import AnimaCore
import Foundation

/// A message resident in the context window, with what the pager needs to decide what
/// to evict. Its full text is always in recall storage under `recallID`.
public struct ResidentMessage: Sendable, Hashable, Codable {
    public var recallID: Int64
    public var message: ChatMessage
    /// Pinned messages are never evicted.
    public var pinned: Bool
    /// Lower priorities are evicted first under `EvictionPolicy.lowestPriorityFirst`.
    public var priority: Int
    /// Logical time of last use, for `EvictionPolicy.leastRecentlyUsed`.
    public var lastUsed: UInt64
    /// Its share of the prompt, in tokens.
    public var tokens: Int
    /// True when only the start of a very long message fits; the whole is in recall.
    public var truncated: Bool
}

/// Something paged in from storage for one generation.
public struct MemoryPage: Sendable, Hashable {
    public enum Source: String, Sendable, Hashable {
        case conversation
        case archival
    }

    public var source: Source
    public var id: Int64
    public var text: String
    /// When it happened (the date the prompt shows).
    public var createdAt: Date
    /// The role of a conversation message, or the tags of an archival passage.
    public var label: String
    /// Fused rank score (higher is more relevant).
    public var score: Double
    public var tokens: Int

    /// How the page reads in the prompt.
    var line: String {
        let day = Self.day(createdAt)
        switch source {
        case .conversation: return "- [conversation #\(id), \(day), \(label)] \(text)"
        case .archival: return "- [archival #\(id), \(day)\(label.isEmpty ? "" : ", tags: \(label)")] \(text)"
        }
    }

    /// The UTC day, as 2025-03-14. (Through `gmtime_r`: creating an ISO8601DateFormatter
    /// took a tenth of the time of a whole page-in.)
    static func day(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "unknown date" }
        func padded(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))"
    }
}

/// The context window of one agent: RAM, laid out as
///
/// 1. the fixed system prefix (never changed by memory, so its KV cache stays valid);
/// 2. a memory message: the core memory blocks and the recursive summary;
/// 3. the resident message queue, with this turn's pages from storage placed just
///    before the newest user message (so the queue's cached prefix survives the turn).
///
/// A value: the `Pager` owns one per agent and changes it; anyone may read a copy.
public struct ContextWindow: Sendable, Hashable {
    public let systemPrefix: String
    public internal(set) var blocks: [CoreMemoryBlock]
    /// The recursive summary of everything evicted so far.
    public internal(set) var summary: String
    public internal(set) var messages: [ResidentMessage]

    init(systemPrefix: String, blocks: [CoreMemoryBlock], summary: String = "", messages: [ResidentMessage] = []) {
        self.systemPrefix = systemPrefix
        self.blocks = blocks
        self.summary = summary
        self.messages = messages
    }

    /// The memory message: blocks and summary, between markers the model is told about.
    var memoryText: String {
        var text = "<memory>\nCore memory (change it only with core_memory_append and core_memory_replace):\n"
        for block in blocks {
            text += "<\(block.label) description=\"\(block.description)\" limit=\"\(block.limit) tokens\">\n"
            text += block.value.isEmpty ? "(empty)\n" : block.value + "\n"
            text += "</\(block.label)>\n"
        }
        text += "Summary of earlier conversation (details: conversation_search):\n"
        text += summary.isEmpty ? "(nothing yet)\n" : summary + "\n"
        text += "</memory>"
        return text
    }

    /// How the system message of a turn's pages from storage begins.
    public static let pagesHeader = "Recalled from memory for this turn (stored earlier; may or may not be relevant):\n"

    static func pagesText(_ pages: [MemoryPage]) -> String {
        pagesHeader + pages.map(\.line).joined(separator: "\n")
    }

    /// The prompt's messages. `note` is a system notice (memory pressure) for this turn.
    func render(pages: [MemoryPage], note: String? = nil) -> [ChatMessage] {
        var out: [ChatMessage] = [.system(systemPrefix), .system(memoryText)]
        var queue = messages.map(\.message)
        var inserts: [ChatMessage] = []
        if !pages.isEmpty { inserts.append(.system(Self.pagesText(pages))) }
        if let note { inserts.append(.system(note)) }
        if !inserts.isEmpty {
            let at = queue.lastIndex(where: { $0.role == .user }) ?? queue.endIndex
            queue.insert(contentsOf: inserts, at: at)
        }
        out += queue
        return out
    }
}
