import AnimaCommandSupport
import AnimaCore
import AnimaProcessor
import ArgumentParser
import Foundation

/// One utterance from the default ALSA capture device, through `arecord` (alsa-utils, found
/// on PATH), transcribed as it ends: the live transcriber starts Whisper during the closing
/// pause, so the words are ready about when the pause has lasted long enough to end the turn.
enum Microphone {
    static let rate = 16_000

    /// The recorder on `path` (a PATH value), then in /usr/bin and /bin.
    static func recorder(path: String?) -> String? {
        let folders = (path ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/bin"]
        return folders.map { $0 + "/arecord" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// What was heard, and when the end of the utterance was known (its closing pause over).
    struct Utterance {
        var heard: LiveTranscriber.Heard
        var ended: ContinuousClock.Instant
    }

    /// Listens until the first utterance ends, or `maxSeconds` of recording, and returns it
    /// transcribed. The recorder is stopped either way.
    static func listen(recognizer: any SpeechRecognizer, maxSeconds: Double) async throws -> Utterance {
        guard let arecord = recorder(path: ProcessInfo.processInfo.environment["PATH"]) else {
            throw ValidationError("no microphone recorder: install alsa-utils (arecord), or record to a file and use --in")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arecord)
        process.arguments = ["-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", "\(rate)", "-d", "\(Int(maxSeconds.rounded(.up)))"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        // Started from a Swift concurrency thread, the recorder inherits its blocked signals:
        // SIGTERM may never reach it, SIGKILL always does.
        defer {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        Terminal.error("listening… (speak, then pause)\n")
        let chunks = AsyncStream<[Float]> { continuation in
            let reading = pipe.fileHandleForReading
            DedicatedThread.detach(name: "anima-microphone") {
                var pending: [UInt8] = []
                while true {
                    let data = reading.availableData
                    if data.isEmpty { break }
                    pending += data
                    let usable = pending.count & ~1
                    var samples = [Float](repeating: 0, count: usable / 2)
                    for i in 0..<samples.count {
                        samples[i] = Float(Int16(bitPattern: UInt16(pending[2 * i]) | UInt16(pending[2 * i + 1]) << 8)) / 32768
                    }
                    pending.removeFirst(usable)
                    continuation.yield(samples)
                }
                continuation.finish()
            }
        }
        var live = LiveTranscriber(recognizer: recognizer, sampleRate: rate)
        for await samples in chunks {
            let before = ContinuousClock.now
            if let heard = try await live.add(samples).first { return Utterance(heard: heard, ended: before) }
        }
        let before = ContinuousClock.now
        if let last = try await live.finish() { return Utterance(heard: last, ended: before) }
        throw ValidationError("no speech was heard from the microphone (is one connected? try `arecord -l`)")
    }
}
