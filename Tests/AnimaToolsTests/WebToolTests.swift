import AnimaCore
import Foundation
import Testing

@testable import AnimaTools

@Suite("Web tool")
struct WebToolTests {
    @Test func fetchesALocalPageAsTextOnlyWithTheNetGroup() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let site = fixture.base + "/site"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        let html = """
            <html><head><title>Anima test page</title><style>body { color: red }</style>
            <script>var secret = "do not show";</script></head>
            <body><h1>Rivers</h1><p>The Nile &amp; the Amazon.</p><ul><li>Danube</li><li>Rhine</li></ul></body></html>
            """
        try html.write(toFile: site + "/index.html", atomically: true, encoding: .utf8)
        try String(repeating: "x", count: 10_000).write(toFile: site + "/big.txt", atomically: true, encoding: .utf8)
        let server = try LocalHTTPServer(serving: site)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/index.html"

        let denied = await WebTool().call(["url": .string(url)], in: try fixture.context(groups: ["users"]))
        #expect(denied.isError)
        #expect(denied.text.contains("net"))

        let context = try fixture.context(groups: ["users", "net"])
        let page = await WebTool().call(["url": .string(url)], in: context)
        #expect(!page.isError, "\(page.text)")
        #expect(page.text.contains("HTTP 200"))
        #expect(page.text.contains("Anima test page"))
        #expect(page.text.contains("The Nile & the Amazon."))
        #expect(page.text.contains("Danube\nRhine"))
        #expect(!page.text.contains("do not show"))
        #expect(!page.text.contains("color: red"))

        let small = WebTool(fetch: WebFetch(maxBytes: 1000))
        let big = await small.call(["url": .string("http://127.0.0.1:\(server.port)/big.txt")], in: context)
        #expect(big.text.contains("[page truncated: over 1000 bytes"))
        #expect(big.value["text"]?.stringValue?.filter { $0 == "x" }.count == 1000)

        let missing = await WebTool().call(["url": .string("http://127.0.0.1:\(server.port)/missing")], in: context)
        #expect(missing.isError)
        #expect(missing.text.contains("HTTP 404"))

        let file = await WebTool().call(["url": "file:///etc/passwd"], in: context)
        #expect(file.isError)
        #expect(file.text.contains("invalid arguments"))
    }

    @Test func htmlBecomesReadableText() {
        let text = HTMLText.extract("<div>a&lt;b &#65;&#x42;</div><!-- hidden --><p>next<br>line</p><noscript>no</noscript>")
        #expect(text == "a<b AB\nnext\nline")
    }

    @Test func searchGoesThroughTheProvider() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let site = fixture.base + "/search"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        try #"{"results": [{"title": "Swift", "url": "https://swift.org", "content": "A language"}]}"#
            .write(toFile: site + "/q", atomically: true, encoding: .utf8)
        let server = try LocalHTTPServer(serving: site)
        defer { server.stop() }
        let tool = WebSearchTool(provider: JSONSearchProvider(template: "http://127.0.0.1:\(server.port)/q?query={query}"))
        let result = await tool.call(["query": "swift language"], in: try fixture.context(groups: ["net"]))
        #expect(result.text == "1. Swift\n   https://swift.org\n   A language", "\(result.text)")
    }
}
