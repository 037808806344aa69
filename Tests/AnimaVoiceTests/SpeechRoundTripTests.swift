import AnimaLlama
import AnimaProcessor
import AnimaTesting
import Foundation
import Synchronization
import Testing

/// espeak-ng speaks known sentences, sox degrades them, Whisper transcribes them: the word
/// error rate of each condition must stay under its threshold.
@Suite("Speech round trips", .serialized)
struct SpeechRoundTripTests {
    let reference = Voices.sentences.joined(separator: " ")

    func transcribe(_ path: String) async throws -> SpeechTranscript {
        let clip = try WAVCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        return try await Voices.whisper().transcribe(clip, options: TranscriptionOptions())
    }

    @Test(arguments: [("clean", 0.2), ("noise", 0.35), ("fast", 0.35)])
    func wordErrorRateStaysUnderItsThreshold(condition: String, threshold: Double) async throws {
        let clean = Voices.temporary("clean.wav")
        let heard = Voices.temporary("\(condition).wav")
        defer { for path in [clean, heard] { try? FileManager.default.removeItem(atPath: path) } }
        try Data(WAVCodec.encode(try await Voices.spokenSentences())).write(to: URL(fileURLWithPath: clean))
        switch condition {
        case "noise":
            // White noise about 20 dB under the speech, mixed in.
            let noise = Voices.temporary("n.wav")
            defer { try? FileManager.default.removeItem(atPath: noise) }
            let seconds = try WAVCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: clean)))).duration
            try Voices.sox(["-n", "-r", "22050", "-c", "1", "-b", "16", noise, "synth", String(seconds), "whitenoise", "vol", "0.03"])
            try Voices.sox(["-m", clean, noise, heard])
        case "fast": try Voices.sox([clean, heard, "tempo", "1.25"])
        default: try FileManager.default.copyItem(atPath: clean, toPath: heard)
        }
        let transcript = try await transcribe(heard)
        let wer = WordErrorRate.of(reference: reference, hypothesis: transcript.text)
        #expect(wer <= threshold, "\(condition): WER \(wer) for \"\(transcript.text)\"")
        #expect(transcript.language == "en")
        // Timestamps: segments in order, within the audio.
        #expect(!transcript.segments.isEmpty)
        #expect(zip(transcript.segments, transcript.segments.dropFirst()).allSatisfy { $0.start <= $1.start })
        #expect(transcript.segments.allSatisfy { $0.start <= $0.end && $0.end <= transcript.duration + 1 })
    }

    @Test func streamingTranscriptionHearsEachSentenceAsItEnds() async throws {
        let spoken = try await Voices.spokenSentences().resampled(to: 16000)
        // 100 ms chunks, as a microphone delivers them.
        let chunks = stride(from: 0, to: spoken.samples.count, by: 1600).map {
            Array(spoken.samples[$0..<min(spoken.samples.count, $0 + 1600)])
        }
        let stream = AsyncStream<[Float]> { continuation in
            for chunk in chunks { continuation.yield(chunk) }
            continuation.finish()
        }
        var segments: [SpeechTranscript.Segment] = []
        for try await segment in try await Voices.whisper().transcribeStreaming(stream, sampleRate: 16000) { segments.append(segment) }
        #expect(segments.count >= 2, "the pauses cut the stream into utterances: \(segments)")
        #expect(zip(segments, segments.dropFirst()).allSatisfy { $0.start <= $1.start }, "in order, timed from the stream's start")
        #expect((segments.last?.start ?? 0) > 3, "the last sentence is timed from the stream's start, not its utterance's")
        let wer = WordErrorRate.of(reference: reference, hypothesis: segments.map(\.text).joined(separator: " "))
        #expect(wer <= 0.3, "WER \(wer): \(segments.map(\.text))")
    }

    @Test func silenceAndTinyClipsTranscribeToNothingWithoutFailing() async throws {
        let whisper = try await Voices.whisper()
        let silence = try await whisper.transcribe(
            AudioClip(samples: [Float](repeating: 0, count: 16000), sampleRate: 16000), options: .init())
        #expect(WordErrorRate.words(silence.text).count <= 2, "\(silence.text)")
        _ = try await whisper.transcribe(AudioClip(samples: [0.1], sampleRate: 8000), options: .init())
        await #expect(throws: AudioError.empty) {
            try await whisper.transcribe(AudioClip(samples: [], sampleRate: 16000), options: .init())
        }
        await #expect(throws: AudioError.self) {
            try await whisper.transcribe(AudioClip(samples: [0], sampleRate: 16000), options: .init(language: "fr"))
        }
    }

    @Test func espeakSpeaksWithTheRequestedVoiceAndSpeed() async throws {
        let espeak = try await Voices.espeak()
        let normal = try await espeak.synthesize("Testing one two three.", options: .init())
        let fast = try await espeak.synthesize("Testing one two three.", options: .init(voice: "nova", speed: 2))
        #expect(normal.duration > 0.8 && normal.duration < 4, "\(normal.duration)")
        #expect(fast.duration < normal.duration * 0.75, "\(fast.duration) vs \(normal.duration)")
        await #expect(throws: AudioError.self) { try await espeak.synthesize("x", options: .init(voice: "../../etc/passwd")) }
        await #expect(throws: AudioError.self) { try await espeak.synthesize("x", options: .init(speed: .nan)) }
        await #expect(throws: AudioError.self) { try await espeak.synthesize("x", options: .init(voice: "no-such-voice")) }
        // Markup is read as text, not obeyed.
        let markup = try await espeak.synthesize("<speak><break time=\"60s\"/>hi</speak>", options: .init())
        #expect(markup.duration < 10)
    }

    @Test func speechStartsBeforeTheAnswerIsComplete() async throws {
        let espeak = try await Voices.espeak()
        let (pieces, feed) = AsyncStream<String>.makeStream()
        let received = Mutex<[AudioClip]>([])
        let consumer = Task {
            for try await clip in espeak.speakStreaming(pieces) { received.withLock { $0.append(clip) } }
        }
        feed.yield("The first sentence is ready. The sec")
        // The first sentence is spoken while the answer is still open.
        for _ in 0..<600 where received.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(received.withLock { $0.count } == 1, "nothing was spoken before the answer ended")
        feed.yield("ond one follows.")
        feed.finish()
        try await consumer.value
        let clips = received.withLock { $0 }
        #expect(clips.count == 2)
        #expect(clips.allSatisfy { $0.duration > 0.5 })
    }

    @Test func aFileThatIsNotAWhisperModelIsAClearError() async throws {
        let fake = Voices.temporary("fake.bin")
        defer { try? FileManager.default.removeItem(atPath: fake) }
        try Data("GGUF not a whisper model".utf8).write(to: URL(fileURLWithPath: fake))
        do {
            _ = try await WhisperEngine.load(.init(modelPath: fake))
            Issue.record("loaded a fake model")
        } catch let error as AudioError {
            #expect(error.description.contains("is not a whisper.cpp model file"), "\(error)")
        }
        await #expect(throws: AudioError.self) { try await WhisperEngine.load(.init(modelPath: "/nonexistent/ggml.bin")) }
    }
}
