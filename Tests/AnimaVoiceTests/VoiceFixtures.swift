import AnimaLlama
import AnimaProcessor
import Foundation

/// The engines and tools the voice tests share: one Whisper and one espeak-ng per process.
enum Voices {
    static var cache: String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["ANIMA_CACHE"], !dir.isEmpty { return dir }
        return (env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache") + "/anima"
    }

    static var whisperModel: String { cache + "/models/ggml-tiny.en.bin" }

    private static let loaded = Task { try await WhisperEngine.load(.init(modelPath: whisperModel, threads: 2)) }
    static func whisper() async throws -> WhisperEngine { try await loaded.value }

    static func espeak() async throws -> EspeakSynthesizer { try await EspeakSynthesizer.shared() }

    /// Known sentences, spoken by espeak-ng in the round trips.
    static let sentences = [
        "The weather today is sunny and warm.",
        "Please remind me to call my sister tomorrow morning.",
        "How many kilometers is it from Paris to Berlin?",
        "Turn off the lights in the kitchen.",
    ]

    /// Runs sox (Debian's sox, installed by setup) and fails with its output when it does.
    static func sox(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sox")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SoxFailure(message: "sox \(arguments.joined(separator: " ")): \(String(decoding: output, as: UTF8.self))")
        }
    }

    struct SoxFailure: Error, CustomStringConvertible { let message: String; var description: String { message } }

    static func temporary(_ name: String) -> String { NSTemporaryDirectory() + "anima-voice-\(UUID().uuidString)-\(name)" }

    /// The sentences spoken one after another with half a second of silence between them.
    static func spokenSentences(speed: Double = 0.9) async throws -> AudioClip {
        let espeak = try await espeak()
        // A moment of silence first, as a recording has: Whisper mishears a word cut at the start.
        var samples = [Float](repeating: 0, count: espeak.sampleRate / 3)
        for sentence in sentences {
            let clip = try await espeak.synthesize(sentence, options: SpeechOptions(speed: speed))
            samples += clip.samples + [Float](repeating: 0, count: espeak.sampleRate / 2)
        }
        return AudioClip(samples: samples, sampleRate: espeak.sampleRate)
    }
}
