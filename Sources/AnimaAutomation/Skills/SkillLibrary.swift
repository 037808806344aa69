import AnimaCore
import AnimaProcessor
import Foundation
import GRDB

/// The verified skills of every user: one SQLite database (`skills.sqlite`) in the data
/// directory, owner-only, and retrieval by meaning.
///
/// Retrieval ranks a user's skills by the similarity of the query with each skill's
/// description (`Scoring`): with an embedder (the memory layer's), the mean of the cosines
/// of their embeddings and of their TF-IDF word vectors; without one, words alone.
/// Demoted skills are not offered.
public actor SkillLibrary {
    public typealias Embed = @Sendable (String) async throws -> [Float]

    /// How a query is matched with a skill's description.
    public enum Scoring: String, Sendable, CaseIterable {
        /// The cosine of their TF-IDF word vectors (what works without an embedder).
        case words
        /// The cosine of their embeddings.
        case meaning
        /// The mean of the two.
        case hybrid

        /// The least score at which a skill is offered by default. Read off the build suite
        /// (`anima-bench build --retrieval`, BENCHMARKS.md): the threshold at which about
        /// nine in ten skills shown are of the task's own kind.
        public var threshold: Double {
            switch self {
            case .words: 0.4
            case .meaning: 0.6
            case .hybrid: 0.45
            }
        }
    }

    let queue: DatabaseQueue
    public nonisolated let path: String
    let embed: Embed?
    /// `.hybrid` when an embedder is given, else `.words`.
    public nonisolated let scoring: Scoring
    /// Skills offered from outside the database (the store's skill packages, verified by the
    /// caller): every user's to retrieve, never demoted, never changed; their embeddings when
    /// an embedder is given.
    var offered: [(Skill, [Float]?)] = []

    /// Opens (creating if needed) `skills.sqlite` in `directory`; `path` ":memory:" for tests.
    public init(directory: URL, scoring: Scoring? = nil, embed: Embed? = nil) throws(TaskError) {
        self.embed = embed
        self.scoring = embed == nil ? .words : scoring ?? .hybrid
        (queue, path) = try TaskDatabase.open(
            "skills.sqlite", in: directory,
            schema: """
                        CREATE TABLE skill (
                            id TEXT PRIMARY KEY, owner TEXT NOT NULL, description TEXT NOT NULL, module TEXT NOT NULL,
                            code TEXT NOT NULL, tests TEXT NOT NULL, provenance TEXT NOT NULL, created REAL NOT NULL,
                            successes INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, embedding BLOB);
                        CREATE INDEX skill_owner ON skill(owner, created);
                """)
    }

    /// Retrieval by `embedder`'s vectors as well as by words (`.hybrid`); by words alone
    /// without one.
    public init(directory: URL, embedder: (any EmbeddingModel)?) throws(TaskError) {
        var embed: Embed?
        if let embedder { embed = { text in try await embedder.embed([text])[0] } }
        try self.init(directory: directory, embed: embed)
    }

    /// Keeps a verified solution; returns the stored skill.
    @discardableResult
    public func add(
        owner: String, description: String, module: String, code: String, tests: [String: String], provenance: String
    ) async throws -> Skill {
        let skill = Skill(
            id: "s-" + Hex.randomID().prefix(12), owner: owner, description: description, module: module, code: code, tests: tests,
            provenance: provenance)
        let vector = try await embed?(description)
        let testsText = JSONValue.object(JSONObject(tests.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })).jsonText
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO skill (id, owner, description, module, code, tests, provenance, created, embedding)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    skill.id, owner, description, module, code, testsText, provenance, skill.created.timeIntervalSince1970,
                    vector.map(Self.blob),
                ])
        }
        return skill
    }

    /// The owner's skills, newest first.
    public func list(owner: String) throws(TaskError) -> [Skill] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM skill WHERE owner = ? ORDER BY created DESC, id", arguments: [owner]).map(Self.skill)
        }
    }

    public func skill(_ id: String, owner: String) throws(TaskError) -> Skill {
        let found = try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM skill WHERE id = ? AND owner = ?", arguments: [id, owner]).map(Self.skill)
        }
        guard let found else { throw .notFound("skill \(id)") }
        return found
    }

    /// Deletes a skill for good.
    public func forget(_ id: String, owner: String) throws(TaskError) {
        let changed = try write { db in
            try db.execute(sql: "DELETE FROM skill WHERE id = ? AND owner = ?", arguments: [id, owner])
            return db.changesCount
        }
        guard changed > 0 else { throw .notFound("skill \(id)") }
    }

    /// Counts a later use: a skill that then fails more often than it helps is demoted.
    public func recordUse(_ id: String, passed: Bool) throws(TaskError) {
        try write { db in
            try db.execute(
                sql: passed
                    ? "UPDATE skill SET successes = successes + 1 WHERE id = ?" : "UPDATE skill SET failures = failures + 1 WHERE id = ?",
                arguments: [id])
        }
    }

    /// Offers `skills` (from installed skill packages) to every retrieval after this one,
    /// replacing what was offered before.
    public func offer(_ skills: [Skill]) async throws {
        var all: [(Skill, [Float]?)] = []
        for skill in skills { all.append((skill, try await embed?(skill.description))) }
        offered = all
    }

    /// The skills offered from packages (see `offer`).
    public func offeredSkills() -> [Skill] { offered.map(\.0) }

    /// The owner's skills and those offered from packages most similar in meaning to
    /// `query`, best first; demoted ones and those below `minimumScore` (default: the
    /// scoring's `threshold`) are left out.
    ///
    /// By default only the one closest skill is offered, and only when it is close: on the
    /// build suite a small model shown a skill of another kind of task did worse than shown
    /// none.
    public func retrieve(_ query: String, owner: String, limit: Int = 1, minimumScore: Double? = nil) async throws -> [(Skill, Double)] {
        let rows =
            try read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM skill WHERE owner = ? AND failures <= successes", arguments: [owner]).map {
                    (Self.skill($0), ($0["embedding"] as Data?).map(Self.vector))
                }
            } + offered
        guard !rows.isEmpty else { return [] }
        let vectors = TFIDF(documents: rows.map(\.0.description))
        let q = vectors.vector(query)
        var scores = rows.indices.map { TFIDF.cosine(q, vectors.vectors[$0]) }
        // Skills kept before an embedder was configured have no embedding: words for all then.
        if scoring != .words, let embed, rows.allSatisfy({ $0.1 != nil }) {
            let q = try await embed(query)
            let meaning = rows.map { Self.cosine(q, $0.1!) }
            scores = scoring == .meaning ? meaning : zip(meaning, scores).map { ($0 + $1) / 2 }
        }
        let scored = zip(rows.map(\.0), scores).map { ($0, $1) }
        let least = minimumScore ?? scoring.threshold
        return Array(scored.filter { $0.1 >= least }.sorted { $0.1 > $1.1 }.prefix(max(0, limit)))
    }

    /// The owner's skills as one JSON document (`anima skills export`).
    public func export(owner: String) throws(TaskError) -> JSONValue {
        .array(
            try list(owner: owner).map { skill in
                [
                    "id": .string(skill.id), "description": .string(skill.description), "module": .string(skill.module),
                    "code": .string(skill.code),
                    "tests": .object(JSONObject(skill.tests.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })),
                    "provenance": .string(skill.provenance), "owner": .string(skill.owner),
                    "created": .string(ISO8601DateFormatter().string(from: skill.created)),
                    "successes": .number(Double(skill.successes)), "failures": .number(Double(skill.failures)),
                ]
            })
    }

    static func skill(_ row: Row) -> Skill {
        let testsJSON = (try? JSONValue(parsing: row["tests"] as String? ?? "{}"))?.objectValue
        var tests: [String: String] = [:]
        for (key, value) in testsJSON ?? JSONObject() { tests[key] = value.stringValue ?? "" }
        return Skill(
            id: row["id"], owner: row["owner"], description: row["description"], module: row["module"], code: row["code"], tests: tests,
            provenance: row["provenance"], created: Date(timeIntervalSince1970: row["created"]), successes: row["successes"],
            failures: row["failures"])
    }

    static func blob(_ vector: [Float]) -> Data { vector.withUnsafeBufferPointer { Data(buffer: $0) } }
    static func vector(_ data: Data) -> [Float] {
        data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        var dot = 0.0
        var na = 0.0
        var nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
    }

    func write<T>(_ body: (Database) throws -> T) throws(TaskError) -> T {
        do { return try queue.write(body) } catch { throw .storage("\(error)") }
    }

    func read<T>(_ body: (Database) throws -> T) throws(TaskError) -> T {
        do { return try queue.read(body) } catch { throw .storage("\(error)") }
    }
}

/// TF-IDF word vectors of a few documents, for retrieval without an embedding model.
struct TFIDF {
    let idf: [String: Double]
    let vectors: [[String: Double]]

    init(documents: [String]) {
        let bags = documents.map(Self.words)
        var df: [String: Int] = [:]
        for bag in bags { for word in Set(bag) { df[word, default: 0] += 1 } }
        let n = Double(bags.count)
        let idf = df.mapValues { log((1 + n) / (1 + Double($0))) + 1 }
        self.idf = idf
        vectors = bags.map { Self.weigh($0, idf: idf) }
    }

    func vector(_ text: String) -> [String: Double] { Self.weigh(Self.words(text), idf: idf) }

    static func weigh(_ words: [String], idf: [String: Double]) -> [String: Double] {
        var tf: [String: Double] = [:]
        for word in words { tf[word, default: 0] += 1 }
        return tf.reduce(into: [:]) { $0[$1.key] = $1.value * (idf[$1.key] ?? 0) }
    }

    static let stopWords: Set<String> = [
        "the", "a", "an", "of", "and", "or", "to", "in", "is", "it", "that", "for", "with", "as", "on", "be", "by", "from", "its",
        "which", "return", "returns", "write", "function", "python", "given", "each", "if", "are", "this",
    ]

    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init).filter { $0.count > 1 && !stopWords.contains($0) }
    }

    static func cosine(_ a: [String: Double], _ b: [String: Double]) -> Double {
        let dot = a.reduce(0.0) { $0 + $1.value * (b[$1.key] ?? 0) }
        let na = a.values.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        let nb = b.values.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        return na > 0 && nb > 0 ? dot / (na * nb) : 0
    }
}
