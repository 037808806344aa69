import AnimaCore
import AnimaProcessor
import AnimaStorage
import Foundation

/// Eviction: what leaves the context window when resident memory is over its limit,
/// in the order the policy says, folded into the recursive summary.
extension Pager {
    /// Evicts until resident memory is at most the eviction target, if it is over the
    /// limit; returns the evicted recall ids.
    func enforceLimit() async throws -> [Int64] {
        var total = try await residentTokens()
        guard total > residentLimit else { return [] }
        // The target is a share of the room for messages, not of the whole: prefix, tools
        // and blocks cannot be evicted.
        let fixed = try await fixedTokens()
        let target = fixed + Int(Double(max(0, residentLimit - fixed)) * configuration.evictionTarget)
        var evictedIDs: [Int64] = []
        while total > residentLimit {
            let units = evictionOrder()
            var chosen = Set<Int>()
            var projected = total
            for unit in units where projected > target {
                for index in unit { chosen.insert(index) }
                projected -= unit.reduce(0) { $0 + window.messages[$1].tokens }
            }
            guard !chosen.isEmpty else {
                throw MemoryError.doesNotFit(
                    "resident memory takes \(total) tokens of \(residentLimit), and what remains is pinned or among the "
                        + "\(configuration.keepRecent) newest messages; unpin messages, lower keepRecent, or use a larger context")
            }
            let evicted = window.messages.indices.filter(chosen.contains).map { window.messages[$0] }
            window.messages = window.messages.indices.filter { !chosen.contains($0) }.map { window.messages[$0] }
            evictedIDs += evicted.map(\.recallID)
            counters?.countOut(evicted.count)
            window.summary = await newSummary(evicted)
            total = try await residentTokens()
        }
        return evictedIDs
    }

    /// The summary after `evicted` leave the window. If the summariser fails, the old
    /// summary says where the messages went: they are in recall storage either way.
    func newSummary(_ evicted: [ResidentMessage]) async -> String {
        do {
            return try await summariser.fold(summary: window.summary, evicted: evicted.map(\.message))
        } catch {
            let ids = evicted.map(\.recallID)
            let note =
                "(Messages #\(ids.min()!)–#\(ids.max()!) left memory unsummarised: \(error). "
                + "They are in recall storage; use conversation_search.)"
            let combined = window.summary.isEmpty ? note : window.summary + "\n" + note
            return (try? await summariser.fit(combined)) ?? window.summary
        }
    }

    /// Evictable units (an assistant's tool calls travel with their results), in the
    /// order the policy evicts them.
    func evictionOrder() -> [[Int]] {
        let messages = window.messages
        let protectedFrom = max(0, messages.count - configuration.keepRecent)
        var units: [[Int]] = []
        var i = 0
        while i < protectedFrom {
            var unit = [i]
            if !messages[i].message.toolCalls.isEmpty {
                var j = i + 1
                while j < messages.count, messages[j].message.role == .tool {
                    unit.append(j)
                    j += 1
                }
            }
            i = unit.last! + 1
            if unit.last! >= protectedFrom || unit.contains(where: { messages[$0].pinned }) { continue }
            // A tool result whose call was already evicted is evicted on its own.
            units.append(unit)
        }
        func key(_ unit: [Int]) -> (Int, UInt64, Int) {
            let first = unit[0]
            switch configuration.policy {
            case .oldestFirst: return (0, 0, first)
            case .leastRecentlyUsed: return (0, unit.map { messages[$0].lastUsed }.max()!, first)
            case .lowestPriorityFirst: return (unit.map { messages[$0].priority }.max()!, 0, first)
            }
        }
        return units.sorted { key($0) < key($1) }
    }
}
