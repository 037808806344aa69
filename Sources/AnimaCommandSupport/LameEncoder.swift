import AnimaCore
import AnimaProcessor
import AnimaTools
import Foundation

/// MP3 by Debian's `lame`, run sandboxed (no network, its own user, a scratch folder as
/// /workspace): the WAV goes in as a file and the MP3 comes back as one.
package struct LameEncoder: Sendable {
    package let lame: String
    package let sandbox: Sandbox

    /// `lame` where Debian installs it, or nil.
    package static func installed(sandbox: Sandbox = Sandbox()) -> LameEncoder? {
        ["/usr/bin/lame", "/usr/local/bin/lame"].first { FileManager.default.isExecutableFile(atPath: $0) }.map {
            LameEncoder(lame: $0, sandbox: sandbox)
        }
    }

    package func encode(_ clip: AudioClip) async throws -> [UInt8] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("anima-mp3-\(Hex.randomID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: folder) }
        // Under root the sandbox runs as its own user, which must write the result.
        if getuid() == 0 { chown(folder.path, sandbox.sandboxUID, sandbox.sandboxUID) }
        try Data(WAVCodec.encode(clip)).write(to: folder.appendingPathComponent("in.wav"))
        let policy = SandboxPolicy(
            workspace: folder.path,
            limits: SandboxLimits(cpuSeconds: 60, memoryBytes: 512 << 20, wallTime: .seconds(60), outputBytes: 64 << 10, cpus: 1))
        let result = try await sandbox.run([lame, "--quiet", "-b", "64", "in.wav", "out.mp3"], policy: policy)
        guard case .exited(0) = result.termination, let mp3 = FileManager.default.contents(atPath: folder.path + "/out.mp3") else {
            throw AudioError.engineFailure("lame \(result.termination): \(result.stderr.suffix(400))")
        }
        return Array(mp3)
    }
}
