import Hummingbird
import NIOCore

/// An `application/x-www-form-urlencoded` body: the fields a console form posts.
struct Form: Sendable {
    var fields: [String: String]

    subscript(name: String) -> String? { fields[name] }

    init(_ text: String) {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0]), value = parts.count > 1 ? Self.decode(parts[1]) : ""
            if fields[name] == nil { fields[name] = value }  // the first wins: a repeated field cannot override
        }
        self.fields = fields
    }

    static func decode(_ part: Substring) -> String {
        String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
    }

    /// The request's form, at most 64 KiB.
    static func read(_ request: Request, context: WebRequestContext) async throws -> Form {
        var request = request
        let buffer = try await request.collectBody(upTo: WebConsole.maxFormBytes)
        return Form(String(buffer: buffer))
    }
}
