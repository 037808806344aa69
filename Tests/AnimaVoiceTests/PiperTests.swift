import AnimaCommandSupport
import AnimaProcessor
import AnimaTesting
import Foundation
import Testing

/// Piper as a sandboxed tool process, where scripts/setup-piper.sh installed it.
private func installedPiper() -> PiperSynthesizer? { try? PiperSynthesizer.installed().get() }

@Suite("Piper, sandboxed", .serialized, .enabled(if: installedPiper() != nil, "Piper is not installed: run scripts/setup-piper.sh"))
struct PiperTests {
    static var installed: PiperSynthesizer? { installedPiper() }

    @Test func piperSpeaksWhatWhisperHearsBack() async throws {
        let piper = try #require(Self.installed)
        let sentence = "Please remind me to call my sister tomorrow morning."
        let clip = try await piper.synthesize(sentence, options: .init(voice: "alloy"))
        #expect(clip.sampleRate == piper.sampleRate)
        #expect(clip.duration > 1.5 && clip.duration < 10, "\(clip.duration)")
        let heard = try await Voices.whisper().transcribe(clip, options: .init())
        #expect(WordErrorRate.of(reference: sentence, hypothesis: heard.text) <= 0.2, "\(heard.text)")
        // Faster speech is shorter; the text is data, never a command line.
        let fast = try await piper.synthesize(sentence, options: .init(speed: 2))
        #expect(fast.duration < clip.duration * 0.75, "\(fast.duration) vs \(clip.duration)")
        let marker = NSTemporaryDirectory() + "anima-piper-\(UUID().uuidString)"
        _ = try await piper.synthesize("$(touch \(marker)); `touch \(marker)`", options: .init())
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func anUnknownVoiceIsAClearError() async throws {
        let piper = try #require(Self.installed)
        await #expect(throws: AudioError.self) { try await piper.synthesize("Hello.", options: .init(voice: "en-gb")) }
        #expect(piper.voices.contains("alloy") && piper.voices.contains(piper.voiceName))
    }

    @Test func aBrokenInstallationIsAnEngineFailureNotACrash() async throws {
        let piper = try #require(Self.installed)
        let broken = PiperSynthesizer(python: piper.python, model: NSTemporaryDirectory() + "no-such-voice.onnx")
        do {
            _ = try await broken.synthesize("Hello.", options: .init())
            Issue.record("spoke without a voice")
        } catch let error as AudioError {
            #expect(error.description.contains("Piper"), "\(error.description)")
        }
    }
}
