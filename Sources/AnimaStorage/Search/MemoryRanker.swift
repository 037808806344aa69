import Foundation

/// Why a search result is where it is: the signals that raised (or lowered) its score.
public struct RankingReasons: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// It holds the query's words (full-text list).
    public static let words = RankingReasons(rawValue: 1 << 0)
    /// It is close in meaning (vector list).
    public static let meaning = RankingReasons(rawValue: 1 << 1)
    /// It names a person, place or thing the query names.
    public static let entity = RankingReasons(rawValue: 1 << 2)
    /// It happened in the month (or year) the query names.
    public static let date = RankingReasons(rawValue: 1 << 3)
    /// The query asks for the current state ("now", "latest"), and it is among the newest candidates.
    public static let recent = RankingReasons(rawValue: 1 << 4)
    /// The agent's own unverified statement: ranked below what the user said. (Bit 5
    /// was a second retrieval through names, dropped: it brought no measurable recall.)
    public static let agentStatement = RankingReasons(rawValue: 1 << 6)

    /// Every reason with its name, in a fixed order.
    public static let all: [(reason: RankingReasons, name: String)] = [
        (.words, "words"), (.meaning, "meaning"), (.entity, "entity"), (.date, "date"), (.recent, "recent"),
        (.agentStatement, "agent-statement"),
    ]

    /// The reasons' names, for events and logs.
    public var names: [String] { Self.all.filter { contains($0.reason) }.map(\.name) }
}

/// What the ranker needs to know of an opened record beyond its scores.
struct RankingFacts: Sendable {
    /// The record's text (for names).
    var text: String
    /// The agent said it and nobody has confirmed it (an assistant message).
    var agentStatement: Bool
}

/// What a query asks beyond its words: the names it mentions, the month it names, whether
/// it wants the current state of something.
struct QueryCues: Sendable, Hashable {
    /// Search terms of the proper names in the query.
    var entities: Set<String>
    /// Search terms of the query (no function words).
    var words: Set<String>
    /// A month (1...12) the query names, and the year if it names one.
    var month: Int?
    var year: Int?
    /// A year alone ("in 2023").
    var yearOnly: Int?
    /// "now", "current", "latest", ...: the newest statement of a fact should win.
    var wantsRecent: Bool

    /// The moments the query's month or year covers (UTC), if it names one with a year.
    var dateRange: (start: Date, end: Date)? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        if let month, let year {
            guard let start = calendar.date(from: DateComponents(year: year, month: month, day: 1)),
                let end = calendar.date(byAdding: .month, value: 1, to: start)
            else { return nil }
            return (start, end)
        }
        if let yearOnly {
            guard let start = calendar.date(from: DateComponents(year: yearOnly, month: 1, day: 1)),
                let end = calendar.date(byAdding: .year, value: 1, to: start)
            else { return nil }
            return (start, end)
        }
        return nil
    }

    init(_ text: String) {
        entities = Set(MemoryRanker.names(in: text).flatMap(FullTextTerms.terms))
        let folded = FullTextTerms.terms(text)
        words = Set(folded)
        let lower = text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
        wantsRecent = lower.contains(where: MemoryRanker.recencyWords.contains)
        var month: Int?
        var year: Int?
        for (i, word) in lower.enumerated() {
            if let m = MemoryRanker.monthNames.firstIndex(where: { $0 == word || (word.count == 3 && $0.hasPrefix(word)) }) {
                let next = i + 1 < lower.count ? Int(lower[i + 1]) : nil
                // "may" is a month only beside a year ("May 2024"), not as a verb.
                if word == "may" && next == nil { continue }
                month = m + 1
                if let next, (1900...2200).contains(next) { year = next }
            } else if let value = Int(word), (1900...2200).contains(value), year == nil {
                year = value
            }
        }
        self.month = month
        self.year = month == nil ? nil : year
        yearOnly = month == nil ? year : nil
    }
}

/// Orders the candidates of a hybrid search by a handcrafted combination of signals:
/// cosine similarity plus a rank-decayed lexical score (score-aware, unlike reciprocal
/// rank fusion, so a weak vector list cannot push out a strong word match), names the
/// query shares, the month it names, recency only when it asks for the current state (a
/// general preference for new records lowered recall), and a
/// penalty for the agent's own unverified statements. Each weight was kept only because
/// it raised evidence recall on `anima-bench memory retrieval` (BENCHMARKS.md).
enum MemoryRanker {
    /// One record that either list found, opened.
    struct Candidate {
        var id: Int64
        var textRank: Int?
        var similarity: Float?
        var createdAt: Date
        var facts: RankingFacts
    }

    struct Scored {
        var id: Int64
        var score: Double
        var reasons: RankingReasons
    }

    static let similarityWeight = 1.0
    static let wordsWeight = 1.0
    /// The lexical score of rank r is wordsWeight / (wordsDecay + r).
    static let wordsDecay = 5.0
    static let agentPenalty = 0.5
    static let entityWeight = 0.3
    static let dateWeight = 0.5
    static let recencyCueWeight = 0.3

    static let recencyWords: Set<String> = ["now", "current", "currently", "latest", "still", "nowadays", "anymore", "recently"]
    static let monthNames = [
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
    ]

    static func score(_ candidates: [Candidate], cues: QueryCues) -> [Scored] {
        guard !candidates.isEmpty else { return [] }
        // A record only the word list found is as similar as the least similar the vector list kept.
        let floor = candidates.compactMap(\.similarity).min().map(Double.init) ?? 0
        let dates = candidates.map(\.createdAt.timeIntervalSince1970)
        let oldest = dates.min()!, span = dates.max()! - oldest
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let scored = candidates.map { candidate -> Scored in
            var reasons: RankingReasons = []
            var score = similarityWeight * (candidate.similarity.map(Double.init) ?? floor)
            if candidate.similarity != nil { reasons.insert(.meaning) }
            if let rank = candidate.textRank {
                score += wordsWeight / (wordsDecay + Double(rank))
                reasons.insert(.words)
            }
            if candidate.facts.agentStatement {
                score -= agentPenalty
                reasons.insert(.agentStatement)
            }
            if !cues.entities.isEmpty {
                let shared = cues.entities.intersection(FullTextTerms.terms(candidate.facts.text)).count
                if shared > 0 {
                    score += entityWeight * Double(shared) / Double(cues.entities.count)
                    reasons.insert(.entity)
                }
            }
            if cues.month != nil || cues.yearOnly != nil {
                let parts = calendar.dateComponents([.month, .year], from: candidate.createdAt)
                let matches =
                    if let month = cues.month { parts.month == month && (cues.year == nil || parts.year == cues.year) } else {
                        parts.year == cues.yearOnly
                    }
                if matches {
                    score += dateWeight
                    reasons.insert(.date)
                }
            }
            if cues.wantsRecent && span > 0 {
                let age = (candidate.createdAt.timeIntervalSince1970 - oldest) / span
                score += recencyCueWeight * age
                if age > 0.5 { reasons.insert(.recent) }
            }
            return Scored(id: candidate.id, score: score.isFinite ? score : -.infinity, reasons: reasons)
        }
        return scored.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id > $1.id }
    }

    /// Proper names in `text`: capitalised words that do not start a sentence (so "Went
    /// to see..." is not a name), with a title's period ("Dr.") not ending the sentence.
    static func names(in text: String) -> [String] {
        var names: [String] = []
        var sentenceStart = true
        var word = ""
        func flush(_ terminator: Character?) {
            defer { word = "" }
            guard !word.isEmpty else {
                if let terminator, ".!?\n".contains(terminator) { sentenceStart = true }
                return
            }
            if let first = word.first, first.isUppercase, !sentenceStart, !(word.count == 1) { names.append(word) }
            let isTitle = word.count <= 3 && word.first?.isUppercase == true
            sentenceStart = false
            if let terminator, ".!?\n".contains(terminator), !(terminator == "." && isTitle) { sentenceStart = true }
        }
        for character in text {
            if character.isLetter || character.isNumber || character == "-" {
                word.append(character)
            } else {
                flush(character)
            }
        }
        flush(nil)
        return names
    }
}
