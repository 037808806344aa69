import AnimaCore
import AnimaMemory
import Foundation

/// The persistent memory's records, passages, dates and filters in JSON and query strings:
/// one reading for the native API, MCP and `anima memory import`, so the three accept and
/// refuse the same things with the same messages.
public enum MemoryWire {
    /// Reads a passage: `{"text", "tags"?, "happened"?, "source"?, "trust"?}`. Unknown
    /// fields are refused (a misspelt `happend` must not silently date the passage today).
    ///
    /// - Parameter defaultSource: the source when the passage names none.
    public static func passage(_ value: JSONValue, defaultSource: MemorySource = .user) throws -> NewMemoryPassage {
        guard let object = value.objectValue else {
            throw APIError.badRequest("a passage must be a JSON object with at least \"text\"", param: "text")
        }
        let known: Set<String> = ["text", "tags", "happened", "source", "trust"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw APIError.badRequest(
                "unknown passage field \"\(unknown)\"; a passage has text, tags, happened, source and trust", param: unknown)
        }
        guard let text = object["text"]?.stringValue, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.badRequest("text (a non-empty string) is required", param: "text")
        }
        var passage = NewMemoryPassage(text: text, tags: try tags(object["tags"]), source: defaultSource)
        passage.happenedAt = try date(object["happened"], field: "happened")
        if let source = object["source"], source != .null {
            guard let name = source.stringValue, let parsed = MemorySource(name: name) else {
                throw APIError.badRequest("source must be one of \(MemorySource.names), not \(source.jsonText)", param: "source")
            }
            passage.source = parsed
        }
        if let trust = object["trust"], trust != .null {
            guard let name = trust.stringValue, let parsed = MemoryTrust(name: name) else {
                throw APIError.badRequest("trust must be one of \(MemoryTrust.names), not \(trust.jsonText)", param: "trust")
            }
            passage.trust = parsed
        }
        return passage
    }

    /// Tags: an array of strings (absent or null: none).
    public static func tags(_ value: JSONValue?) throws -> [String] {
        guard let value, value != .null else { return [] }
        guard case .array(let list) = value, list.allSatisfy({ $0.stringValue != nil }) else {
            throw APIError.badRequest("tags must be an array of strings", param: "tags")
        }
        return list.compactMap(\.stringValue)
    }

    /// A moment from JSON: an ISO 8601 date-time (`2024-05-07T14:30:00Z`, an offset or
    /// fractions allowed), a day (`2024-05-07`, midnight UTC), or seconds since 1970.
    public static func date(_ value: JSONValue?, field: String) throws -> Date? {
        switch value {
        case nil, .null?: return nil
        case .number(let seconds)?:
            let checked = try wire(field) {
                try WireNumber.number(
                    seconds, field: field,
                    in: MemoryTime.earliest.timeIntervalSince1970...MemoryTime.latest.timeIntervalSince1970)
            }
            return Date(timeIntervalSince1970: checked)
        case .string(let text)?: return try date(text: text, field: field)
        case let other?:
            throw APIError.badRequest(
                "\(field) must be an ISO 8601 date (2024-05-07 or 2024-05-07T14:30:00Z) or seconds since 1970, not \(other.jsonText.prefix(40))",
                param: field)
        }
    }

    /// A moment from text (a query parameter, a flag): the forms `date(_:field:)` reads,
    /// seconds since 1970 written as digits included.
    public static func date(text: String, field: String) throws -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.first?.isNumber == true || trimmed.first == "-", !trimmed.contains(":"), trimmed.filter({ $0 == "-" }).count <= 1 {
            let seconds = try wire(field) {
                try WireNumber.number(
                    text: trimmed, field: field,
                    in: MemoryTime.earliest.timeIntervalSince1970...MemoryTime.latest.timeIntervalSince1970)
            }
            return Date(timeIntervalSince1970: seconds)
        }
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate],
        ] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: trimmed), (MemoryTime.earliest...MemoryTime.latest).contains(date) { return date }
        }
        throw APIError.badRequest(
            "\(field) (\(text.prefix(40))) is not a date between the years 1 and 9999; write 2024-05-07, 2024-05-07T14:30:00Z "
                + "or seconds since 1970", param: field)
    }

    /// Comma-separated sources (`user,import`), from a query parameter.
    public static func sources(text: String, field: String = "sources") throws -> Set<MemorySource> {
        var sources = Set<MemorySource>()
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let source = MemorySource(name: name) else {
                throw APIError.badRequest("\(field): unknown source \"\(name.prefix(40))\"; use \(MemorySource.names)", param: field)
            }
            sources.insert(source)
        }
        return sources
    }

    /// A search result as the API and `anima memory search --json` print it.
    public static func json(_ r: MemoryRecord) -> JSONValue {
        var row = JSONObject([
            ("agent", .string(r.agent)), ("kind", .string(r.kind.rawValue)), ("id", .number(Double(r.id))), ("text", .string(r.text)),
            ("label", .string(r.label)), ("tags", .array(r.tags.map(JSONValue.string))), ("created", .string(timestamp(r.createdAt))),
            ("happened", .string(timestamp(r.happenedAt))), ("source", .string(r.source.rawValue)),
            ("trust", .string(r.trust.description)), ("score", .number(r.score)), ("rank", .number(Double(r.rank))),
        ])
        if let rank = r.textRank { row["text_rank"] = .number(Double(rank)) }
        if let rank = r.vectorRank { row["vector_rank"] = .number(Double(rank)) }
        return .object(row)
    }

    /// What one agent keeps, as `GET /anima/v1/agent-memory/{agent}` returns it.
    public static func json(_ snapshot: AgentMemorySnapshot) -> JSONValue {
        [
            "blocks": .array(
                snapshot.blocks.map {
                    [
                        "label": .string($0.label), "description": .string($0.description), "value": .string($0.value),
                        "limit": .number(Double($0.limit)),
                    ]
                }),
            "summary": .string(snapshot.summary),
            "resident": .array(
                snapshot.resident.map {
                    ["id": .number(Double($0.recallID)), "role": .string($0.message.role.rawValue), "text": .string($0.message.content)]
                }),
            "messages": .number(Double(snapshot.messages)), "passages": .number(Double(snapshot.passages)),
            "page_ins": .array(snapshot.pageIns.map(json)),
        ]
    }

    /// One page-in decision (issue 18): ids, scores, reasons and outcomes, never text.
    public static func json(_ event: PageInEvent) -> JSONValue {
        [
            "at": .string(timestamp(event.at)),
            "decisions": .array(
                event.decisions.map { d in
                    [
                        "source": .string(d.source), "id": .number(Double(d.id)), "score": .number(d.score.isFinite ? d.score : 0),
                        "reasons": .array(d.reasons.map(JSONValue.string)), "outcome": .string(d.outcome.rawValue),
                        "tokens": .number(Double(d.tokens)),
                    ]
                }),
        ]
    }

    /// An ISO 8601 date-time in UTC.
    public static func timestamp(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }

    private static func wire<T>(_ field: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as WireNumberError {
            throw APIError.badRequest("\(error) (a date as seconds since 1970, between the years 1 and 9999)", param: field)
        }
    }
}
