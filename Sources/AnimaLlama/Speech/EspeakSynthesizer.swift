import AnimaCore
import AnimaProcessor
import CEspeak
import Foundation
import Synchronization

/// Text to speech on espeak-ng's C library: the always-there local `SpeechSynthesizer`.
///
/// espeak-ng keeps global state, so there is one per process (`shared`), and every call
/// runs on its one dedicated thread in synchronous mode: the library hands the samples to
/// a callback before `espeak_Synth` returns. Text is plain text: SSML and phoneme input
/// are off, so a request cannot drive the engine with markup.
public final class EspeakSynthesizer: SpeechSynthesizer {
    /// The OpenAI voice names, mapped onto espeak-ng voices and variants.
    public static let voiceMap: [String: String] = [
        "alloy": "en-us", "echo": "en-us+m3", "fable": "en-gb", "onyx": "en-us+m7", "nova": "en-us+f3", "shimmer": "en-us+f4",
        "ash": "en-us+m2", "coral": "en-us+f2", "sage": "en-gb+f3", "ballad": "en-gb+m3", "verse": "en-us+m5",
    ]

    public let sampleRate: Int
    public var voices: [String] { Self.voiceMap.keys.sorted() }
    private let thread: DedicatedThread

    private static let instance = Mutex<EspeakSynthesizer?>(nil)

    /// The process's synthesizer, initialised on first use.
    public static func shared() async throws -> EspeakSynthesizer {
        if let ready = instance.withLock({ $0 }) { return ready }
        let thread = DedicatedThread(name: "anima-espeak")
        let rate = try await thread.run { () throws(AudioError) -> Int in
            let rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nil, Int32(espeakINITIALIZE_DONT_EXIT))
            guard rate > 0 else {
                throw AudioError.noSpeechModel("espeak-ng could not start (its data is missing?); install Debian's espeak-ng-data")
            }
            espeak_SetSynthCallback { samples, count, events in
                guard let samples, count > 0, let events, let box = events.pointee.user_data else { return 0 }
                Unmanaged<SampleBox>.fromOpaque(box).takeUnretainedValue().samples.append(
                    contentsOf: UnsafeBufferPointer(start: samples, count: Int(count)))
                return 0
            }
            return Int(rate)
        }
        return instance.withLock { existing in
            if let existing { return existing }
            let made = EspeakSynthesizer(sampleRate: rate, thread: thread)
            existing = made
            return made
        }
    }

    private init(sampleRate: Int, thread: DedicatedThread) {
        self.sampleRate = sampleRate
        self.thread = thread
    }

    private final class SampleBox: @unchecked Sendable {
        var samples: [Int16] = []
    }

    public func synthesize(_ text: String, options: SpeechOptions) async throws -> AudioClip {
        let voice = try Self.espeakVoice(options.voice)
        guard options.speed.isFinite, (0.25...4).contains(options.speed) else {
            throw AudioError.unsupported("a speed of \(options.speed) (the range is 0.25 to 4)")
        }
        // espeak-ng's own range is 80...450 words per minute; 175 is its normal pace.
        let rate = Int32(max(80, min(450, (175 * options.speed).rounded())))
        let rateHz = sampleRate
        let samples = try await thread.run { () throws(AudioError) -> [Int16] in
            guard espeak_SetVoiceByName(voice) == EE_OK else { throw AudioError.unsupported("the voice \(voice), which espeak-ng lacks") }
            espeak_SetParameter(espeakRATE, rate, 0)
            let box = SampleBox()
            let status = withExtendedLifetime(box) {
                text.withCString { pointer in
                    espeak_Synth(
                        pointer, strlen(pointer) + 1, 0, POS_CHARACTER, 0, UInt32(espeakCHARS_UTF8), nil,
                        Unmanaged.passUnretained(box).toOpaque())
                }
            }
            guard status == EE_OK else { throw AudioError.engineFailure("espeak-ng returned \(status.rawValue)") }
            return box.samples
        }
        return AudioClip(samples: samples.map { Float($0) / 32768 }, sampleRate: rateHz)
    }

    /// The espeak-ng voice for an API voice name, or an espeak-ng name as given (`fr`, `de+f2`).
    static func espeakVoice(_ name: String?) throws(AudioError) -> String {
        guard let name else { return "en-us" }
        if let mapped = voiceMap[name.lowercased()] { return mapped }
        guard !name.isEmpty, name.count <= 40, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-+_".contains($0)) }) else {
            throw .unsupported("the voice \"\(name.prefix(40))\"; use one of \(voiceMap.keys.sorted().joined(separator: ", "))")
        }
        return name
    }
}
