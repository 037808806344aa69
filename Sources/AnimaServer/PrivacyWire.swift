import AnimaCore
import Foundation

/// How a client over HTTP says where a request's data may go.
///
/// One shape everywhere, the `privacy` member of a native agent spec or of a chat
/// completion body: `{"private": true, "groups": ["medical"]}` (both members optional;
/// `{}` is public). Clients that cannot add body members, such as unmodified OpenAI SDKs,
/// can send the header `X-Anima-Privacy: private` (or `public`) instead. Labels only ever
/// add restrictions: the kernel raises them further from what a process takes in.
enum PrivacyWire {
    static let header = "X-Anima-Privacy"

    /// The label of a request from its `privacy` body member and its header's value.
    static func label(body: JSONValue?, header value: String?) throws -> PrivacyLabel {
        var label = try label(body)
        if let value {
            switch value.trimmingCharacters(in: .whitespaces).lowercased() {
            case "private": label.isPrivate = true
            case "public": break
            default:
                throw APIError.badRequest(
                    "the header X-Anima-Privacy must be private or public, not \"\(value.prefix(40))\"", param: "X-Anima-Privacy")
            }
        }
        return label
    }

    /// The label in a `privacy` member; public when it is absent.
    static func label(_ value: JSONValue?) throws -> PrivacyLabel {
        guard let value, value != .null else { return .public }
        guard case .object(let object) = value else {
            throw APIError.badRequest(#"privacy must be an object such as {"private": true, "groups": ["medical"]}"#, param: "privacy")
        }
        for key in object.keys where key != "private" && key != "groups" {
            throw APIError.badRequest("privacy has no member \(key); it takes private (a boolean) and groups (names)", param: "privacy")
        }
        var label = PrivacyLabel.public
        if let flag = object["private"], flag != .null {
            guard let flag = flag.boolValue else { throw APIError.badRequest("privacy.private must be true or false", param: "privacy") }
            label.isPrivate = flag
        }
        if let groups = object["groups"], groups != .null {
            let names = groups.arrayValue?.compactMap(\.stringValue) ?? []
            guard names.count == groups.arrayValue?.count, names.count <= 64, !names.contains(where: \.isEmpty) else {
                throw APIError.badRequest("privacy.groups must be an array of at most 64 group names", param: "privacy")
            }
            label.groups = Set(names)
        }
        return label
    }
}
