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
