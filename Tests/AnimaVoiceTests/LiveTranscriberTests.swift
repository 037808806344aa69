import AnimaLlama
import AnimaProcessor
import Foundation
import Synchronization
import Testing

/// A recogniser that remembers each clip it was given and answers with its length, so a test
/// can tell which audio a transcript came from; `delay` stands for Whisper's work.
final class CountingRecognizer: SpeechRecognizer {
    let modelName = "counting"
    let detectsLanguage = false
    let delay: Duration
    let clips = Mutex<[Int]>([])

    init(delay: Duration = .zero) { self.delay = delay }

    func transcribe(_ clip: AudioClip, options: TranscriptionOptions) async throws -> SpeechTranscript {
        clips.withLock { $0.append(clip.samples.count) }
        try await Task.sleep(for: delay)
        return SpeechTranscript(
            text: "\(clip.samples.count)", segments: [.init(start: 0, end: clip.duration, text: "\(clip.samples.count)")], language: "en",
            duration: clip.duration)
    }
}

@Suite("Live transcription and the first clause")
struct LiveTranscriberTests {
    static let rate = 16000
    static func speech(_ seconds: Double) -> [Float] { (0..<Int(seconds * Double(rate))).map { Float(sin(Double($0) / 5)) * 0.3 } }
    static func silence(_ seconds: Double) -> [Float] { [Float](repeating: 0, count: Int(seconds * Double(rate))) }

    /// Feeds `samples` 20 ms at a time, as a microphone would; returns what was heard.
    static func feed(_ live: inout LiveTranscriber, _ samples: [Float]) async throws -> [LiveTranscriber.Heard] {
        var heard: [LiveTranscriber.Heard] = []
        var i = 0
        while i < samples.count {
            heard += try await live.add(Array(samples[i..<min(samples.count, i + rate / 50)]))
            i += rate / 50
        }
        return heard
    }

    @Test func theTranscriptionStartsDuringTheClosingPause() async throws {
        let recognizer = CountingRecognizer()
        var live = LiveTranscriber(recognizer: recognizer, sampleRate: Self.rate)
        let audio = Self.silence(0.5) + Self.speech(1) + Self.silence(0.3)
        // 0.3 s into the pause: the utterance is not over (0.5 s ends it), but its words are on the way.
        #expect(try await Self.feed(&live, audio).isEmpty)
        #expect(live.isSpeaking)
        try await Task.sleep(for: .milliseconds(50))
        #expect(recognizer.clips.withLock { $0.count } == 1, "transcribed during the pause")
        let heard = try await Self.feed(&live, Self.silence(0.5))
        let utterance = try #require(heard.first)
        #expect(heard.count == 1)
        #expect(utterance.early)
        #expect(recognizer.clips.withLock { $0.count } == 1, "the early transcript is the answer: no second run")
        #expect(abs(utterance.speechEnd - 1.5) < 0.03, "the end of speech itself: \(utterance.speechEnd)")
        #expect(abs(utterance.start - 0.3) < 0.05, "\(utterance.start)")
    }

    @Test func whenTheSpeakerGoesOnTheEarlyTranscriptIsDropped() async throws {
        let recognizer = CountingRecognizer(delay: .milliseconds(10))
        var live = LiveTranscriber(recognizer: recognizer, sampleRate: Self.rate)
        // A 0.3 s pause inside the utterance: long enough to start early, too short to end it.
        let audio = Self.silence(0.5) + Self.speech(1) + Self.silence(0.3) + Self.speech(1) + Self.silence(0.7)
        let heard = try await Self.feed(&live, audio)
        let utterance = try #require(heard.first)
        #expect(heard.count == 1)
        // Its words cover both stretches of speech, not only the first.
        let samples = try #require(Int(utterance.transcript.text))
        #expect(Double(samples) / Double(Self.rate) > 2.3, "\(samples)")
        #expect(abs(utterance.speechEnd - 2.8) < 0.03, "\(utterance.speechEnd)")
        #expect(recognizer.clips.withLock { $0.count } == 2, "one dropped early run, one that counted")
    }

    @Test func withoutSpeculationEachUtteranceIsTranscribedOnceItHasEnded() async throws {
        let recognizer = CountingRecognizer()
        var live = LiveTranscriber(recognizer: recognizer, sampleRate: Self.rate, speculateAfter: nil)
        let heard = try await Self.feed(&live, Self.silence(0.5) + Self.speech(1) + Self.silence(0.45))
        #expect(heard.isEmpty)
        #expect(recognizer.clips.withLock { $0.isEmpty })
        let ended = try await Self.feed(&live, Self.silence(0.3))
        #expect(ended.first?.early == false)
        #expect(try await live.finish() == nil)
    }

    @Test func aStreamThatEndsMidUtteranceIsTranscribedByFinish() async throws {
        var live = LiveTranscriber(recognizer: CountingRecognizer(), sampleRate: Self.rate, speculateAfter: .nan)
        _ = try await Self.feed(&live, Self.silence(0.2) + Self.speech(0.5))
        let last = try #require(try await live.finish())
        #expect(Int(last.transcript.text) ?? 0 > 8000)
    }

    @Test func theFirstPieceMayBeAClauseAndOnlyTheFirst() {
        var splitter = SentenceSplitter(firstClause: true)
        #expect(splitter.add("Yes, ") == [], "one word is too short a clause")
        #expect(splitter.add("Paris is the capital, and it is") == ["Yes, Paris is the capital,"])
        #expect(splitter.add(" large, old and lovely. Go") == ["and it is large, old and lovely."])
        #expect(splitter.add(" there: 1,000 sights!") == [])
        #expect(splitter.finish() == "Go there: 1,000 sights!")
        var plain = SentenceSplitter()
        #expect(plain.add("Paris is the capital, and it is large. ") == ["Paris is the capital, and it is large."])
    }

    @Test func theAudioContextFitsShortClipsOnly() {
        #expect(WhisperEngine.audioContext(seconds: 3) == 256)
        #expect(WhisperEngine.audioContext(seconds: 0) == 256)
        #expect(WhisperEngine.audioContext(seconds: 5.6) == 384)
        #expect(WhisperEngine.audioContext(seconds: 20.3) == 1152)
        for whole in [28.6, 30, 600, 1e300, -1, .nan, .infinity, -.infinity] {
            #expect(WhisperEngine.audioContext(seconds: whole) == 0, "\(whole): the whole window")
        }
    }

    @Test func rf64AndItsSixtyFourBitSizesAreRefusedClearly() {
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        // RF64: sizes 0xFFFFFFFF in the RIFF fields, the real ones (here 2^63) in ds64.
        var bytes = Array("RF64".utf8) + le32(.max) + Array("WAVE".utf8) + Array("ds64".utf8) + le32(28)
        bytes += le64(1 << 63) + le64(1 << 63) + le64(1 << 63) + le32(0)
        do {
            _ = try WAVCodec.decode(bytes)
            Issue.record("decoded an RF64 file")
        } catch {
            #expect(error.description.contains("RF64") && error.description.contains("sox"), "\(error.description)")
        }
        // A plain RIFF whose chunk sizes are at their 32-bit limits.
        var riff = Array("RIFF".utf8) + le32(.max) + Array("WAVE".utf8) + Array("fmt ".utf8) + le32(.max)
        riff += [1, 0, 1, 0] + le32(16000) + le32(32000) + [2, 0, 16, 0]
        #expect(throws: AudioError.self) { try WAVCodec.decode(riff) }
    }
}
