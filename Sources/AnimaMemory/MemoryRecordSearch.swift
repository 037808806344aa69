import AnimaStorage
import Foundation

/// One store's search, as `MemorySystem.search` merges them: recall and archival alike.
protocol MemoryRecordSearch: Sendable {
    func records(_ query: MemoryQuery, agent: String) async throws -> (records: [MemoryRecord], damaged: Int, hasMore: Bool)
}

extension RecallStore: MemoryRecordSearch {
    func records(_ query: MemoryQuery, agent: String) async throws -> (records: [MemoryRecord], damaged: Int, hasMore: Bool) {
        let page = try await search(query)
        let records = page.hits.map { hit in
            MemoryRecord(
                agent: agent, kind: .message, id: hit.item.id, text: hit.item.message.content, label: hit.item.message.role.rawValue,
                createdAt: hit.item.createdAt, happenedAt: hit.item.happenedAt, source: hit.item.source, trust: hit.item.trust,
                score: hit.score, textRank: hit.textRank, vectorRank: hit.vectorRank)
        }
        return (records, page.damaged, page.hasMore)
    }
}

extension ArchivalStore: MemoryRecordSearch {
    func records(_ query: MemoryQuery, agent: String) async throws -> (records: [MemoryRecord], damaged: Int, hasMore: Bool) {
        let page = try await search(query)
        let records = page.hits.map { hit in
            MemoryRecord(
                agent: agent, kind: .passage, id: hit.item.id, text: hit.item.text, label: hit.item.tags.joined(separator: ","),
                tags: hit.item.tags, createdAt: hit.item.createdAt, happenedAt: hit.item.happenedAt, source: hit.item.source,
                trust: hit.item.trust, score: hit.score, textRank: hit.textRank, vectorRank: hit.vectorRank)
        }
        return (records, page.damaged, page.hasMore)
    }
}
