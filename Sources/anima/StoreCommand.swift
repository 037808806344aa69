import AnimaCommandSupport
import AnimaCore
import AnimaStore
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `anima store`: signed packages of models, agents, tools, skills and workflows.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Install, verify, sign and publish signed packages (models, agents, tools, skills, workflows).",
        discussion: """
            Every package is signed in OpenSSF model-signing's format and verified at install
            and before every load; its publisher must be in the trust store. Installing shows
            the permissions a package asks for and grants only those you accept.

            Examples:
              anima store search
              anima store info smollm2-135m-instruct
              anima store install smollm2-135m-instruct --grant none
              anima store install web-agent --grant network
              anima store trust add acme acme.pub.pem
              anima store keygen --out me.pem
              anima store sign ./my-package --key me.pem
              anima store publish ./my-package --key me.pem --to ./registry
              anima store serve ./registry --port 8765
            """,
        subcommands: [
            StoreSearch.self, StoreInfo.self, StoreInstall.self, StoreUpdate.self, StoreRemove.self, StoreList.self, StorePublish.self,
            StoreSign.self, StoreVerify.self, StoreKeygen.self, StoreTrust.self, StoreServe.self,
        ]
    )
}

struct StoreOptions: ParsableArguments {
    @Option(help: "The registry: a folder or an http(s) URL (default: $ANIMA_REGISTRY, else the one `make setup` builds).")
    var registry: String?

    @Option(help: ArgumentHelp("Where installed packages and the trust store live (default: <data>/store).", visibility: .hidden))
    var storeDir: String?

    /// The package store, recording what it changes in the audit log of the data
    /// directory that holds it (`<data>/store` by default, so `<data>/audit.log`).
    func store() throws -> PackageStore {
        guard let storeDir else { return try InstalledStore.at(URL(fileURLWithPath: AnimaDirectories.data())) }
        var store = PackageStore(directory: URL(fileURLWithPath: storeDir))
        store.audit = try StoreAudit(
            dataDirectory: store.directory.deletingLastPathComponent().path, owner: CurrentUser.principal.name)
        return store
    }

    var source: RegistrySource {
        let env = ProcessInfo.processInfo.environment
        return RegistrySource(registry ?? env["ANIMA_REGISTRY"].flatMap { $0.isEmpty ? nil : $0 } ?? AnimaDirectories.cache() + "/registry")
    }
}

struct StoreSearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Packages in the registry whose name or description match.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "Words to look for (none: everything).") var words: [String] = []

    mutating func run() async throws {
        let index = try await options.store().index(from: options.source)
        let wanted = words.map { $0.lowercased() }
        let hits = index.packages.filter { e in wanted.allSatisfy { (e.name + " " + e.description).lowercased().contains($0) } }
        if hits.isEmpty { print("no packages match") }
        for e in hits {
            print(
                "\(e.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(e.version.padding(toLength: 9, withPad: " ", startingAt: 0)) \(e.kind.padding(toLength: 9, withPad: " ", startingAt: 0)) \(e.description)"
            )
        }
    }
}

struct StoreInfo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "A package's bill of materials: source, build inputs, signer, digests, licence, permissions.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "An installed package, or one in the registry.") var name: String
    @Flag(help: "Print JSON for tools.") var json = false

    mutating func run() async throws {
        let store = try options.store()
        let bom: BillOfMaterials
        if try store.installed(name) != nil {
            let (record, verified) = try store.verifyForLoad(name)
            bom = BillOfMaterials(installed: record, verified: verified)
        } else {
            let index = try await store.index(from: options.source)
            guard let entry = index.latest(name) else { throw StoreError.notFound(name) }
            bom = BillOfMaterials(entry: entry, registry: options.source.description)
        }
        print(json ? bom.json : bom.text)
    }
}

struct StoreInstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Download, verify and install a package, granting only the permissions you accept.",
        discussion: """
            Without --grant, each permission the package asks for is shown and you answer y or
            n. --grant lists what you accept (comma-separated; `none` for nothing, `all` for
            everything asked). An archive file (.tar) can be given instead of a name.
            The packages it depends on are installed first, from the same registry, each
            verified and granted the same way. A tool package's MCP server then serves in
            `anima tools`, `run --tools`, `serve` and `mcp`; a workflow package's workflows
            are added (`anima workflow list`; `store remove` takes them away); a skill
            package's skills are offered to `anima do`. Every change is a line of the audit
            log (`anima audit`).
            """)
    @OptionGroup var options: StoreOptions
    @Argument(help: "The package's name, or a package archive.") var name: String
    @Option(help: "Permissions to grant, comma-separated (none, all, or names such as network,files).") var grant: String?

    mutating func run() async throws {
        let store = try options.store()
        let grant = Permissions.grant(grant)
        let before = Set(try store.list().map(\.name))
        let record: InstalledPackage
        if name.hasSuffix(".tar") {
            record = try store.install(archive: URL(fileURLWithPath: name), source: name, grant: grant)
        } else {
            // Dependencies first, each verified and granted like the package itself.
            var bar: ProgressBar?
            let all = try await store.installResolving(name, from: options.source, grant: grant) { entry, done, total in
                if bar?.label != "\(entry.name) \(entry.version)" {
                    bar?.finish()
                    bar = ProgressBar(label: "\(entry.name) \(entry.version)")
                }
                bar?.update(done, total)
            }
            bar?.finish()
            for dependency in all.dropLast() { print("installed \(dependency.name) \(dependency.version) (a dependency)") }
            guard let last = all.last else { throw StoreError.notFound(name) }
            record = last
            try await StoreWorkflows.registerAll(all.dropLast(), store: store, before: before)
        }
        // A workflow package's workflows join `anima workflow list` (refused: the package goes again).
        try await StoreWorkflows.registerAll([record], store: store, before: before)
        print("installed \(record.name) \(record.version) from \(record.publisher), verified (root digest \(record.rootDigest.prefix(16)))")
        print("granted: \(record.granted.isEmpty ? "nothing" : record.granted.joined(separator: ", "))")
        let refused = record.requested.filter { !record.granted.contains($0) }
        if !refused.isEmpty { print("not granted: \(refused.joined(separator: ", "))") }
    }
}

struct StoreUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Install newer versions of installed packages (never older ones).")
    @OptionGroup var options: StoreOptions
    @Argument(help: "Packages to update (none: all).") var names: [String] = []
    @Option(help: "Permissions to grant to what an update newly asks for.") var grant: String?

    mutating func run() async throws {
        let store = try options.store()
        let index = try await store.index(from: options.source)
        let targets =
            names.isEmpty
            ? try store.list()
            : try names.map { (n: String) throws -> InstalledPackage in
                guard let r = try store.installed(n) else { throw StoreError.notInstalled(n) }
                return r
            }
        let grant = Permissions.grant(grant, keepingPrevious: true)
        for installed in targets {
            guard let entry = index.latest(installed.name), let offered = PackageVersion(entry.version),
                let have = PackageVersion(installed.version)
            else { print("\(installed.name): not in the registry"); continue }
            if offered < have { throw StoreError.downgrade(name: installed.name, installed: installed.version, offered: entry.version) }
            if offered == have { print("\(installed.name) \(installed.version) is up to date"); continue }
            // What the new release newly depends on comes first, verified and granted the same way.
            var bar: ProgressBar?
            let all = try await store.installResolving(installed.name, in: index, from: options.source, grant: grant) { e, done, total in
                if bar?.label != "\(e.name) \(e.version)" {
                    bar?.finish()
                    bar = ProgressBar(label: "\(e.name) \(e.version)")
                }
                bar?.update(done, total)
            }
            bar?.finish()
            try await StoreWorkflows.registerAll(all, store: store)
            for dependency in all.dropLast() { print("installed \(dependency.name) \(dependency.version) (a new dependency)") }
            print("updated \(installed.name) \(installed.version) → \(all.last?.version ?? entry.version)")
        }
    }
}

struct StoreRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove an installed package.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The package's name.") var name: String

    mutating func run() async throws {
        let store = try options.store()
        // Its workflows go with it (the store keeps which it registered).
        for workflow in try await StoreWorkflows.unregister(name, store: store) { print("removed workflow \(workflow)") }
        try store.remove(name)
        print("removed \(name)")
    }
}

struct StoreList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Installed packages and what they were granted.")
    @OptionGroup var options: StoreOptions

    mutating func run() async throws {
        let all = try options.store().list()
        if all.isEmpty { print("no packages installed; `anima store search` lists what the registry offers") }
        for p in all {
            print(
                "\(p.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(p.version.padding(toLength: 9, withPad: " ", startingAt: 0)) \(p.kind.padding(toLength: 9, withPad: " ", startingAt: 0)) granted: \(p.granted.isEmpty ? "nothing" : p.granted.joined(separator: ","))"
            )
        }
    }
}

struct StoreSign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign", abstract: "Sign a package folder (writes model.sig, an OpenSSF model-signing bundle).")
    @Argument(help: "The package folder (with anima-package.json).") var directory: String
    @Option(help: "The PEM ECDSA P-256 private key.") var key: String

    mutating func run() async throws {
        let k = try SigningKey(pem: try String(contentsOfFile: key, encoding: .utf8))
        let statement = try RegistryPublisher.sign(URL(fileURLWithPath: directory), key: k)
        print("signed \(statement.resources.count) files; root digest \(statement.rootDigest); key \(k.publicKey.hint.prefix(16))")
    }
}

struct StoreVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a package folder, or an installed package, against the trust store (or one public key).",
        discussion: """
            With --key the folder need not be an Anima package: any folder signed with
            `model_signing sign key` verifies against that key.
            """)
    @OptionGroup var options: StoreOptions
    @Argument(help: "A package folder, or the name of an installed package.") var target: String
    @Option(help: "Verify against this PEM public key instead of the trust store.") var key: String?
    @Option(help: "The signature file (default: model.sig inside the folder).") var signature: String?

    mutating func run() async throws {
        let folder = URL(fileURLWithPath: target)
        var isDir: ObjCBool = false
        if let key {
            let pub = try PublicKey(pem: try String(contentsOfFile: key, encoding: .utf8))
            let sigFile = signature.map { URL(fileURLWithPath: $0) } ?? folder.appendingPathComponent(SignatureBundle.fileName)
            let statement = try KeyVerification.verify(folder, signature: sigFile, key: pub)
            print("verified \(statement.resources.count) files of \(statement.subject); root digest \(statement.rootDigest)")
        } else if FileManager.default.fileExists(atPath: target, isDirectory: &isDir), isDir.boolValue {
            let v = try PackageVerifier.verify(folder, trust: try options.store().trust.load())
            print("verified \(v.manifest.name) \(v.manifest.version) signed by \(v.signer.name); root digest \(v.statement.rootDigest)")
        } else {
            let (record, _) = try options.store().verifyForLoad(target)
            print("verified \(record.name) \(record.version) signed by \(record.publisher); root digest \(record.rootDigest)")
        }
    }
}

struct StoreKeygen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Make an ECDSA P-256 signing key (KEY.pem, mode 0600) and its public key (KEY.pub.pem).")
    @Option(help: "Where to write the private key.") var out: String

    mutating func run() async throws {
        guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) exists; choose another path") }
        let key = SigningKey.generate()
        try DurableFile.write(Data(key.pem.utf8), to: URL(fileURLWithPath: out), mode: 0o600)
        let pub = (out.hasSuffix(".pem") ? String(out.dropLast(4)) : out) + ".pub.pem"
        try DurableFile.write(Data(key.publicKey.pem.utf8), to: URL(fileURLWithPath: pub), mode: 0o644)
        print("private key \(out), public key \(pub), hint \(key.publicKey.hint)")
    }
}

struct StorePublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish", abstract: "Add a signed package to a registry folder and re-sign its index.")
    @Argument(help: "The signed package folder.") var directory: String
    @Option(help: "The registry folder.") var to: String
    @Option(help: "The PEM private key that signed the package (it signs the index too).") var key: String
    @Flag(help: "Sign the package first.") var sign = false

    mutating func run() async throws {
        let k = try SigningKey(pem: try String(contentsOfFile: key, encoding: .utf8))
        if sign { try RegistryPublisher.sign(URL(fileURLWithPath: directory), key: k) }
        let entry = try RegistryPublisher.publish(URL(fileURLWithPath: directory), to: URL(fileURLWithPath: to), key: k)
        print("published \(entry.name) \(entry.version) (\(entry.size) bytes, sha256 \(entry.sha256.prefix(16))) to \(to)")
    }
}

struct StoreTrust: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust", abstract: "The publishers whose keys you trust (a signed root with roles and expiry).",
        subcommands: [StoreTrustList.self, StoreTrustAdd.self, StoreTrustRevoke.self, StoreTrustRenew.self],
        defaultSubcommand: StoreTrustList.self)
}

struct StoreTrustList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Trusted publishers.")
    @OptionGroup var options: StoreOptions

    mutating func run() async throws {
        let root = try options.store().trust.load()
        if root.publishers.isEmpty { print("no trusted publishers; `anima store trust add NAME KEY.pem` adds one") }
        if root.version > 0 { print("trust root version \(root.version), expires \(root.expires.formatted(.iso8601))") }
        for p in root.publishers {
            let state =
                p.revoked.map { "revoked \($0.formatted(.iso8601))" } ?? p.expires.map { "expires \($0.formatted(.iso8601))" }
                ?? "no expiry"
            print(
                "\(p.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(p.hint.prefix(16))  \(p.roles.joined(separator: ","))  \(state)"
            )
        }
    }
}

struct StoreTrustAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Trust a publisher's public key.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The publisher's name, as packages give it.") var name: String
    @Argument(help: "The publisher's PEM public key.") var key: String
    @Option(help: "Roles, comma-separated: packages, index.") var roles = "packages,index"
    @Option(
        help: NumericFlag.help("Days until the key expires (none: no expiry).", 1...36500), transform: NumericFlag.integer(1...36500))
    var days: Int?

    mutating func run() async throws {
        let pem = try String(contentsOfFile: key, encoding: .utf8)
        let p = try options.store().trust.add(
            name, pem: pem, roles: roles.split(separator: ",").map(String.init),
            expires: days.map { Date().addingTimeInterval(Double($0) * 86400) })
        print("trusted \(p.name) (key \(p.hint.prefix(16)), roles \(p.roles.joined(separator: ",")))")
    }
}

struct StoreTrustRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a publisher's key: nothing it signed loads any more.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The publisher's name.") var name: String

    mutating func run() async throws {
        try options.store().trust.revoke(name)
        print("revoked \(name)")
    }
}

struct StoreTrustRenew: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "renew", abstract: "Re-sign the trust root with a fresh expiry.")
    @OptionGroup var options: StoreOptions

    mutating func run() async throws {
        try options.store().trust.renew()
        print("trust root renewed")
    }
}

/// What `--grant` (or the user at the terminal) accepts.
enum Permissions {
    static func grant(_ flag: String?, keepingPrevious: Bool = false) -> PackageStore.Grant {
        { (manifest: PackageManifest, previous: [String]?) throws(StoreError) -> Set<String> in
            let asked = manifest.requests.permissions
            if let flag {
                let names = Set(flag.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                if names.contains("all") { return Set(asked) }
                if names == ["none"] { return Set(previous ?? []) }
                return names.union(keepingPrevious ? previous ?? [] : [])
            }
            let fresh = asked.filter { !(previous ?? []).contains($0) }
            if fresh.isEmpty { return Set(previous ?? []) }
            guard isatty(0) != 0 else {
                // Without a terminal nothing new is granted: the install or update says what to pass to --grant.
                throw StoreError.notGranted(package: manifest.name, missing: fresh)
            }
            print("\(manifest.name) \(manifest.version) by \(manifest.publisher) asks for:")
            var accepted = Set(previous ?? [])
            for p in fresh {
                print("  \(p): \(describe(p)) — allow? [y/N] ", terminator: "")
                fflush(nil)
                if readLine()?.lowercased().hasPrefix("y") == true { accepted.insert(p) }
            }
            return accepted
        }
    }

    static func describe(_ permission: String) -> String {
        switch permission {
        case "network": "reach the internet"
        case "files": "read and write files in its workspace"
        case "shell": "run shell commands in the sandbox"
        case "memory": "read and write your agents' memory"
        case "cloud-models": "send text to cloud models"
        default: permission.hasPrefix("data:") ? "read data of group \(permission.dropFirst(5))" : "act as a member of group \(permission)"
        }
    }
}

/// A one-line progress bar on standard error.
final class ProgressBar: @unchecked Sendable {
    let label: String
    private var last = -1
    init(label: String) { self.label = label }

    func update(_ done: Int64, _ total: Int64) {
        let percent = total > 0 ? Int(done * 100 / total) : 100
        guard percent != last else { return }
        last = percent
        let filled = percent / 4
        FileHandle.standardError.write(
            Data(
                "\r\(label) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: 25 - filled))] \(percent)% of \(total) bytes"
                    .utf8))
    }

    func finish() { FileHandle.standardError.write(Data("\n".utf8)) }
}
