import AnimaStorage
import Foundation

/// One page-in decision of a pager: which records it considered for a generation, which
/// it brought into the context, and why. Holds ids, scores and reasons, never text, so it
/// can be shown and counted anywhere.
public struct PageInEvent: Sendable, Hashable, Codable {
    /// What happened to one candidate.
    public enum Outcome: String, Sendable, Hashable, Codable {
        /// Brought into the context.
        case paged
        /// Relevant, but the page budget was spent.
        case overBudget = "over-budget"
        /// Found only by meaning, and less similar than `PagerConfiguration.minimumSimilarity`.
        case notRelevant = "not-relevant"
    }

    /// One candidate record.
    public struct Decision: Sendable, Hashable, Codable {
        /// "conversation" or "archival".
        public var source: String
        public var id: Int64
        public var score: Double
        /// The ranker's reasons (`RankingReasons.names`).
        public var reasons: [String]
        public var outcome: Outcome
        /// Tokens it took in the context (0 unless paged).
        public var tokens: Int
    }

    public var at: Date
    /// Candidates in ranked order, with what became of each.
    public var decisions: [Decision]

    public var paged: [Decision] { decisions.filter { $0.outcome == .paged } }
}
