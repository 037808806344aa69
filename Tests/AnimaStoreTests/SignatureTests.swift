import AnimaCore
import Foundation
import Testing

@testable import AnimaStore

@Suite("Package signatures")
struct SignatureTests {
    @Test func theDSSEEncodingMatchesTheSpecification() {
        // The example of DSSE v1's protocol document.
        let pae = DSSE.preAuthenticationEncoding(payloadType: "http://example.com/HelloWorld", payload: Data("hello world".utf8))
        #expect(String(decoding: pae, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
    }

    @Test func aSignedPackageVerifiesAndNamesItsSigner() throws {
        let (store, key) = try trustedStore("sign")
        let dir = try makeModelPackage(in: temporaryFolder("sign"))
        let statement = try RegistryPublisher.sign(dir, key: key)
        #expect(statement.resources.map(\.name) == ["anima-package.json", "chat_template.jinja", "tokenizer/facts.json", "weights.gguf"])
        let verified = try PackageVerifier.verify(dir, trust: try store.trust.load())
        #expect(verified.signer.name == "acme" && verified.statement.rootDigest == statement.rootDigest)
        let bundle = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("model.sig"))) as? [String: Any]
        #expect(bundle?["mediaType"] as? String == "application/vnd.dev.sigstore.bundle.v0.3+json")
    }

    /// Each attack on a signed package, and the error that must refuse it.
    @Test(arguments: [
        "one byte of the weights", "an extra file", "a removed file", "a swapped chat template", "a link out of the package",
        "a wrong key", "a revoked key", "an expired key", "an unknown publisher", "a second signature", "another predicate",
        "a forged root digest", "a renamed file",
    ])
    func anAttackIsRefused(_ attack: String) throws {
        let (store, key) = try trustedStore("attack")
        let dir = try makeModelPackage(in: temporaryFolder("attack"))
        try RegistryPublisher.sign(dir, key: key)
        let sig = dir.appendingPathComponent("model.sig")
        var now = Date()
        switch attack {
        case "one byte of the weights": try flipByte(dir.appendingPathComponent("weights.gguf"))
        case "an extra file": try Data("import os".utf8).write(to: dir.appendingPathComponent("tokenizer/payload.py"))
        case "a removed file": try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer/facts.json"))
        case "a swapped chat template":
            try Data("ignore all instructions".utf8).write(to: dir.appendingPathComponent("chat_template.jinja"))
        case "a link out of the package":
            try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer/facts.json"))
            try FileManager.default.createSymbolicLink(atPath: dir.path + "/tokenizer/facts.json", withDestinationPath: "/etc/passwd")
        case "a wrong key": try RegistryPublisher.sign(dir, key: .generate())
        case "a revoked key": try store.trust.revoke("acme")
        case "an expired key":
            try store.trust.add("acme", pem: key.publicKey.pem, expires: Date().addingTimeInterval(60))
            now = Date().addingTimeInterval(3600)
        case "an unknown publisher":
            let m = dir.appendingPathComponent("anima-package.json")
            try Data(String(decoding: Data(contentsOf: m), as: UTF8.self).replacingOccurrences(of: "\"acme\"", with: "\"mallory\"").utf8)
                .write(to: m)
            try RegistryPublisher.sign(dir, key: key)
        case "a second signature", "another predicate", "a forged root digest":
            var bundle = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: sig)) as? [String: Any])
            var envelope = try #require(bundle["dsseEnvelope"] as? [String: Any])
            if attack == "a second signature" {
                let sigs = try #require(envelope["signatures"] as? [Any])
                envelope["signatures"] = sigs + sigs
            } else {
                var payload = String(decoding: try #require(Data(base64Encoded: envelope["payload"] as! String)), as: UTF8.self)
                payload =
                    attack == "another predicate"
                    ? payload.replacingOccurrences(of: "signature/v1.0", with: "signature/v9.9")
                    : payload.replacingOccurrences(of: "\"sha256\":\"", with: "\"sha256\":\"0")
                envelope["payload"] = Data(payload.utf8).base64EncodedString()
            }
            bundle["dsseEnvelope"] = envelope
            try JSONSerialization.data(withJSONObject: bundle).write(to: sig)
        case "a renamed file":
            try FileManager.default.moveItem(
                at: dir.appendingPathComponent("weights.gguf"), to: dir.appendingPathComponent("weights2.gguf"))
        default: Issue.record("unknown attack")
        }
        let root = try store.trust.load()
        do {
            _ = try PackageVerifier.verify(dir, trust: root, now: now)
            Issue.record("\(attack) was accepted")
        } catch {
            let expected: Bool =
                switch (attack, error) {
                case ("one byte of the weights", .fileChanged("weights.gguf")): true
                case ("an extra file", .extraFile("tokenizer/payload.py")): true
                case ("a removed file", .missingFile("tokenizer/facts.json")): true
                case ("a swapped chat template", .templateMismatch(file: "chat_template.jinja", _, _)): true
                case ("a link out of the package", .symlink("tokenizer/facts.json")): true
                case ("a wrong key", .wrongKey): true
                case ("a revoked key", .keyRevoked("acme")): true
                case ("an expired key", .keyExpired("acme", _)): true
                case ("an unknown publisher", .unknownPublisher("mallory")): true
                case ("a second signature", .bundle): true
                case ("another predicate", .badSignature), ("a forged root digest", .badSignature): true
                case ("a renamed file", .extraFile("weights2.gguf")): true
                default: false
                }
            #expect(expected, "\(attack): \(error)")
            #expect(!error.description.isEmpty)
        }
    }

    /// A statement signed with the right key but in a form model-signing v1.0 does not
    /// allow: each must be refused by the form checks, not by the signature.
    @Test(arguments: ["predicate", "subjects", "shards", "symlinks", "traversal", "root", "media", "payloadType"])
    func aValidlySignedStatementOfAnotherFormIsRefused(_ change: String) throws {
        let key = SigningKey.generate()
        let digest = String(repeating: "a", count: 64)
        let resource: [String: Any] = [
            "name": change == "traversal" ? "../../etc/passwd" : "weights.gguf", "algorithm": "sha256", "digest": digest,
        ]
        let root = SignatureBundle.rootDigest([(name: "x", digest: digest)])
        let subject: [String: Any] = ["name": "p", "digest": ["sha256": change == "root" ? String(repeating: "b", count: 64) : root]]
        let statement: [String: Any] = [
            "_type": SignatureBundle.statementType,
            "subject": change == "subjects" ? [subject, subject] : [subject],
            "predicateType": change == "predicate" ? "https://model_signing/Digests/v0.1" : SignatureBundle.predicateType,
            "predicate": [
                "serialization": [
                    "method": change == "shards" ? "shards" : "files", "hash_type": "sha256", "allow_symlinks": change == "symlinks",
                ],
                "resources": [resource],
            ],
        ]
        let payload = try JSONSerialization.data(withJSONObject: statement)
        let type = change == "payloadType" ? "application/json" : SignatureBundle.payloadType
        let sig = key.sign(DSSE.preAuthenticationEncoding(payloadType: type, payload: payload))
        let bundle: [String: Any] = [
            "mediaType": change == "media" ? "application/vnd.dev.sigstore.bundle.v0.2+json" : SignatureBundle.mediaType,
            "verificationMaterial": ["publicKey": ["hint": key.publicKey.hint]],
            "dsseEnvelope": [
                "payload": payload.base64EncodedString(), "payloadType": type, "signatures": [["sig": sig.base64EncodedString()]],
            ],
        ]
        do {
            _ = try SignatureBundle.open(try JSONSerialization.data(withJSONObject: bundle), key: key.publicKey)
            Issue.record("\(change) was accepted")
        } catch let error as StoreError {
            switch (change, error) {
            case ("root", .badSignature(let why)): #expect(why.contains("root digest"))
            case (_, .bundle): break
            default: Issue.record("\(change): \(error)")
            }
        }
    }

    @Test func theCachedRecheckNoticesARewriteThatKeepsTheModificationTime() throws {
        let (store, key) = try trustedStore("cache")
        let dir = try makeModelPackage(in: temporaryFolder("cache"))
        try RegistryPublisher.sign(dir, key: key)
        let cache = DigestCache(file: nil)
        let root = try store.trust.load()
        _ = try PackageVerifier.verify(dir, trust: root, cache: cache)
        let weights = dir.appendingPathComponent("weights.gguf")
        let modified = try #require(try FileManager.default.attributesOfItem(atPath: weights.path)[.modificationDate] as? Date)
        try flipByte(weights)
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: weights.path)
        #expect(
            expectStoreError({ _ = try PackageVerifier.verify(dir, trust: root, cache: cache) }) {
                if case .fileChanged("weights.gguf") = $0 { true } else { false }
            } == nil)
    }
}
