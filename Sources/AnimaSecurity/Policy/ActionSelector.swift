import AnimaCore

/// One entry of an explicit action set as a person types it: a tool (name, server or glob)
/// and, optionally, the values its call must use: `bank__send_money(recipient=alice, amount=20)`.
///
/// A value is bare text (up to the next `,` or `)`) or a JSON string in double quotes,
/// for values that hold those. A call to the tool with another value in a fixed argument
/// is asked or denied from the start; arguments left out are governed by the policy.
public struct ActionSelector: Sendable, Hashable, CustomStringConvertible {
    public var tool: String
    /// By argument path (`recipient`, `meta.to`).
    public var arguments: [String: JSONValue]

    public init(tool: String, arguments: [String: JSONValue] = [:]) {
        self.tool = tool
        self.arguments = arguments
    }

    /// Parses `tool` or `tool(name=value, ...)`; the error says what is wrong and shows the form.
    public init(parsing text: String) throws(ActionSetError) {
        let text = text.trimmingCharacters(in: .whitespaces)
        let form = "write TOOL or TOOL(ARGUMENT=VALUE, ...), a value in double quotes when it holds , or )"
        guard let open = text.firstIndex(of: "(") else {
            guard !text.isEmpty, !text.contains(")") else { throw ActionSetError("\"\(text)\" is not an action: \(form)") }
            self.init(tool: text)
            return
        }
        let tool = text[..<open].trimmingCharacters(in: .whitespaces)
        guard !tool.isEmpty, text.hasSuffix(")") else { throw ActionSetError("\"\(text)\" is not an action: \(form)") }
        var rest = Substring(text[text.index(after: open)...].dropLast())
        var arguments: [String: JSONValue] = [:]
        while !rest.allSatisfy(\.isWhitespace) {
            guard let equals = rest.firstIndex(of: "=") else {
                throw ActionSetError("\"\(text)\": an argument needs a value (ARGUMENT=VALUE); \(form)")
            }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.[]".contains($0) }) else {
                throw ActionSetError("\"\(text)\": \"\(name)\" is not an argument name; \(form)")
            }
            guard arguments[name] == nil else { throw ActionSetError("\"\(text)\": argument \(name) is given twice") }
            rest = rest[rest.index(after: equals)...].drop { $0 == " " }
            let value: String
            if rest.first == "\"" {
                // A JSON string: up to the first quote that is not escaped.
                var end = rest.index(after: rest.startIndex)
                var escaped = false
                while end < rest.endIndex, escaped || rest[end] != "\"" {
                    escaped = !escaped && rest[end] == "\\"
                    end = rest.index(after: end)
                }
                guard end < rest.endIndex, case .string(let s)? = try? JSONValue(parsing: String(rest[...end])) else {
                    throw ActionSetError("\"\(text)\": the quoted value of \(name) is not closed or not a JSON string")
                }
                value = s
                rest = rest[rest.index(after: end)...].drop { $0 == " " }
                guard rest.isEmpty || rest.first == "," else {
                    throw ActionSetError("\"\(text)\": expected , or ) after the value of \(name)")
                }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                guard !value.contains("\""), !value.contains("("), !value.contains(")") else {
                    throw ActionSetError("\"\(text)\": put the value of \(name) in double quotes; \(form)")
                }
                rest = rest[end...]
            }
            guard !value.isEmpty else { throw ActionSetError("\"\(text)\": argument \(name) has an empty value") }
            arguments[name] = .string(value)
            if rest.first == "," { rest = rest.dropFirst() }
        }
        self.init(tool: tool, arguments: arguments)
    }

    /// `tool` or `tool(name="value", ...)`, arguments in name order.
    public var description: String {
        guard !arguments.isEmpty else { return tool }
        let list = arguments.sorted { $0.key < $1.key }.map {
            "\($0.key)=\(JSONValue.string($0.value.stringValue ?? $0.value.jsonText).jsonText)"
        }
        return "\(tool)(\(list.joined(separator: ", ")))"
    }

    /// Splits a comma-separated list of selectors, keeping commas inside parentheses and quotes.
    public static func split(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var depth = 0
        var quoted = false
        var escaped = false
        for c in text {
            if quoted {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { quoted = false }
            } else if c == "\"" {
                quoted = true
            } else if c == "(" {
                depth += 1
            } else if c == ")" {
                depth = max(0, depth - 1)
            } else if c == ",", depth == 0 {
                out.append(current)
                current = ""
                continue
            }
            current.append(c)
        }
        out.append(current)
        return out.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Each selector with its tool part resolved among `names` (see `ToolSelection`: a
    /// server or glob stands for each of its tools), its values kept; each plain name once.
    public static func resolve(_ selectors: [String], among names: [String]) throws(ActionSetError) -> [String] {
        var out: [String] = []
        for text in selectors {
            let selector = try ActionSelector(parsing: text)
            let tools: [String]
            do { tools = try ToolSelection.resolve([selector.tool], among: names) } catch { throw ActionSetError(error.description) }
            for tool in tools {
                let resolved = ActionSelector(tool: tool, arguments: selector.arguments).description
                if !out.contains(resolved) { out.append(resolved) }
            }
        }
        return out
    }
}
