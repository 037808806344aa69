import AnimaCore
import AnimaProcessor
import Foundation

/// The kernel's process table as files, like Linux's /proc: each running kernel writes a
/// status file a few times a second and reads signal requests from a control file, so
/// `anima ps`, `anima top` and `anima kill` work from another terminal without a daemon.
///
/// Files live in `$XDG_RUNTIME_DIR/anima` (else `~/.local/state/anima/run`), readable
/// only by their user.
public struct ProcFS: Sendable {
    /// What one kernel publishes.
    public struct Snapshot: Codable, Sendable {
        public var hostPID: Int32
        public var model: String
        public var policy: String
        public var slots: Int
        public var runningSequences: Int
        public var waitingRequests: Int
        public var generatedTokens: Int
        public var preemptions: Int
        /// Where the model's layers are ("all layers on the CPU", "28 of 28 layers ... on CUDA0").
        public var placement: String?
        /// The engine's settings, and what the kernel's tuner last decided about them; nil for
        /// an engine without settings.
        public var tuning: KernelTuner.Status?
        public var updated: Date
        public var processes: [ProcessStatus]
    }

    /// A signal request written by `anima kill`.
    public struct Request: Codable, Sendable {
        public var pid: PID
        public var signal: Signal
        public var user: String
    }

    public let directory: URL

    public init(directory: URL? = nil) {
        if let directory {
            self.directory = directory
        } else {
            self.directory = URL(fileURLWithPath: AnimaDirectories.runtime())
        }
    }

    func statusFile(_ host: Int32) -> URL { directory.appendingPathComponent("kernel-\(host).json") }
    func controlFile(_ host: Int32) -> URL { directory.appendingPathComponent("kernel-\(host).ctl") }

    /// Snapshots of every live kernel on this machine for this user; stale files of
    /// kernels that are gone are removed.
    public func kernels() -> [Snapshot] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return names.filter { $0.hasPrefix("kernel-") && $0.hasSuffix(".json") }.compactMap { name in
            let url = directory.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url), let snapshot = try? decoder.decode(Snapshot.self, from: data) else { return nil }
            guard kill(snapshot.hostPID, 0) == 0 || errno == EPERM else {
                try? FileManager.default.removeItem(at: url)
                try? FileManager.default.removeItem(at: controlFile(snapshot.hostPID))
                return nil
            }
            return snapshot
        }.sorted { $0.hostPID < $1.hostPID }
    }

    /// Asks the kernel in host process `host` to deliver `signal` to `pid`.
    public func request(_ signal: Signal, to pid: PID, inKernel host: Int32, user: String) throws {
        let line = try JSONEncoder().encode(Request(pid: pid, signal: signal, user: user)) + Data("\n".utf8)
        let url = controlFile(host)
        if !FileManager.default.fileExists(atPath: url.path) {
            FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    /// Publishes `kernel` until the task is cancelled, and carries out signal requests.
    /// Returns when cancelled, removing its files.
    public func serve(
        _ kernel: Kernel, engine: (any StatisticsReporting)?, policy: String, placement: String? = nil, tuner: KernelTuner? = nil,
        every interval: Duration = .milliseconds(250)
    ) async {
        let host = getpid()
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let control = controlFile(host)
        FileManager.default.createFile(atPath: control.path, contents: nil, attributes: [.posixPermissions: 0o600])
        defer {
            try? FileManager.default.removeItem(at: statusFile(host))
            try? FileManager.default.removeItem(at: control)
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        var consumed = 0
        while !Task.isCancelled {
            // Signal requests appended since the last look.
            if let data = try? Data(contentsOf: control), data.count > consumed {
                let fresh = data[consumed...]
                consumed = data.count
                for line in fresh.split(separator: UInt8(ascii: "\n")) {
                    guard let request = try? JSONDecoder().decode(Request.self, from: Data(line)) else { continue }
                    try? await kernel.signal(request.pid, request.signal, from: Principal(name: request.user))
                }
            }
            let stats = engine?.statistics
            let snapshot = Snapshot(
                hostPID: host, model: kernel.processor?.info.name ?? "none", policy: policy,
                slots: kernel.processor?.timeSharing?.slotCount ?? 1,
                runningSequences: stats?.runningSequences ?? 0, waitingRequests: stats?.waitingRequests ?? 0,
                generatedTokens: stats?.generatedTokens ?? 0, preemptions: stats?.preemptions ?? 0, placement: placement,
                tuning: await tuningStatus(engine: engine, tuner: tuner), updated: Date(),
                processes: await kernel.processes())
            if let data = try? encoder.encode(snapshot) {
                let tmp = directory.appendingPathComponent(".kernel-\(host).json.tmp")
                if FileManager.default.createFile(atPath: tmp.path, contents: data, attributes: [.posixPermissions: 0o600]) {
                    _ = rename(tmp.path, statusFile(host).path)
                }
            }
            try? await Task.sleep(for: interval)
        }
    }

    private func tuningStatus(engine: (any StatisticsReporting)?, tuner: KernelTuner?) async -> KernelTuner.Status? {
        if let tuner { return await tuner.status }
        guard let engine = engine as? any TunableEngine else { return nil }
        return KernelTuner.Status(settings: engine.settings, state: "fixed (--tune lets the kernel tune them)", kept: 0, reverted: 0)
    }
}
