import AnimaCore

/// The browser's record of the ceremony (WebAuthn §5.8.1): what it was for, which
/// challenge it answered, and which page asked.
public struct ClientData: Sendable {
    public let type: String
    public let challenge: [UInt8]
    public let origin: String
    public let crossOrigin: Bool

    public static let maxLength = 16 * 1024

    public init(_ json: [UInt8]) throws(WebAuthnError) {
        guard json.count <= Self.maxLength else { throw .malformed("client data is larger than 16 KiB") }
        guard let text = String(validating: json, as: UTF8.self), let object = try? JSONValue(parsing: text), object.objectValue != nil
        else { throw .malformed("client data is not a JSON object") }
        guard let type = object["type"]?.stringValue else { throw .malformed("client data has no type") }
        guard let encoded = object["challenge"]?.stringValue, let challenge = Base64URL.decode(encoded) else {
            throw .malformed("client data has no base64url challenge")
        }
        guard let origin = object["origin"]?.stringValue else { throw .malformed("client data has no origin") }
        var cross = false
        if let value = object["crossOrigin"], value != .null {
            guard let flag = value.boolValue else { throw .malformed("crossOrigin is not a boolean") }
            cross = flag
        }
        self.type = type
        self.challenge = challenge
        self.origin = origin
        crossOrigin = cross
    }
}
