// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "Anima",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "anima", targets: ["anima"]),
        .library(name: "AnimaCore", targets: ["AnimaCore"]),
        .library(name: "AnimaProcessor", targets: ["AnimaProcessor"]),
        .library(name: "AnimaKernel", targets: ["AnimaKernel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // llama.cpp, built by scripts/setup.sh into ~/.cache/anima and found through pkg-config.
        .systemLibrary(name: "CLlama", pkgConfig: "llama"),
        .target(name: "AnimaCore", swiftSettings: strict),
        .target(name: "AnimaProcessor", dependencies: ["AnimaCore", "CLlama"], swiftSettings: strict),
        .target(name: "AnimaKernel", dependencies: ["AnimaCore", "AnimaProcessor"], swiftSettings: strict),
        .executableTarget(
            name: "anima",
            dependencies: [
                "AnimaCore", "AnimaProcessor", "AnimaKernel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "AnimaCoreTests", dependencies: ["AnimaCore"], swiftSettings: strict),
        .testTarget(name: "AnimaProcessorTests", dependencies: ["AnimaProcessor"], swiftSettings: strict),
        .testTarget(name: "LlamaEngineTests", dependencies: ["AnimaProcessor", "AnimaKernel"], swiftSettings: strict),
        .testTarget(name: "AnimaKernelTests", dependencies: ["AnimaKernel"], swiftSettings: strict),
        .testTarget(name: "AnimaCLITests", dependencies: ["anima"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
