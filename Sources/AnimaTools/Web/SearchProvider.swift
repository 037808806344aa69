import AnimaCore
import Foundation

/// A web search engine behind the `web_search` tool. Anima ships no engine of its own;
/// a deployment plugs one in (for example `JSONSearchProvider` over a SearXNG instance).
public protocol SearchProvider: Sendable {
    /// Results for `query`, best first, at most `limit`.
    func search(_ query: String, limit: Int, sandbox: Sandbox) async throws -> [SearchHit]
}

/// One search result.
public struct SearchHit: Sendable, Hashable {
    public var title: String
    public var url: String
    public var snippet: String

    public init(title: String, url: String, snippet: String) {
        self.title = title
        self.url = url
        self.snippet = snippet
    }
}

/// A search engine reached over HTTP that answers JSON with a `results` array of objects
/// having `title`, `url` and `content` or `snippet` (SearXNG's `format=json` does).
/// The request is made from the sandbox like any web fetch.
public struct JSONSearchProvider: SearchProvider {
    /// The URL with `{query}` where the percent-encoded query goes.
    public var template: String

    public init(template: String) {
        self.template = template
    }

    public func search(_ query: String, limit: Int, sandbox: Sandbox) async throws -> [SearchHit] {
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
        let page = try await WebFetch().get(template.replacingOccurrences(of: "{query}", with: encoded), sandbox: sandbox)
        guard page.status == 200, let json = try? JSONValue(parsing: page.body), let results = json["results"]?.arrayValue else {
            throw ToolError.failed("the search engine answered HTTP \(page.status) without a JSON results array")
        }
        return results.prefix(limit).compactMap { item in
            guard let url = item["url"]?.stringValue else { return nil }
            return SearchHit(
                title: item["title"]?.stringValue ?? url, url: url,
                snippet: item["content"]?.stringValue ?? item["snippet"]?.stringValue ?? "")
        }
    }
}

/// Searches the web through a `SearchProvider`. Needs the `net` group.
public struct WebSearchTool: Tool {
    public var provider: any SearchProvider

    public init(provider: any SearchProvider) {
        self.provider = provider
    }

    public let name = "web_search"
    public let description = "Searches the web and returns titles, URLs and snippets. Example: {\"query\": \"swift concurrency\"}"
    public let parameters = JSONSchema.literal(
        """
        {"type":"object","properties":{"query":{"type":"string","minLength":1,"maxLength":500},
        "limit":{"type":"integer","minimum":1,"maximum":20}},"required":["query"],"additionalProperties":false}
        """)
    public let effect = ToolEffect.network
    public let needs: Set<ToolNeed> = [.network]

    public func perform(_ arguments: JSONValue, in context: ToolContext) async throws -> ToolResult {
        let limit = try WireNumber.integer(arguments["limit"], field: "limit", in: 1...20) ?? 5
        let hits = try await provider.search(arguments["query"]?.stringValue ?? "", limit: limit, sandbox: context.sandbox)
        let text = hits.enumerated().map { "\($0.offset + 1). \($0.element.title)\n   \($0.element.url)\n   \($0.element.snippet)" }
        let value = JSONValue.array(hits.map { ["title": .string($0.title), "url": .string($0.url), "snippet": .string($0.snippet)] })
        return ToolResult(text: text.isEmpty ? "no results" : text.joined(separator: "\n"), value: value)
    }
}
