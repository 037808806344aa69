// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "Anima",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "anima", targets: ["anima"]),
        .executable(name: "anima-bench", targets: ["anima-bench"]),
        .library(name: "AnimaCore", targets: ["AnimaCore"]),
        .library(name: "AnimaProcessor", targets: ["AnimaProcessor"]),
        .library(name: "AnimaLlama", targets: ["AnimaLlama"]),
        .library(name: "AnimaProviders", targets: ["AnimaProviders"]),
        .library(name: "AnimaStorage", targets: ["AnimaStorage"]),
        .library(name: "AnimaMemory", targets: ["AnimaMemory"]),
        .library(name: "AnimaKernel", targets: ["AnimaKernel"]),
        .library(name: "AnimaSecurity", targets: ["AnimaSecurity"]),
        .library(name: "AnimaTools", targets: ["AnimaTools"]),
        .library(name: "AnimaServer", targets: ["AnimaServer"]),
        .library(name: "AnimaStore", targets: ["AnimaStore"]),
        .library(name: "AnimaAutomation", targets: ["AnimaAutomation"]),
        .library(name: "AnimaWeb", targets: ["AnimaWeb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    ],
    targets: [
        // llama.cpp, built by scripts/setup.sh into ~/.cache/anima and found through pkg-config.
        .systemLibrary(name: "CLlama", pkgConfig: "llama"),
        .target(name: "AnimaCore", swiftSettings: strict),
        // The processor's interface: requests, LanguageModel, TimeSharedModel, statistics, capabilities.
        .target(name: "AnimaProcessor", dependencies: ["AnimaCore"], swiftSettings: strict),
        // The llama.cpp engine; the only importer of CLlama.
        .target(name: "AnimaLlama", dependencies: ["AnimaCore", "AnimaProcessor", "CLlama", "CWhisper", "CEspeak"], swiftSettings: strict),
        // Voice (issue 23): whisper.cpp, built by scripts/setup-voice.sh on llama.cpp's ggml, and
        // Debian's espeak-ng; AnimaLlama is the only importer of both.
        .systemLibrary(name: "CWhisper", pkgConfig: "whisper"),
        .systemLibrary(name: "CEspeak", pkgConfig: "espeak-ng"),
        // Remote processors over HTTP, the hybrid router and the provider credential store.
        .target(
            name: "AnimaProviders",
            dependencies: [
                "AnimaCore", "AnimaProcessor",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // Test support: scripted models, a virtual clock, a server that replays recorded
        // provider exchanges. For tests and anima-bench only, never for a product module.
        .target(
            name: "AnimaTesting",
            dependencies: [
                "AnimaCore", "AnimaProcessor",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "AnimaKernel", dependencies: ["AnimaCore", "AnimaProcessor", "AnimaMemory", "AnimaSecurity", "AnimaTools"],
            swiftSettings: strict),
        // Principals and groups, provenance policies, guards (the guard model too), delimiters,
        // the audit trails and the hash-chained log.
        .target(
            name: "AnimaSecurity",
            dependencies: ["AnimaCore", "AnimaProcessor", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // Debian's libseccomp-dev: builds the sandbox's seccomp filter, and the fork/exec
        // that sets resource limits before bubblewrap runs.
        .target(name: "CSandbox", linkerSettings: [.linkedLibrary("seccomp")]),
        .target(
            name: "AnimaTools",
            dependencies: [
                "AnimaCore", "CSandbox",
                .product(name: "BigInt", package: "BigInt"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "anima",
            dependencies: [
                "AnimaCore", "AnimaProcessor", "AnimaLlama", "AnimaProviders", "AnimaKernel", "AnimaMemory", "AnimaStorage",
                "AnimaServer", "AnimaSecurity", "AnimaTools", "AnimaCommandSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "AnimaStore", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                "AnimaAutomation",
                "AnimaWeb",
            ],
            swiftSettings: strict
        ),
        // What both executables need: numeric flags, model, kernel and daemon options, paths.
        .target(
            name: "AnimaCommandSupport",
            dependencies: [
                "AnimaCore", "AnimaProcessor", "AnimaLlama", "AnimaProviders", "AnimaKernel", "AnimaMemory", "AnimaStorage",
                "AnimaServer", "AnimaTools",
                "AnimaAutomation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                "AnimaWeb",
                // Tool packages for every command and daemon that loads tools (issue 21).
                "AnimaStore",
            ],
            swiftSettings: strict
        ),
        // The benchmarks and the scripted daemon for load tests: never in the anima binary.
        .executableTarget(
            name: "anima-bench",
            dependencies: [
                "AnimaCore", "AnimaProcessor", "AnimaLlama", "AnimaProviders", "AnimaKernel", "AnimaMemory", "AnimaStorage",
                "AnimaServer", "AnimaSecurity", "AnimaTools", "AnimaTesting", "AnimaCommandSupport",
                "AnimaAutomation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                "AnimaStore",
                "AnimaWeb",
            ],
            swiftSettings: strict
        ),
        // hnswlib (Debian's libhnswlib-dev, header-only) behind an extern "C" header.
        .target(
            name: "CHNSW",
            cxxSettings: [.unsafeFlags(["-O3", "-std=c++17"])],
            linkerSettings: [.linkedLibrary("stdc++")]
        ),
        .target(
            name: "AnimaStorage",
            dependencies: [
                "AnimaCore", "CHNSW",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(name: "AnimaMemory", dependencies: ["AnimaCore", "AnimaProcessor", "AnimaStorage"], swiftSettings: strict),
        .target(
            name: "AnimaServer",
            dependencies: [
                "AnimaCore", "AnimaProcessor", "AnimaKernel", "AnimaMemory", "AnimaSecurity",
                "AnimaAutomation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // Workflows, triggers and durable runs (issue 20).
        .target(
            name: "AnimaAutomation",
            dependencies: [
                "AnimaCore", "AnimaKernel",
                // Task graphs: generation requests, and acceptance tests run in the sandbox (issue 19).
                "AnimaProcessor", "AnimaTools",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AnimaAutomationTests",
            dependencies: [
                "AnimaAutomation", "AnimaCore", "AnimaKernel", "AnimaTesting", "AnimaSecurity", "AnimaProcessor", "AnimaTools",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "AnimaServerTests",
            dependencies: [
                "AnimaServer", "AnimaMemory", "AnimaStorage", "AnimaCore", "AnimaKernel", "AnimaProcessor", "AnimaTesting", "AnimaSecurity",
                "AnimaAutomation",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The crash-safety test kills `anima-bench memory write` mid-run.
        .testTarget(
            name: "AnimaStorageTests",
            dependencies: ["AnimaCore", "AnimaStorage", "anima-bench", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
        .testTarget(
            name: "AnimaMemoryTests",
            dependencies: ["AnimaCore", "AnimaMemory", "AnimaProcessor", "AnimaLlama", "AnimaStorage", "AnimaTesting"],
            swiftSettings: strict),
        .testTarget(name: "AnimaCoreTests", dependencies: ["AnimaCore"], swiftSettings: strict),
        .testTarget(name: "AnimaTestingTests", dependencies: ["AnimaTesting", "AnimaProcessor", "AnimaCore"], swiftSettings: strict),
        .testTarget(
            name: "LlamaEngineTests", dependencies: ["AnimaCore", "AnimaProcessor", "AnimaLlama", "AnimaKernel", "AnimaSecurity"],
            swiftSettings: strict),
        .testTarget(
            name: "AnimaKernelTests",
            dependencies: [
                "AnimaCore", "AnimaKernel", "AnimaMemory", "AnimaStorage", "AnimaSecurity", "AnimaProcessor", "AnimaProviders",
                "AnimaTesting",
            ],
            swiftSettings: strict),
        .testTarget(
            name: "AnimaSecurityTests",
            dependencies: ["AnimaCore", "AnimaSecurity", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        // The escape suite and the tools' tests; one goes through the kernel's agent loop.
        .testTarget(
            name: "AnimaToolsTests",
            dependencies: [
                "AnimaCore", "AnimaTools", "AnimaKernel", "AnimaProcessor", "AnimaSecurity", "AnimaTesting",
                .product(name: "MCP", package: "swift-sdk"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "AnimaCLITests",
            dependencies: ["anima", "anima-bench", "AnimaCore", "AnimaTesting", "AnimaCommandSupport", "AnimaAutomation", "AnimaTools"],
            swiftSettings: strict),
        // Property-based and fuzz tests: the JSON parser, the schema-to-grammar compiler, the
        // chat wire format and the MCP endpoint, from a fixed seed within a time budget.
        .testTarget(
            name: "AnimaFuzzTests",
            dependencies: [
                "AnimaCore", "AnimaProcessor", "AnimaLlama", "AnimaServer", "AnimaKernel", "AnimaTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        // Fixtures are read from the source tree (#filePath), not bundled.
        .testTarget(
            name: "ProviderTests",
            dependencies: [
                "AnimaCore", "AnimaProcessor", "AnimaProviders", "AnimaTesting", "AnimaServer", "AnimaKernel",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        // The app store: signed packages (OpenSSF model-signing bundles), trust, registries.
        .target(
            name: "AnimaStore",
            dependencies: ["AnimaCore", "AnimaSecurity", "AnimaStorage", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AnimaStoreTests",
            dependencies: [
                "AnimaStore", "AnimaCore", "AnimaKernel", "AnimaProcessor", "AnimaSecurity", "AnimaTesting",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // Voice (issue 23): WAV, voice activity, whisper.cpp and espeak-ng round trips, the
        // audio routes (with the official openai client) and `anima voice`.
        .testTarget(
            name: "AnimaVoiceTests",
            dependencies: [
                "AnimaCore", "AnimaProcessor", "AnimaLlama", "AnimaServer", "AnimaKernel", "AnimaTesting", "AnimaSecurity",
                "AnimaCommandSupport", "anima",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        // The web console (issue 22): passkeys (WebAuthn), sessions and server-rendered views,
        // mounted by the daemon at / on the API port.
        .target(
            name: "AnimaWeb",
            dependencies: [
                "AnimaCore", "AnimaKernel", "AnimaMemory", "AnimaSecurity", "AnimaAutomation", "AnimaProcessor",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AnimaWebTests",
            dependencies: [
                "AnimaWeb", "AnimaCore", "AnimaKernel", "AnimaSecurity", "AnimaMemory", "AnimaProcessor", "AnimaTesting", "AnimaStorage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Interop"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
