import AnimaCore
import Foundation
import Testing

@testable import AnimaStore

/// Both directions against PyPI's `model-signing` CLI (installed by `make setup` into
/// signing-venv): what Anima signs, `model_signing verify key` accepts, and the reverse.
@Suite("model-signing interoperability")
struct ModelSigningInteropTests {
    static let cli = AnimaDirectories.cache() + "/signing-venv/bin/model_signing"

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.cli)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func modelSigningVerifiesWhatAnimaSigned() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.cli), "model_signing missing at \(Self.cli); run make setup")
        let dir = temporaryFolder("interop-out")
        let key = SigningKey.generate()
        let pub = dir.appendingPathComponent("pub.pem")
        try Data(key.publicKey.pem.utf8).write(to: pub)
        let pkg = try makeModelPackage(in: dir)
        try RegistryPublisher.sign(pkg, key: key)
        let ok = try run(["verify", "key", pkg.path, "--signature", pkg.path + "/model.sig", "--public_key", pub.path])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output.contains("Verification succeeded"), "\(ok.output)")
        // The check is real: one byte changed and model_signing refuses too.
        try flipByte(pkg.appendingPathComponent("weights.gguf"))
        let bad = try run(["verify", "key", pkg.path, "--signature", pkg.path + "/model.sig", "--public_key", pub.path])
        #expect(bad.status != 0, "\(bad.output)")
    }

    @Test func animaVerifiesWhatModelSigningSigned() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.cli), "model_signing missing at \(Self.cli); run make setup")
        let dir = temporaryFolder("interop-in")
        let key = SigningKey.generate()
        let priv = dir.appendingPathComponent("key.pem")
        try Data(key.pem.utf8).write(to: priv)
        let pkg = try makeModelPackage(in: dir)
        let sig = pkg.appendingPathComponent("model.sig")
        let signed = try run(["sign", "key", pkg.path, "--private_key", priv.path, "--signature", sig.path])
        #expect(signed.status == 0, "\(signed.output)")
        let statement = try KeyVerification.verify(pkg, signature: sig, key: key.publicKey)
        #expect(statement.resources.count == 4)
        #expect(statement.subject == pkg.lastPathComponent)
        // And as an Anima package, through the trust store.
        let store = PackageStore(directory: dir.appendingPathComponent("store"))
        try store.trust.add("acme", pem: key.publicKey.pem)
        let verified = try PackageVerifier.verify(pkg, trust: try store.trust.load())
        #expect(verified.signer.name == "acme")
        try flipByte(pkg.appendingPathComponent("weights.gguf"))
        #expect(
            expectStoreError({ _ = try KeyVerification.verify(pkg, signature: sig, key: key.publicKey) }) {
                if case .fileChanged("weights.gguf") = $0 { true } else { false }
            } == nil)
    }
}
