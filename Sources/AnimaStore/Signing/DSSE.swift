import Foundation

/// DSSE v1's pre-authentication encoding: what a DSSE signature is computed over.
///
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in decimal bytes. Signing
/// the type with the body means a payload cannot be re-read as another type.
public enum DSSE {
    public static func preAuthenticationEncoding(payloadType: String, payload: Data) -> Data {
        var out = Data("DSSEv1 \(payloadType.utf8.count) \(payloadType) \(payload.count) ".utf8)
        out.append(payload)
        return out
    }
}
