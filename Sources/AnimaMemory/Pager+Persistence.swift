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

    func save() async throws {
        try await core.setValue(SavedState(summary: window.summary, messages: window.messages, clock: clock), for: "context")
    }

    /// Where page-in events were kept before each had its own slot: one sealed list.
    static let pageInsName = "page-ins"
    /// Where page-in events are kept: one sealed value per slot of the kept history
    /// (`page-in.0` …), so a page-in writes its own event, not the whole history again.
    static let pageInSlotPrefix = "page-in."

    /// Writes the newest page-in event to its slot (after any write still under way),
    /// unless none are kept.
    func persistPageIns() -> Task<Void, any Error>? {
        guard configuration.pageInHistory > 0, let event = pageInEvents.last else { return nil }
        let previous = pageInsWrite
        let name = Self.pageInSlotPrefix + String(nextPageInSlot)
        nextPageInSlot = (nextPageInSlot + 1) % configuration.pageInHistory
        let core = core
        let write = Task {
            _ = try? await previous?.value
            try await core.setValue(event, for: name)
        }
        pageInsWrite = write
        return write
    }

    /// The page-in events in their slots, oldest first, with each one's slot.
    static func slottedPageIns(in core: CoreMemoryStore) async throws -> [(slot: Int, event: PageInEvent)] {
        var slotted: [(slot: Int, event: PageInEvent)] = []
        for name in try await core.names() where name.hasPrefix(pageInSlotPrefix) {
            guard let slot = Int(name.dropFirst(pageInSlotPrefix.count)),
                let event = try await core.value(name, as: PageInEvent.self)
            else { continue }
            slotted.append((slot, event))
        }
        return slotted.sorted { $0.event.at < $1.event.at }
    }

    /// What an agent that is not running keeps in its window: summary and resident messages.
    static func savedWindow(in core: CoreMemoryStore) async throws -> (summary: String, messages: [ResidentMessage]) {
        let state = try await core.value("context", as: SavedState.self)
        return (state?.summary ?? "", state?.messages ?? [])
    }

    /// The newest page-in events an agent kept, oldest first (those of a store written
    /// before events had their own value, from its saved window).
    static func savedPageIns(in core: CoreMemoryStore) async throws -> [PageInEvent] {
        let slotted = try await slottedPageIns(in: core)
        if !slotted.isEmpty { return slotted.map(\.event) }
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
        let kept = configuration.pageInHistory
        let slotted = try await Self.slottedPageIns(in: core)
        if !slotted.isEmpty {
            guard slotted.count > kept || slotted.contains(where: { $0.slot >= kept }) else {
                pageInEvents = slotted.map(\.event)
                let used = Set(slotted.map(\.slot))
                nextPageInSlot = (0..<kept).first { !used.contains($0) } ?? slotted[0].slot
                return
            }
            // The history was made shorter: the newest events are written again into its slots.
            for (slot, _) in slotted { try await core.removeValue(Self.pageInSlotPrefix + String(slot)) }
            pageInEvents = []
            nextPageInSlot = 0
            for (_, event) in slotted.suffix(kept) {
                pageInEvents.append(event)
                try await persistPageIns()?.value
            }
            return
        }
        // Kept by an older version as one list (in its own value, or in the saved window):
        // moved into slots now, and the list removed.
        let legacy = try await core.value(Self.pageInsName, as: [PageInEvent].self) ?? state?.pageIns ?? []
        guard kept > 0, !legacy.isEmpty else { return }
        pageInEvents = []
        for event in legacy.suffix(kept) {
            pageInEvents.append(event)
            try await persistPageIns()?.value
        }
        try await core.removeValue(Self.pageInsName)
    }
}
