import AnimaCore

/// Fetches a web page as text. Needs the `net` group.
public struct WebTool: Tool {
    public var fetch: WebFetch
    /// The most characters of page text returned.
    public var maxCharacters: Int

    public init(fetch: WebFetch = WebFetch(), maxCharacters: Int = 20_000) {
        self.fetch = fetch
        self.maxCharacters = maxCharacters
    }

    public let name = "web_fetch"
    public let description = """
        Fetches a web page (HTTP GET) and returns its text, HTML reduced to readable text. \
        Example: {"url": "https://example.org/"}
        """
    public let parameters = JSONSchema.literal(
        """
        {"type":"object","properties":{"url":{"type":"string","minLength":8,"maxLength":8192,"pattern":"^[hH][tT][tT][pP][sS]?://"}},
        "required":["url"],"additionalProperties":false}
        """)
    public let effect = ToolEffect.network
    public let needs: Set<ToolNeed> = [.network]

    public func perform(_ arguments: JSONValue, in context: ToolContext) async throws -> ToolResult {
        let page = try await fetch.get(arguments["url"]?.stringValue ?? "", sandbox: context.sandbox)
        var text = String(page.body.prefix(maxCharacters))
        if page.truncated || page.body.count > maxCharacters {
            text +=
                "\n[page truncated: \(page.truncated ? "over \(fetch.maxBytes) bytes" : "\(page.body.count) characters"); the first \(text.count) characters are shown]"
        }
        let header = "HTTP \(page.status) \(page.url)\n"
        return ToolResult(
            text: header + text,
            value: [
                "url": .string(page.url), "status": .number(Double(page.status)), "content_type": .string(page.contentType),
                "text": .string(text),
            ],
            isError: page.status >= 400)
    }
}
