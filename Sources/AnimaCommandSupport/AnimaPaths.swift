import AnimaCore
import AnimaProviders
import AnimaServer
import Foundation

/// Where Anima keeps what setup downloads and builds.
package enum AnimaPaths {
    package static var cache: URL { URL(fileURLWithPath: AnimaDirectories.cache()) }

    package static var models: URL { cache.appendingPathComponent("models") }

    package static let defaultModelName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// The embedding model setup installs (memory search, `/v1/embeddings`).
    package static var defaultEmbedder: String { models.appendingPathComponent("all-MiniLM-L6-v2.F16.gguf").path }

    /// `$ANIMA_MODEL`, else the default model that setup installs.
    package static var defaultModel: String {
        if let path = ProcessInfo.processInfo.environment["ANIMA_MODEL"], !path.isEmpty { return path }
        return models.appendingPathComponent(defaultModelName).path
    }
}

extension AnimaPaths {
    /// Where configuration lives: `$ANIMA_CONFIG`, else `$XDG_CONFIG_HOME/anima`, else
    /// `~/.config/anima`.
    package static var configuration: URL { URL(fileURLWithPath: AnimaDirectories.config()) }

    /// The processor configuration `anima setup` writes.
    package static var processors: URL { configuration.appendingPathComponent("processors.json") }

    /// Sealed keys in the config directory; their sealing key in the data directory, apart.
    package static func credentialStore() throws -> CredentialStore {
        try CredentialStore(directory: configuration, keyDirectory: URL(fileURLWithPath: AnimaDirectories.data()))
    }
}
