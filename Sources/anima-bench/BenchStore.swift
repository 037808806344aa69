import AnimaCommandSupport
import AnimaCore
import AnimaStore
import ArgumentParser
import Foundation

struct BenchStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Package verification throughput against sha256sum, and the cached re-check before load.",
        discussion: """
            Installs --package from --registry (by default the one `make setup` builds, whose
            project key it trusts) into a temporary store, then, in the same run:
              verify:   a full verification of the installed package (signature, trust, every
                        file re-hashed), --runs times, alternating with
              sha256sum the same files, --runs times (the anchor);
              recheck:  the check before every load (`verifyForLoad`: digests cached by inode
                        and times), --rechecks times.
            Reports MB/s of each, the ratio verify/sha256sum (goal >= 0.90), and the re-check's
            p50/p99 in milliseconds (goal < 5 ms).

            Example:
              anima-bench store --package qwen2.5-coder-1.5b-instruct-q4-k-m
            """)

    @Option(help: "The registry folder.") var registry = AnimaDirectories.cache() + "/registry"
    @Option(help: "The package to install and verify (default: the largest in the registry).") var package: String?
    @Option(help: NumericFlag.help("Runs of each full verification.", 1...100), transform: NumericFlag.integer(1...100))
    var runs = 3
    @Option(help: NumericFlag.help("Cached re-checks to time.", 1...100_000), transform: NumericFlag.integer(1...100_000))
    var rechecks = 200

    mutating func run() async throws {
        let temp = URL(fileURLWithPath: NSTemporaryDirectory() + "anima-bench-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temp) }
        let store = PackageStore(directory: temp)
        let project = try String(contentsOfFile: registry + "/anima-project.pub.pem", encoding: .utf8)
        try store.trust.add("anima-project", pem: project)
        let source = RegistrySource(registry)
        let index = try await store.index(from: source)
        guard let entry = package.flatMap({ index.latest($0) }) ?? index.packages.max(by: { $0.size < $1.size }) else {
            throw ValidationError("no such package in \(registry)")
        }
        print("installing \(entry.name) \(entry.version) (\(entry.size) bytes)")
        let grantNothing: PackageStore.Grant = { (_: PackageManifest, _: [String]?) throws(StoreError) -> Set<String> in [] }
        _ = try await store.install(entry, from: source, grant: grantNothing)
        let folder = store.path(of: entry.name)
        let files = try PackageFiles.list(folder).keys.sorted().map { folder.path + "/" + $0 }
        let bytes = try files.reduce(Int64(0)) { $0 + ((try FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int64) ?? 0) }
        let root = try store.trust.load()
        let clock = ContinuousClock()
        var anima: [Double] = []
        var anchor: [Double] = []
        for _ in 0..<runs {
            anima.append(try clock.measure { _ = try PackageVerifier.verify(folder, trust: root) }.seconds)
            anchor.append(
                try clock.measure {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
                    p.arguments = files
                    p.standardOutput = FileHandle.nullDevice
                    try p.run()
                    p.waitUntilExit()
                    guard p.terminationStatus == 0 else { throw ValidationError("sha256sum failed") }
                }.seconds)
        }
        let mb = Double(bytes) / 1_000_000
        let animaRate = mb / median(anima)
        let anchorRate = mb / median(anchor)
        print("files: \(files.count), \(String(format: "%.1f", mb)) MB")
        print(String(format: "verify (anima):   %.0f MB/s  (median of %d; best %.0f)", animaRate, runs, mb / anima.min()!))
        print(String(format: "sha256sum:        %.0f MB/s  (median of %d; best %.0f)", anchorRate, runs, mb / anchor.min()!))
        print(String(format: "ratio verify/sha256sum: %.2f (goal >= 0.90)", animaRate / anchorRate))
        _ = try store.verifyForLoad(entry.name)  // the cache as install left it, warm
        var times: [Double] = []
        for _ in 0..<rechecks { times.append(try clock.measure { _ = try store.verifyForLoad(entry.name) }.seconds * 1000) }
        times.sort()
        print(
            String(
                format: "cached re-check before load: p50 %.3f ms, p99 %.3f ms (goal < 5 ms)", times[times.count / 2],
                times[min(times.count - 1, times.count * 99 / 100)]))
    }

    func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
