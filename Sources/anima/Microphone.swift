import AnimaCommandSupport
import AnimaProcessor
import ArgumentParser
import Foundation

/// One utterance from the default ALSA capture device, through `arecord` (alsa-utils):
/// recording stops at the first pause the voice-activity detector finds.
enum Microphone {
    static func recordUtterance(maxSeconds: Double) throws -> AudioClip {
        let rate = 16_000
        guard let arecord = ["/usr/bin/arecord", "/bin/arecord"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError("no microphone recorder: install alsa-utils (arecord), or record to a file and use --in")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arecord)
        process.arguments = ["-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", "\(rate)", "-d", "\(Int(maxSeconds.rounded(.up)))"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        Terminal.error("listening… (speak, then pause)\n")
        var vad = VoiceActivityDetector(sampleRate: rate)
        var pending: [UInt8] = []
        while true {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            pending += data
            let usable = pending.count & ~1
            var samples = [Float](repeating: 0, count: usable / 2)
            for i in 0..<samples.count {
                samples[i] = Float(Int16(bitPattern: UInt16(pending[2 * i]) | UInt16(pending[2 * i + 1]) << 8)) / 32768
            }
            pending.removeFirst(usable)
            if let utterance = vad.add(samples).first { return utterance.clip }
        }
        if let last = vad.finish() { return last.clip }
        throw ValidationError("no speech was heard from the microphone (is one connected? try `arecord -l`)")
    }
}
