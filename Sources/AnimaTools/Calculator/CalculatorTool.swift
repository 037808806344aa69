import AnimaCore

/// The calculator as a tool: exact arithmetic for models that cannot do it reliably.
public struct CalculatorTool: Tool {
    public var calculator = Calculator()

    public init() {}

    public let name = "calculator"
    public let description = """
        Exact arithmetic on big integers and decimals. Operators + - * / % ^ and postfix !, \
        parentheses, functions sqrt, abs, min, max, floor, ceil, round(x, digits), factorial, gcd; \
        constants pi and e. Example: {"expression": "(2^100 + 0.1) / 3"}
        """
    public let parameters = JSONSchema.literal(
        """
        {"type":"object","properties":{"expression":{"type":"string","minLength":1,"maxLength":10000,
        "description":"An arithmetic expression, for example 12.5 * (3 + 4)^2"}},
        "required":["expression"],"additionalProperties":false}
        """)
    public let effect = ToolEffect.readOnly
    public let needs: Set<ToolNeed> = []

    public func perform(_ arguments: JSONValue, in context: ToolContext) async throws -> ToolResult {
        let expression = arguments["expression"]?.stringValue ?? ""
        do {
            let value = try calculator.evaluate(expression)
            let decimal = value.decimal(digits: 30)
            let exact = value.isExactDecimal(digits: 30)
            var text = exact ? decimal : "≈ \(decimal)"
            if let fraction = value.fraction, value.exact, !exact { text = "\(fraction) \(text)" }
            var object: JSONObject = ["value": .string(decimal), "exact": .bool(exact)]
            if let fraction = value.fraction, value.exact { object["fraction"] = .string(fraction) }
            return ToolResult(text: text, value: .object(object))
        } catch {
            return .failure("calculator: \(error.description)")
        }
    }
}

extension JSONSchema {
    /// A schema written in the source; a typo in one is a programming error.
    static func literal(_ text: String) -> JSONSchema {
        do {
            return try JSONSchema(parsing: text)
        } catch {
            preconditionFailure("invalid built-in schema: \(error)")
        }
    }
}
