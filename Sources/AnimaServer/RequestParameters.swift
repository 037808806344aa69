import Foundation
import Hummingbird

extension AnimaRequestContext {
    /// The path parameter `name`, percent-decoded: `memory/a%20b` names the key `a b`.
    ///
    /// The router matches the path as it came, still encoded; every route reads its
    /// parameters here so that none sees the encoded form. An encoding that does not
    /// decode (`%zz`, `%ff` alone, which is not UTF-8) is refused with 400.
    func pathParameter(_ name: String) throws -> String {
        guard let raw = parameters.get(name) else {
            throw APIError(.internalServerError, "the route has no path parameter \(name)", type: "server_error")
        }
        guard let decoded = raw.removingPercentEncoding else {
            throw APIError.badRequest(
                "the path segment for \(name) (\(raw)) is not valid percent-encoding; encode each byte as %XX of its UTF-8", param: name)
        }
        return decoded
    }
}

extension Request {
    /// The query parameter `name` (its first occurrence), decoded as HTML forms and HTTP
    /// clients encode it: `+` is a space, then `%XX` escapes: `?q=trip+to+Lisbon` and
    /// `?q=trip%20to%20Lisbon` both ask for "trip to Lisbon", and `%2B` is a literal `+`.
    ///
    /// Keys are decoded the same way. An escape that does not decode (`%zz`, a lone `%ff`,
    /// which is not UTF-8) is refused with 400, not passed on as typed.
    func queryParameter(_ name: String) throws -> String? {
        guard let query = uri.query, !query.isEmpty else { return nil }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = Self.formDecoded(parts[0]), key == name else { continue }
            let raw = parts.count > 1 ? parts[1] : ""
            guard let value = Self.formDecoded(raw) else {
                throw APIError.badRequest(
                    "the query parameter \(name) (\(raw)) is not valid form encoding; write a space as + or %20 and each other byte as %XX of its UTF-8",
                    param: name)
            }
            return value
        }
        return nil
    }

    /// `+` to space, then percent-decoding; nil when an escape is malformed.
    static func formDecoded(_ text: Substring) -> String? {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
