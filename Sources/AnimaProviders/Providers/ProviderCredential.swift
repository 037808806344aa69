import AnimaCore
import AnimaProcessor
import Foundation

/// The API key of one provider.
///
/// It never shows itself: printing, string interpolation, `dump` and debuggers see a
/// redacted form. It names the provider it belongs to, and each provider is built with
/// its own credential only, so a key cannot be sent to another provider by mistake.
public struct ProviderCredential: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The endpoint this key belongs to (its `ProviderEndpoint.id`).
    public let provider: String
    let secret: String

    public init(provider: String, secret: String) {
        self.provider = provider
        self.secret = secret.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public var description: String { "<\(provider) API key, redacted>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["provider": provider, "secret": "<redacted>"]) }

    /// Why the key cannot be used, or nil when it can.
    var problem: String? {
        if secret.isEmpty { return "the API key for \(provider) is empty" }
        if secret.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value > 0x7E }) {
            return "the API key for \(provider) contains spaces or characters that cannot go in an HTTP header"
        }
        return nil
    }

    /// `text` with the key, and any 8-character piece of it, replaced by `[redacted]`.
    /// Servers quote rejected keys in their error messages, sometimes partly masked.
    func redact(_ text: String) -> String {
        guard !secret.isEmpty, !text.isEmpty else { return text }
        var out = text.replacingOccurrences(of: secret, with: "[redacted]")
        let characters = Array(secret)
        let window = min(8, characters.count)
        var pieces = Set<String>()
        for start in 0...(characters.count - window) { pieces.insert(String(characters[start..<(start + window)])) }
        for piece in pieces where out.contains(piece) { out = out.replacingOccurrences(of: piece, with: "[redacted]") }
        return out
    }
}
