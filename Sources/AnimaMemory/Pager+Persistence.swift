import AnimaCore
import AnimaProcessor
import AnimaStorage
import Foundation

/// Persistence: the pager's window saved with every message and restored on open.
extension Pager {
    /// What changes on every message, saved in one write. Page-in events ride along with
    /// the next message rather than costing a write of their own per generation.
    struct SavedState: Codable {
        var summary: String
        var messages: [ResidentMessage]
        var clock: UInt64
        var pageIns: [PageInEvent]?
    }

    func save() async throws {
        try await core.setValue(
            SavedState(summary: window.summary, messages: window.messages, clock: clock, pageIns: pageInEvents), for: "context")
    }

    /// What an agent that is not running keeps in its window: summary and resident messages.
    static func savedWindow(in core: CoreMemoryStore) async throws -> (
        summary: String, messages: [ResidentMessage], pageIns: [PageInEvent]
    ) {
        let state = try await core.value("context", as: SavedState.self)
        return (state?.summary ?? "", state?.messages ?? [], state?.pageIns ?? [])
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
        if let state = try await core.value("context", as: SavedState.self) {
            window.summary = state.summary
            window.messages = state.messages
            clock = state.clock
            pageInEvents = state.pageIns ?? []
        }
    }
}
