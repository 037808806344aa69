import Crypto
import Foundation

/// The keys of one namespace, derived from the store's key, and what is done with them:
/// sealing content (AES-256-GCM), blinding search terms (HMAC-SHA256) and, for servers
/// that must index vectors themselves, a secret rotation of vector space.
///
/// Each namespace has its own keys, so a term in one agent's memory blinds to a different
/// token than the same term in another's, and a sealed row copied into another namespace
/// fails authentication instead of decrypting.
struct NamespaceCipher: Sendable {
    let namespace: MemoryNamespace
    private let sealingKey: SymmetricKey
    private let blindingKey: SymmetricKey
    let rotationSeed: [UInt8]

    init(master: EncryptionKey, namespace: MemoryNamespace) {
        self.namespace = namespace
        func derive(_ purpose: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(
                inputKeyMaterial: master.key, salt: Data("anima-memory-v1".utf8),
                info: Data("\(purpose)\u{0}\(namespace.user)\u{0}\(namespace.agent)".utf8), outputByteCount: 32)
        }
        sealingKey = derive("seal")
        blindingKey = derive("blind")
        rotationSeed = derive("rotate").withUnsafeBytes { Array($0) }
    }

    /// Encrypts `plaintext`; `context` (what kind of value this is) is authenticated with
    /// the namespace, so a value cannot be replayed as another kind or another agent's.
    func seal(_ plaintext: Data, context: String) throws(StorageError) -> Data {
        do {
            let box = try AES.GCM.seal(plaintext, using: sealingKey, authenticating: associatedData(context))
            guard let combined = box.combined else { throw StorageError.corrupted("a sealed value") }
            return combined
        } catch {
            throw .invalidKey("encryption failed: \(error)")
        }
    }

    func open(_ sealed: Data, context: String) throws(StorageError) -> Data {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return try AES.GCM.open(box, using: sealingKey, authenticating: associatedData(context))
        } catch {
            throw .wrongKey("a \(context) record of \(namespace)")
        }
    }

    func seal<T: Encodable>(json value: T, context: String) throws(StorageError) -> Data {
        let data: Data
        do { data = try JSONEncoder().encode(value) } catch { throw .invalidArgument("could not encode \(context): \(error)") }
        return try seal(data, context: context)
    }

    func open<T: Decodable>(json sealed: Data, as type: T.Type, context: String) throws(StorageError) -> T {
        let data = try open(sealed, context: context)
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw .corrupted("a \(context) record of \(namespace)")
        }
    }

    func seal(vector: [Float]) throws(StorageError) -> Data {
        try seal(vector.withUnsafeBufferPointer { Data(buffer: $0) }, context: "vector")
    }

    func openVector(_ sealed: Data) throws(StorageError) -> [Float] {
        let data = try open(sealed, context: "vector")
        guard data.count % MemoryLayout<Float>.size == 0 else { throw .corrupted("a stored vector of \(namespace)") }
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// The keyed-hash token that stands for `term` in the full-text index: equal terms
    /// give equal tokens (so BM25 still counts them), the term itself is not recoverable
    /// without the key.
    func blind(_ term: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(term.utf8), using: blindingKey)
        // 80 bits: collisions are negligible for any realistic vocabulary, and the index
        // stays compact.
        return "t"
            + mac.prefix(10).map { byte in
                let digits = Array("0123456789abcdef".utf8)
                return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
            }.joined()
    }

    private func associatedData(_ context: String) -> Data {
        Data("\(context)\u{0}\(namespace.user)\u{0}\(namespace.agent)".utf8)
    }
}
