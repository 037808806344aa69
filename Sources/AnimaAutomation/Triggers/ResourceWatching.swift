import Foundation

/// Reports changes of MCP resources: the daemon's MCP servers, subscribed through their
/// drivers (implemented where those live; the automation module knows only this).
public protocol ResourceWatching: Sendable {
    /// Subscribes to `uri` on MCP server `server` and yields the URI of each update the
    /// server sends for it, until the stream's consumer stops.
    func updates(server: String, uri: String) async throws -> AsyncStream<String>
}
