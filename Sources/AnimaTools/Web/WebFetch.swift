import AnimaCore

/// An HTTP GET made from inside a sandbox that shares the network, so a page can never
/// reach the caller's files; size and time are limited and HTML is reduced to text.
public struct WebFetch: Sendable {
    /// A fetched page.
    public struct Page: Sendable, Hashable {
        public var url: String
        public var status: Int
        public var contentType: String
        public var body: String
        public var truncated: Bool
    }

    public var maxBytes: Int
    public var timeout: Duration

    public init(maxBytes: Int = 2 << 20, timeout: Duration = .seconds(20)) {
        self.maxBytes = maxBytes
        self.timeout = timeout
    }

    static let fetcher = #"""
        import json, sys, urllib.request, urllib.error
        url, limit, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        request = urllib.request.Request(url, headers={"User-Agent": "Anima/0.1 (+web tool)"})
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            response = error
        except Exception as error:
            print(json.dumps({"error": str(error)})); sys.exit(0)
        body = response.read(limit + 1)
        print(json.dumps({"status": response.status, "url": response.geturl(), "truncated": len(body) > limit,
                          "content_type": response.headers.get("Content-Type", "")}), flush=True)
        sys.stdout.buffer.write(body[:limit])
        """#

    /// Fetches `url` (http or https only).
    public func get(_ url: String, sandbox: Sandbox) async throws(ToolError) -> Page {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            throw .invalidArgument("\(url) is not an http:// or https:// URL")
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        var limits = SandboxLimits(cpuSeconds: 30, wallTime: timeout + .seconds(5), outputBytes: maxBytes + 4096)
        limits.memoryBytes = 1 << 30
        let policy = SandboxPolicy(network: true, limits: limits)
        let result = try await sandbox.run(
            ["/usr/bin/python3", "-I", "-c", Self.fetcher, url, "\(maxBytes)", "\(seconds)"], policy: policy)
        guard result.succeeded, let newline = result.stdout.firstIndex(of: "\n"),
            let meta = try? JSONValue(parsing: String(result.stdout[..<newline]))
        else {
            if let meta = try? JSONValue(parsing: result.stdout), let error = meta["error"]?.stringValue {
                throw .failed("could not fetch \(url): \(error)")
            }
            throw .failed("could not fetch \(url): \(result.termination)\(result.stderr.isEmpty ? "" : ": " + result.stderr.suffix(500))")
        }
        let raw = String(result.stdout[result.stdout.index(after: newline)...])
        let type = meta["content_type"]?.stringValue ?? ""
        let body = type.lowercased().contains("html") || raw.prefix(512).lowercased().contains("<html") ? HTMLText.extract(raw) : raw
        return Page(
            url: meta["url"]?.stringValue ?? url, status: WireNumber.clamped(meta["status"]?.numberValue ?? 0, to: 0...999),
            contentType: type,
            body: body, truncated: meta["truncated"]?.boolValue ?? false)
    }
}
