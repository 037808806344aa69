import AnimaCore
import Foundation

/// Which model runs when none is named: the user's default and per-agent choices, kept in
/// `models.json` in the configuration folder (`anima models default`).
///
/// A choice is a catalogue name (`qwen2.5-coder-0.5b`), a file in the model folder, or a
/// path. Without a choice the embedded SmolLM2 runs, which is what CI uses.
package struct ModelDefaults: Codable, Sendable, Hashable {
    /// The user's default model.
    package var user: String?
    /// Per agent (the name given to `anima run --memory`).
    package var agents: [String: String] = [:]

    package init() {}

    package static var url: URL { AnimaPaths.configuration.appendingPathComponent("models.json") }

    /// The saved choices; none when the file is missing. A damaged file is an error, not
    /// a silent fallback to another model.
    package static func load() throws -> ModelDefaults {
        guard let data = try DurableFile.read(url) else { return ModelDefaults() }
        do {
            return try JSONDecoder().decode(ModelDefaults.self, from: data)
        } catch {
            throw ModelChoiceError.damaged(url.path, reason: "\(error)")
        }
    }

    package func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(at: Self.url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try DurableFile.write(try encoder.encode(self), to: Self.url)
    }

    /// The path a choice names: a catalogue name or a file in the model folder, else a path.
    package static func resolve(_ choice: String) -> String {
        if let entry = ModelCatalog.entry(choice) { return AnimaPaths.models.appendingPathComponent(entry.fileName).path }
        let expanded = (choice as NSString).expandingTildeInPath
        if !expanded.contains("/") {
            let inFolder = AnimaPaths.models.appendingPathComponent(expanded)
            if FileManager.default.fileExists(atPath: inFolder.path) { return inFolder.path }
            if FileManager.default.fileExists(atPath: inFolder.path + ".gguf") { return inFolder.path + ".gguf" }
        }
        return expanded
    }

    /// The model for `agent` (or for the user when nil): `$ANIMA_MODEL` first, then the
    /// agent's choice, the user's, and SmolLM2.
    package static func model(agent: String?) throws -> String {
        if let path = ProcessInfo.processInfo.environment["ANIMA_MODEL"], !path.isEmpty { return path }
        let saved = try load()
        if let agent, let choice = saved.agents[agent] { return resolve(choice) }
        if let choice = saved.user { return resolve(choice) }
        return AnimaPaths.models.appendingPathComponent(AnimaPaths.defaultModelName).path
    }
}

/// Why a model choice cannot be used.
package enum ModelChoiceError: Error, CustomStringConvertible {
    case damaged(String, reason: String)
    case missing(String)

    package var description: String {
        switch self {
        case .damaged(let path, let reason): "\(path) is not a valid model choice file (\(reason)); fix it or remove it"
        case .missing(let path):
            "no model at \(path); install it with `anima models add NAME` or give a GGUF path"
        }
    }
}
