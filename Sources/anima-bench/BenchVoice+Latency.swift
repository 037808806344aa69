import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import Foundation

/// End of speech to first reply audio, stage by stage, for two pipelines in the same run.
extension BenchVoice {
    /// How one pipeline answers: the recogniser and when it starts, and the first piece spoken.
    struct Pipeline {
        let name: String
        let recognizer: any SpeechRecognizer
        /// Start transcribing during the closing pause (`LiveTranscriber`).
        let early: Bool
        /// Speak the first clause rather than the first sentence.
        let firstClause: Bool
    }

    /// The instants of one reply, in seconds after the end of speech (the last loud frame).
    struct ReplyTiming {
        var heard = ""
        /// The voice-activity detector declared the utterance over.
        var endDeclared = 0.0
        var transcribed = 0.0
        /// The agent process exists (the kernel's spawn returned).
        var spawned = 0.0
        var firstToken = 0.0
        /// The first clause or sentence is complete.
        var firstPiece = 0.0
        /// espeak-ng has spoken it: the reply's first audio.
        var firstAudio = 0.0
        var early = false

        var json: JSONValue {
            .object([
                "heard": .string(heard), "end_declared_s": .number(endDeclared), "transcribed_s": .number(transcribed),
                "spawned_s": .number(spawned), "first_token_s": .number(firstToken), "first_piece_s": .number(firstPiece),
                "first_audio_s": .number(firstAudio), "transcribed_early": .bool(early),
            ])
        }
    }

    /// Plays `utterance` (16 kHz) and a second of silence into the pipeline in real time, 20 ms
    /// at a time, as a microphone would deliver it, and times each stage of the reply.
    static func timeReply(_ utterance: AudioClip, pipeline: Pipeline, kernel: Kernel, espeak: EspeakSynthesizer) async throws
        -> ReplyTiming
    {
        let rate = 16_000
        let frame = rate / 50
        let audio = utterance.samples + [Float](repeating: 0, count: rate)
        var live = LiveTranscriber(recognizer: pipeline.recognizer, sampleRate: rate, speculateAfter: pipeline.early ? 0.15 : nil)
        let clock = ContinuousClock()
        let began = clock.now
        var heard: LiveTranscriber.Heard?
        var declared = began
        var offset = 0
        while offset < audio.count, heard == nil {
            let chunk = Array(audio[offset..<min(audio.count, offset + frame)])
            offset += chunk.count
            // A chunk can be read only once it has been spoken.
            try await clock.sleep(until: began + .seconds(Double(offset) / Double(rate)))
            declared = began + .seconds(Double(offset) / Double(rate))
            heard = try await live.add(chunk).first
        }
        if heard == nil {
            declared = clock.now
            heard = try await live.finish()
        }
        guard let heard else { throw BenchError("the voice-activity detector heard no speech in a reply utterance") }
        let transcribed = clock.now
        let speechEnded = began + .seconds(heard.speechEnd)
        func since(_ instant: ContinuousClock.Instant) -> Double { speechEnded.duration(to: instant).benchSeconds }
        var timing = ReplyTiming(
            heard: heard.transcript.text, endDeclared: since(declared), transcribed: since(transcribed), early: heard.early)

        let events = await kernel.events()
        let spec = AgentSpec(
            name: "voice", task: heard.transcript.text,
            systemPrompt: "You are a helpful voice assistant. Answer in one or two short spoken sentences.",
            limits: .init(maxSteps: 1), sampling: .init(temperature: 0, maxTokensPerStep: 60))
        let pid = try await kernel.spawn(spec, owner: CurrentUser.principal)
        timing.spawned = since(clock.now)
        var splitter = SentenceSplitter(firstClause: pipeline.firstClause)
        var spoken = false
        func speak(_ piece: String) async throws {
            timing.firstPiece = since(clock.now)
            _ = try await espeak.synthesize(piece, options: .init())
            timing.firstAudio = since(clock.now)
            spoken = true
        }
        for await event in events {
            switch event {
            case .text(let p, let text) where p == pid:
                if timing.firstToken == 0 { timing.firstToken = since(clock.now) }
                if !spoken, let piece = splitter.add(text).first { try await speak(piece) }
            case .exited(let p, _) where p == pid:
                if !spoken { try await speak(splitter.finish() ?? "OK.") }
                return timing
            default: break
            }
        }
        return timing
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var benchSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
