import AnimaCore
import Foundation

/// A package's `anima-package.json`: what it is, who published it, its files and what it
/// asks to be allowed to do.
///
/// `parse` checks every field against `schemas/anima-package.schema.json` by hand, so an
/// error names the field (`requests.effects[1]`) instead of a decoder's coding path.
/// Unknown fields are refused: a field this version does not understand could be a
/// permission it would silently ignore.
public struct PackageManifest: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable { case model, agent, tool, skill, workflow, bundle }

    /// The side effects a package may ask for; each is granted (or not) at install.
    public enum Effect: String, Sendable, Hashable, CaseIterable {
        case network, files, shell, memory
        case cloudModels = "cloud-models"
    }

    public struct File: Sendable, Hashable {
        public var path: String
        public var role: String?
    }

    /// The chat template a model must be run with, pinned by hash: a swapped template
    /// changes what the model is told and is refused.
    public struct ChatTemplate: Sendable, Hashable {
        public var file: String
        public var sha256: String
    }

    public struct Model: Sendable, Hashable {
        public var format: String
        public var file: String
        public var chatTemplate: ChatTemplate?
        /// Tokenizer facts (family, vocabulary size, special tokens) as given.
        public var tokenizer: [String: String]
    }

    public struct Agent: Sendable, Hashable {
        public var systemPrompt: String
        public var tools: [String]
        public var model: String?
        /// The agent's data-flow policy, kept as JSON text for the security layer to parse.
        public var policy: String?
    }

    /// How a tool package runs: an MCP server over standard input and output, started in
    /// the sandbox with its package folder mounted read-only.
    public struct Tool: Sendable, Hashable {
        /// The package file that is the server: a script, or an executable without `interpreter`.
        public var entry: String
        /// The absolute path of the program that runs `entry` (/usr/bin/python3); nil: `entry` runs itself.
        public var interpreter: String?
        /// Arguments after the entry.
        public var args: [String]
        /// Seconds the server has to start and list its tools (nil: the default).
        public var startupTimeout: Double?
    }

    public struct Requests: Sendable, Hashable {
        public var groups: [String]
        public var effects: [Effect]
        public var dataGroups: [String]

        /// Every permission asked for, by the name `--grant` uses: groups as they are,
        /// effects by name, data groups as `data:NAME`.
        public var permissions: [String] {
            var all: [String] = []
            for p in effects.map(\.rawValue) + groups + dataGroups.map({ "data:" + $0 }) where !all.contains(p) { all.append(p) }
            return all
        }
    }

    public struct Dependency: Sendable, Hashable {
        public var name: String
        public var minimumVersion: PackageVersion?
    }

    public struct Provenance: Sendable, Hashable {
        public var source: String?
        public var buildInputs: [String]
    }

    public static let fileName = "anima-package.json"

    public var name: String
    public var version: PackageVersion
    public var publisher: String
    public var kind: Kind
    public var license: String
    public var description: String
    public var files: [File]
    public var model: Model?
    public var agent: Agent?
    public var tool: Tool?
    public var requests: Requests
    public var dependencies: [Dependency]
    public var provenance: Provenance

    /// Parses and validates a manifest.
    public static func parse(_ data: Data) throws(StoreError) -> PackageManifest {
        guard let any = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            throw .manifest(field: "(document)", problem: "is not valid JSON")
        }
        let root = try Fields(any, at: "(document)")
        try root.only([
            "schemaVersion", "name", "version", "publisher", "kind", "license", "description", "files", "model", "agent",
            "requests", "dependencies", "provenance", "tool",
        ])
        let schema = try root.int("schemaVersion")
        guard schema == 1 else { throw .manifest(field: "schemaVersion", problem: "is \(schema); this Anima reads version 1") }
        let name = try root.string("name")
        guard isPackageName(name) else {
            throw .manifest(
                field: "name", problem: "\"\(name)\" must be 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")
        }
        let versionText = try root.string("version")
        guard let version = PackageVersion(versionText) else {
            throw .manifest(field: "version", problem: "\"\(versionText)\" must be dotted numbers such as 1.2.0")
        }
        let publisher = try root.string("publisher")
        guard isPackageName(publisher) else {
            throw .manifest(field: "publisher", problem: "\"\(publisher)\" must be a name like the package's")
        }
        let kindText = try root.string("kind")
        guard let kind = Kind(rawValue: kindText) else {
            throw .manifest(
                field: "kind", problem: "\"\(kindText)\" is not one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let license = try root.string("license")
        let description = try root.string("description")
        var files: [File] = []
        for (i, item) in try root.array("files").enumerated() {
            let f = try Fields(item, at: "files[\(i)]")
            try f.only(["path", "role"])
            let path = try f.string("path")
            try checkRelativePath(path, field: "files[\(i)].path")
            guard path != fileName, path != SignatureBundle.fileName else {
                throw .manifest(field: "files[\(i)].path", problem: "\(path) is always part of a package; do not list it")
            }
            guard !files.contains(where: { $0.path == path }) else {
                throw .manifest(field: "files[\(i)].path", problem: "\(path) is listed twice")
            }
            files.append(File(path: path, role: try f.optionalString("role")))
        }
        var model: Model?
        if let m = try root.optionalObject("model") {
            try m.only(["format", "file", "chatTemplate", "tokenizer"])
            let file = try m.string("file")
            try checkListed(file, in: files, field: "model.file")
            var template: ChatTemplate?
            if let t = try m.optionalObject("chatTemplate") {
                try t.only(["file", "sha256"])
                let tf = try t.string("file")
                try checkListed(tf, in: files, field: "model.chatTemplate.file")
                let hash = try t.string("sha256")
                guard hash.count == 64, Hex.isLowercaseHex(hash) else {
                    throw .manifest(field: "model.chatTemplate.sha256", problem: "must be 64 lowercase hex digits")
                }
                template = ChatTemplate(file: tf, sha256: hash)
            }
            var tokenizer: [String: String] = [:]
            if let t = try m.optionalObject("tokenizer") {
                for (key, value) in t.values {
                    switch value {
                    case let s as String: tokenizer[key] = s
                    case let n as NSNumber
                    where n.doubleValue.isFinite && n.doubleValue == n.doubleValue.rounded()
                        && abs(n.doubleValue) < 1e15:
                        tokenizer[key] = String(n.int64Value)
                    default: throw .manifest(field: "model.tokenizer.\(key)", problem: "must be a string or a whole number")
                    }
                }
            }
            model = Model(format: try m.string("format"), file: file, chatTemplate: template, tokenizer: tokenizer)
        }
        var agent: Agent?
        if let a = try root.optionalObject("agent") {
            try a.only(["systemPrompt", "tools", "model", "policy"])
            var policy: String?
            if let p = a.values["policy"] {
                guard p is [String: Any], let data = try? JSONSerialization.data(withJSONObject: p, options: [.sortedKeys]) else {
                    throw .manifest(field: "agent.policy", problem: "must be an object (a security policy)")
                }
                policy = String(decoding: data, as: UTF8.self)
            }
            agent = Agent(
                systemPrompt: try a.string("systemPrompt"), tools: try a.stringArray("tools", default: []),
                model: try a.optionalString("model"), policy: policy)
        }
        var tool: Tool?
        if let t = try root.optionalObject("tool") {
            try t.only(["protocol", "entry", "interpreter", "args", "startupTimeout"])
            let proto = try t.string("protocol")
            guard proto == "mcp" else { throw .manifest(field: "tool.protocol", problem: "is \"\(proto)\"; this Anima runs mcp") }
            let entry = try t.string("entry")
            try checkListed(entry, in: files, field: "tool.entry")
            let interpreter = try t.optionalString("interpreter")
            if let interpreter {
                guard interpreter.hasPrefix("/"), !interpreter.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
                    throw .manifest(field: "tool.interpreter", problem: "\"\(interpreter)\" must be an absolute path without . or .. parts")
                }
            }
            var timeout: Double?
            if let value = t.values["startupTimeout"] {
                guard let n = value as? NSNumber, n.doubleValue.isFinite, n.doubleValue > 0, n.doubleValue <= 600 else {
                    throw .manifest(field: "tool.startupTimeout", problem: "must be a number of seconds above 0 and at most 600")
                }
                timeout = n.doubleValue
            }
            tool = Tool(entry: entry, interpreter: interpreter, args: try t.stringArray("args", default: []), startupTimeout: timeout)
        }
        if kind == .model, model == nil { throw .manifest(field: "model", problem: "is required for a package of kind model") }
        if kind == .agent, agent == nil { throw .manifest(field: "agent", problem: "is required for a package of kind agent") }
        var requests = Requests(groups: [], effects: [], dataGroups: [])
        if let r = try root.optionalObject("requests") {
            try r.only(["groups", "effects", "dataGroups"])
            requests.groups = try r.stringArray("groups", default: [])
            for (i, g) in requests.groups.enumerated() where !isPackageName(g) || g == "root" {
                throw .manifest(field: "requests.groups[\(i)]", problem: "\"\(g)\" is not a group a package may ask for")
            }
            for (i, e) in try r.stringArray("effects", default: []).enumerated() {
                guard let effect = Effect(rawValue: e) else {
                    throw .manifest(
                        field: "requests.effects[\(i)]",
                        problem: "\"\(e)\" is not one of \(Effect.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                requests.effects.append(effect)
            }
            requests.dataGroups = try r.stringArray("dataGroups", default: [])
            for (i, g) in requests.dataGroups.enumerated() where !isPackageName(g) {
                throw .manifest(field: "requests.dataGroups[\(i)]", problem: "\"\(g)\" is not a valid group name")
            }
        }
        var dependencies: [Dependency] = []
        for (i, item) in (try root.optionalArray("dependencies") ?? []).enumerated() {
            let d = try Fields(item, at: "dependencies[\(i)]")
            try d.only(["name", "minimumVersion"])
            let depName = try d.string("name")
            guard isPackageName(depName), depName != name else {
                throw .manifest(field: "dependencies[\(i)].name", problem: "\"\(depName)\" is not another package's name")
            }
            var minimum: PackageVersion?
            if let text = try d.optionalString("minimumVersion") {
                guard let v = PackageVersion(text) else {
                    throw .manifest(field: "dependencies[\(i)].minimumVersion", problem: "\"\(text)\" is not a version")
                }
                minimum = v
            }
            dependencies.append(Dependency(name: depName, minimumVersion: minimum))
        }
        var provenance = Provenance(source: nil, buildInputs: [])
        if let p = try root.optionalObject("provenance") {
            try p.only(["source", "buildInputs"])
            provenance = Provenance(source: try p.optionalString("source"), buildInputs: try p.stringArray("buildInputs", default: []))
        }
        if kind == .tool, tool == nil { throw .manifest(field: "tool", problem: "is required for a package of kind tool") }
        return PackageManifest(
            name: name, version: version, publisher: publisher, kind: kind, license: license, description: description, files: files,
            model: model, agent: agent, tool: tool, requests: requests, dependencies: dependencies, provenance: provenance)
    }

    static func isPackageName(_ s: String) -> Bool {
        guard (1...64).contains(s.utf8.count), let first = s.utf8.first, isLowerAlnum(first) else { return false }
        return s.utf8.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isLowerAlnum(_ c: UInt8) -> Bool { (0x61...0x7a).contains(c) || (0x30...0x39).contains(c) }

    /// A path inside the package: relative, `/`-separated, without `.` or `..` parts.
    static func checkRelativePath(_ path: String, field: String) throws(StoreError) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, path.utf8.count <= 255, !path.hasPrefix("/"),
            parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !path.contains("\0"), !path.contains("\\")
        else { throw .manifest(field: field, problem: "\"\(path)\" must be a relative path inside the package, without . or .. parts") }
    }

    private static func checkListed(_ path: String, in files: [File], field: String) throws(StoreError) {
        guard files.contains(where: { $0.path == path }) else {
            throw .manifest(field: field, problem: "\(path) is not one of the package's files")
        }
    }
}

/// One JSON object being validated, with the path that names it in errors.
struct Fields {
    let values: [String: Any]
    let at: String

    init(_ any: Any, at: String) throws(StoreError) {
        guard let dict = any as? [String: Any] else { throw .manifest(field: at, problem: "must be an object") }
        values = dict
        self.at = at
    }

    private func name(_ key: String) -> String { at == "(document)" ? key : at + "." + key }

    func only(_ allowed: Set<String>) throws(StoreError) {
        if let extra = values.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .manifest(field: name(extra), problem: "is not a known field")
        }
    }

    func string(_ key: String) throws(StoreError) -> String {
        guard let v = values[key] else { throw .manifest(field: name(key), problem: "is required") }
        guard let s = v as? String, !s.isEmpty else { throw .manifest(field: name(key), problem: "must be a non-empty string") }
        guard s.utf8.count <= 100_000 else { throw .manifest(field: name(key), problem: "is longer than 100000 bytes") }
        return s
    }

    func optionalString(_ key: String) throws(StoreError) -> String? {
        values[key] == nil ? nil : try string(key)
    }

    func int(_ key: String) throws(StoreError) -> Int {
        guard let v = values[key] else { throw .manifest(field: name(key), problem: "is required") }
        guard let n = v as? NSNumber, n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e9 else {
            throw .manifest(field: name(key), problem: "must be a whole number")
        }
        return n.intValue
    }

    func array(_ key: String) throws(StoreError) -> [Any] {
        guard let v = values[key] else { throw .manifest(field: name(key), problem: "is required") }
        guard let a = v as? [Any] else { throw .manifest(field: name(key), problem: "must be an array") }
        guard a.count <= 10_000 else { throw .manifest(field: name(key), problem: "has more than 10000 entries") }
        return a
    }

    func optionalArray(_ key: String) throws(StoreError) -> [Any]? {
        values[key] == nil ? nil : try array(key)
    }

    func stringArray(_ key: String, default fallback: [String]) throws(StoreError) -> [String] {
        guard values[key] != nil else { return fallback }
        var out: [String] = []
        for (i, item) in try array(key).enumerated() {
            guard let s = item as? String, !s.isEmpty else {
                throw .manifest(field: "\(name(key))[\(i)]", problem: "must be a non-empty string")
            }
            out.append(s)
        }
        return out
    }

    func optionalObject(_ key: String) throws(StoreError) -> Fields? {
        guard let v = values[key] else { return nil }
        return try Fields(v, at: name(key))
    }
}

extension Hex {
    static func isLowercaseHex(_ s: String) -> Bool {
        s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
