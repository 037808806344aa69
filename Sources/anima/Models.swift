import AnimaCommandSupport
import AnimaCore
import AnimaLlama
import AnimaProcessor
import ArgumentParser
import Foundation

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List local GGUF models and the remote models `anima setup` configured.",
        discussion: """
            Without paths, lists the models in Anima's model folder, then the models of the
            providers that `anima setup` configured, each with where it runs, its context
            length and its price. Only GGUF file headers and the configuration are read
            (no network), so this is quick, and a truncated or corrupt file is reported as
            such.

            Examples:
              anima models
              anima models ~/models/qwen2.5-0.5b-instruct-q4_k_m.gguf
              anima models --json
            """
    )

    @Argument(help: "GGUF files or folders to inspect (default: the model folder).")
    var paths: [String] = []

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Also print the chat template of each model.")
    var template = false

    mutating func run() async throws {
        let targets = paths.isEmpty ? [AnimaPaths.models.path] : paths.map { ($0 as NSString).expandingTildeInPath }
        var files: [String] = []
        for target in targets {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) else {
                if paths.isEmpty {
                    throw ValidationError("the model folder \(target) does not exist; run `make setup` to install the default model")
                }
                throw ProcessorError.modelNotFound(path: target)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
                files += names.filter { $0.hasSuffix(".gguf") }.sorted().map { target + "/" + $0 }
            } else {
                files.append(target)
            }
        }
        var rows: [JSONValue] = []
        var failures = 0
        for path in files {
            do {
                let file = try GGUFFile(path: path)
                rows.append(Self.describe(file))
                if !json { print(Self.text(file, template: template)) }
            } catch {
                failures += 1
                rows.append(["path": .string(path), "error": .string("\(error)")])
                if !json { Terminal.error("error: \(error)\n") }
            }
        }
        // Models of the providers `anima setup` configured; no network.
        let remote = paths.isEmpty ? RemoteModels.list() : []
        rows += remote.map(\.json)
        if !json { remote.forEach { print($0.text) } }
        if json { print(JSONValue.array(rows).jsonText) }
        if files.isEmpty && !json { print("No GGUF models found in \(targets.joined(separator: ", ")).") }
        if remote.isEmpty && paths.isEmpty && !json { print("No remote models are configured; add some with `anima setup`.") }
        if failures > 0 { throw ExitCode.failure }
    }

    static func describe(_ file: GGUFFile) -> JSONValue {
        var object = JSONObject()
        object["path"] = .string(file.path)
        object["architecture"] = .string(file.architecture ?? "unknown")
        object["parameters"] = .number(Double(file.parameterCount))
        object["quantization"] = .string(file.quantization)
        object["size_bytes"] = .number(Double(file.fileSize))
        object["has_chat_template"] = .bool(file.chatTemplate != nil)
        object["location"] = "local"
        object["price_per_million"] = ["input": 0, "output": 0]
        if let name = file.name { object["name"] = .string(name) }
        if let n = file.contextLength { object["context_length"] = .number(Double(n)) }
        if let t = file.chatTemplate { object["chat_template"] = .string(t) }
        return .object(object)
    }

    static func text(_ file: GGUFFile, template: Bool) -> String {
        var lines = [URL(fileURLWithPath: file.path).lastPathComponent]
        func row(_ k: String, _ v: String) { lines.append("  " + k.padding(toLength: 15, withPad: " ", startingAt: 0) + v) }
        if let name = file.name { row("name", name) }
        row("architecture", file.architecture ?? "unknown")
        row("parameters", Self.count(file.parameterCount))
        row("context", file.contextLength.map { "\($0) tokens" } ?? "unknown")
        row("price", "free (on this machine)")
        row("quantization", file.quantization)
        row("size", ByteCountFormatter.string(fromByteCount: Int64(file.fileSize), countStyle: .file))
        row("chat template", file.chatTemplate == nil ? "none" : "yes (\(file.chatTemplate!.count) characters)")
        if template, let t = file.chatTemplate { lines.append(t) }
        return lines.joined(separator: "\n")
    }

    static func count(_ n: UInt64) -> String {
        switch n {
        case 1_000_000_000...: String(format: "%.2fB", Double(n) / 1e9)
        case 1_000_000...: String(format: "%.1fM", Double(n) / 1e6)
        default: "\(n)"
        }
    }
}
