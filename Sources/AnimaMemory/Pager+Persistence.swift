import AnimaCore
import AnimaProcessor
import AnimaStorage
import Foundation

/// Persistence: the pager's window saved with every message and restored on open.
extension Pager {
    /// What changes on every message, saved in one write.
    struct SavedState: Codable {
        var summary: String
        var messages: [ResidentMessage]
        var clock: UInt64
        /// Page-in events as they were kept before they had their own value (read only:
        /// a pager that dies between a page-in and its next message lost them).
        var pageIns: [PageInEvent]?
    }

    /// Where page-in events are kept: their own sealed value, written with every page-in.
    static let pageInsName = "page-ins"

    func save() async throws {
        try await core.setValue(SavedState(summary: window.summary, messages: window.messages, clock: clock), for: "context")
    }

    /// Writes the page-in events (after any write still under way), unless none are kept.
    func persistPageIns() -> Task<Void, any Error>? {
        guard configuration.pageInHistory > 0 else { return nil }
        let previous = pageInsWrite
        let events = pageInEvents
        let core = core
        let write = Task {
            // A failed earlier write is superseded: this one holds the whole list.
            _ = try? await previous?.value
            try await core.setValue(events, for: Self.pageInsName)
        }
        pageInsWrite = write
        return write
    }

    /// What an agent that is not running keeps in its window: summary and resident messages.
    static func savedWindow(in core: CoreMemoryStore) async throws -> (summary: String, messages: [ResidentMessage]) {
        let state = try await core.value("context", as: SavedState.self)
        return (state?.summary ?? "", state?.messages ?? [])
    }

    /// The newest page-in events an agent kept, oldest first (those of a store written
    /// before events had their own value, from its saved window).
    static func savedPageIns(in core: CoreMemoryStore) async throws -> [PageInEvent] {
        if let events = try await core.value(pageInsName, as: [PageInEvent].self) { return events }
        return try await core.value("context", as: SavedState.self)?.pageIns ?? []
    }

    /// Removes erased messages from the saved window of an agent that is not running,
    /// so that no copy of their text stays behind in its core memory record.
    static func dropResident(_ ids: Set<Int64>, in core: CoreMemoryStore) async throws {
        guard var state = try await core.value("context", as: SavedState.self) else { return }
        let before = state.messages.count
        state.messages.removeAll { ids.contains($0.recallID) }
        if state.messages.count != before { try await core.setValue(state, for: "context") }
    }

    func restore() async throws {
        if let blocks = try await core.value("blocks", as: [CoreMemoryBlock].self) {
            window.blocks = blocks
        } else {
            try await core.setValue(window.blocks, for: "blocks")
        }
        let state = try await core.value("context", as: SavedState.self)
        if let state {
            window.summary = state.summary
            window.messages = state.messages
            clock = state.clock
        }
        if let events = try await core.value(Self.pageInsName, as: [PageInEvent].self) {
            pageInEvents = Array(events.suffix(configuration.pageInHistory))
        } else if let old = state?.pageIns, !old.isEmpty {
            // Kept in the window by an older version: moved to their own value now, since
            // the next save of the window leaves them out.
            pageInEvents = Array(old.suffix(configuration.pageInHistory))
            try await persistPageIns()?.value
        }
    }
}
