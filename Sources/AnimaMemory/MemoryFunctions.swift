import AnimaCore
import AnimaStorage
import Foundation

/// The result of a memory function: JSON for the model, and whether it is an error the
/// model should read and correct (bad arguments, a full block) rather than a result.
public struct MemoryFunctionResult: Sendable, Hashable {
    public var isError: Bool
    public var json: JSONValue

    /// The text to put in the tool message.
    public var text: String { json.jsonText }
}

/// The memory functions, offered to the model as tools: MemGPT's self-editing memory,
/// bound to one agent's pager.
///
/// `execute` never throws: bad arguments and failed edits come back as
/// `{"error": "..."}` naming what was wrong, so the model can correct its call.
public struct MemoryFunctions: Sendable {
    let pager: Pager

    /// Results per page of `conversation_search` and `archival_search`.
    public static let pageSize = 5

    public static let names: Set<String> = Set(definitions.map(\.name))

    /// What calling memory function `name` changes, as security checks it: the edits of
    /// core memory and archival inserts write (they outlive the process); searches only
    /// read. Nil for a name that is not a memory function.
    public static func effect(of name: String) -> ToolEffect? {
        switch name {
        case "core_memory_append", "core_memory_replace", "archival_insert": .write
        case "conversation_search", "archival_search": .readOnly
        default: nil
        }
    }

    public static let definitions: [ToolDefinition] = [
        tool(
            "core_memory_append", "Append text to one of your core memory blocks, which are always in your context.",
            ["label": string("the block: for example human or persona"), "content": string("text to add")],
            required: ["label", "content"]),
        tool(
            "core_memory_replace", "Replace exact text in a core memory block (empty new_content deletes it).",
            [
                "label": string("the block"), "old_content": string("the exact text to replace"),
                "new_content": string("the replacement"),
            ], required: ["label", "old_content", "new_content"]),
        tool(
            "conversation_search", "Search all past messages of your conversations, including those no longer in context.",
            [
                "query": string("words or a question to look for"),
                "start_date": string("only messages from this day on, YYYY-MM-DD"),
                "end_date": string("only messages up to this day, YYYY-MM-DD"),
                "page": ["type": "integer", "minimum": 0, "description": "0 for the first results, 1 for the next, ..."],
            ], required: ["query"]),
        tool(
            "archival_insert", "Save a passage to your long-term archival memory, searchable forever.",
            [
                "content": string("what to remember, self-contained"),
                "tags": ["type": "array", "items": ["type": "string"], "description": "labels for filtering later"],
            ], required: ["content"]),
        tool(
            "archival_search", "Search your long-term archival memory.",
            [
                "query": string("words or a question to look for"),
                "tags": ["type": "array", "items": ["type": "string"], "description": "only passages with all of these tags"],
                "page": ["type": "integer", "minimum": 0, "description": "0 for the first results, 1 for the next, ..."],
            ], required: ["query"]),
    ]

    /// Runs the model's call of a memory function.
    public func execute(_ call: ToolCall) async -> MemoryFunctionResult {
        await execute(name: call.name, arguments: call.arguments)
    }

    public func execute(name: String, arguments: JSONValue) async -> MemoryFunctionResult {
        do {
            guard let definition = Self.definitions.first(where: { $0.name == name }) else {
                throw MemoryError.unknownFunction(name, known: Self.definitions.map(\.name))
            }
            let problems = definition.parameters.violations(of: arguments)
            guard problems.isEmpty else {
                throw MemoryError.invalidArguments(
                    function: name, reason: problems.map { "\($0)" }.joined(separator: "; "))
            }
            return MemoryFunctionResult(isError: false, json: try await run(name, arguments))
        } catch {
            return MemoryFunctionResult(isError: true, json: ["error": .string("\(error)")])
        }
    }

    private func run(_ name: String, _ a: JSONValue) async throws -> JSONValue {
        switch name {
        case "core_memory_append":
            let block = try await pager.appendToBlock(a["label"]!.stringValue!, a["content"]!.stringValue!)
            return ["ok": true, "label": .string(block.label), "value": .string(block.value)]
        case "core_memory_replace":
            let block = try await pager.replaceInBlock(
                a["label"]!.stringValue!, old: a["old_content"]!.stringValue!, new: a["new_content"]!.stringValue!)
            return ["ok": true, "label": .string(block.label), "value": .string(block.value)]
        case "conversation_search":
            let page = try Self.page(a, name)
            let start = try Self.day(a["start_date"], name: name, field: "start_date")
            let end = try Self.day(a["end_date"], name: name, field: "end_date").map { $0.addingTimeInterval(86_400) }
            let found = try await pager.searchConversation(
                MemoryQuery(
                    text: a["query"]!.stringValue!, after: start, before: end, limit: Self.pageSize, offset: page * Self.pageSize))
            return [
                "results": .array(
                    found.hits.map { hit in
                        [
                            "id": .number(Double(hit.item.id)), "date": .string(MemoryPage.day(hit.item.happenedAt)),
                            "role": .string(hit.item.message.role.rawValue), "content": .string(hit.item.message.content),
                        ]
                    }),
                "page": .number(Double(page)), "more": .bool(found.hasMore),
            ]
        case "archival_insert":
            let tags = a["tags"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let passage = try await pager.insertArchival(a["content"]!.stringValue!, tags: tags)
            return ["ok": true, "id": .number(Double(passage.id))]
        case "archival_search":
            let page = try Self.page(a, name)
            let tags = a["tags"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let found = try await pager.searchArchival(
                MemoryQuery(
                    text: a["query"]!.stringValue!, tags: tags, limit: Self.pageSize, offset: page * Self.pageSize))
            return [
                "results": .array(
                    found.hits.map { hit in
                        [
                            "id": .number(Double(hit.item.id)), "date": .string(MemoryPage.day(hit.item.happenedAt)),
                            "tags": .array(hit.item.tags.map { .string($0) }), "content": .string(hit.item.text),
                        ]
                    }),
                "page": .number(Double(page)), "more": .bool(found.hasMore),
            ]
        default:
            throw MemoryError.unknownFunction(name, known: Self.definitions.map(\.name))
        }
    }

    private static func page(_ a: JSONValue, _ name: String) throws -> Int {
        guard let value = a["page"]?.numberValue else { return 0 }
        guard value >= 0, value == value.rounded(), value < 10_000 else {
            throw MemoryError.invalidArguments(function: name, reason: "page must be a whole number from 0")
        }
        return Int(value)
    }

    private static func day(_ value: JSONValue?, name: String, field: String) throws -> Date? {
        guard let text = value?.stringValue else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        guard let date = formatter.date(from: text) else {
            throw MemoryError.invalidArguments(function: name, reason: "\(field) must be a date like 2025-03-14, not \"\(text)\"")
        }
        return date
    }

    private static func string(_ description: String) -> JSONValue { ["type": "string", "description": .string(description)] }

    private static func tool(_ name: String, _ description: String, _ properties: JSONValue, required: [String]) -> ToolDefinition {
        let schema: JSONValue = [
            "type": "object", "properties": properties, "required": .array(required.map { .string($0) }),
            "additionalProperties": false,
        ]
        // The schemas are literals written above; they are valid JSON Schema.
        return ToolDefinition(name: name, description: description, parameters: try! JSONSchema(schema))
    }
}
