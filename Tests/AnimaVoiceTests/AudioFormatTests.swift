import AnimaProcessor
import AnimaTesting
import Foundation
import Testing

@Suite("WAV, voice activity and sentences")
struct AudioFormatTests {
    /// A RIFF header with a format chunk of our choosing and `data` as the data chunk.
    func wav(code: UInt16 = 1, channels: UInt16 = 1, rate: UInt32 = 16000, bits: UInt16 = 16, dataSize: UInt32? = nil, data: [UInt8])
        -> [UInt8]
    {
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        let align = UInt16(truncatingIfNeeded: max(1, Int(channels) * Int(bits) / 8))
        var out = Array("RIFF".utf8) + le32(UInt32(36 + data.count)) + Array("WAVE".utf8)
        out +=
            Array("fmt ".utf8) + le32(16) + le16(code) + le16(channels) + le32(rate) + le32(rate &* UInt32(align)) + le16(align)
            + le16(bits)
        out += Array("data".utf8) + le32(dataSize ?? UInt32(data.count)) + data
        return out
    }

    @Test func aClipSurvivesEncodingAndDecoding() throws {
        let clip = AudioClip(samples: (0..<1600).map { Float(sin(Double($0) / 10)) * 0.5 }, sampleRate: 16000)
        let decoded = try WAVCodec.decode(WAVCodec.encode(clip))
        #expect(decoded.sampleRate == 16000)
        #expect(decoded.samples.count == clip.samples.count)
        #expect(zip(decoded.samples, clip.samples).allSatisfy { abs($0 - $1) < 1e-3 })
    }

    @Test func stereoTwentyFourBitAndFloatAreMixedToMono() throws {
        // Left +0.5, right -0.5 mixes to 0; 24-bit full scale reads as about 1.
        let stereo = wav(channels: 2, rate: 8000, data: [0x00, 0x40, 0x00, 0xC0])
        #expect(try WAVCodec.decode(stereo).samples == [0])
        let deep = try WAVCodec.decode(wav(bits: 24, data: [0xFF, 0xFF, 0x7F]))
        #expect(abs(deep.samples[0] - 1) < 1e-5)
        var float: [UInt8] = []
        for value in [Float(0.25), .nan, 1e30] { withUnsafeBytes(of: value.bitPattern.littleEndian) { float += $0 } }
        let floats = try WAVCodec.decode(wav(code: 3, bits: 32, data: float))
        #expect(floats.samples == [0.25, 0, 1], "NaN becomes silence and huge values clip")
    }

    @Test func hostileFilesAreClearErrorsNotCrashes() {
        let cases: [([UInt8], String)] = [
            ([], "empty"),
            (Array("RIF".utf8), "only 3 bytes"),
            (Array("ID3\u{3}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}".utf8), "RIFF/WAVE"),
            (wav(code: 0x55, data: [1, 2]), "format code 85"),
            (wav(channels: 0, data: [1, 2]), "0 channels"),
            (wav(channels: 65535, data: [1, 2]), "65535 channels"),
            (wav(rate: 0, data: [1, 2]), "0 Hz"),
            (wav(rate: 4_000_000_000, data: [1, 2]), "4000000000 Hz"),
            (wav(bits: 7, data: [1, 2]), "7-bit"),
            (wav(dataSize: 1_000_000, data: [1, 2, 3, 4]), "declares 1000000 bytes"),
            (wav(data: []), "empty"),
            (Array(wav(data: [1, 2, 3, 4]).prefix(30)), "format chunk"),
        ]
        for (bytes, expected) in cases {
            do {
                _ = try WAVCodec.decode(bytes)
                Issue.record("\(expected): decoded")
            } catch {
                #expect(error.description.contains(expected), "\(error.description)")
            }
        }
    }

    @Test func aStreamOfUnknownLengthIsReadToItsEnd() throws {
        // What arecord writes to a pipe: a data size near 2^31.
        let clip = try WAVCodec.decode(wav(dataSize: 0x7FFF_F000, data: [0, 0x40, 0, 0x40]))
        #expect(clip.samples.count == 2)
    }

    @Test func tooLongAudioIsRefusedBeforeConversion() {
        // 700 s at 8 kHz: refused from the byte count, before any conversion.
        let bytes = wav(rate: 8000, bits: 8, data: [UInt8](repeating: 128, count: 8000 * 700))
        #expect(throws: AudioError.tooLong(seconds: 700, limit: 600)) { try WAVCodec.decode(bytes, maxSeconds: 600) }
    }

    @Test func resamplingKeepsDurationAndPitch() {
        let rate = 22050
        let tone = AudioClip(samples: (0..<rate).map { Float(sin(2 * Double.pi * 440 * Double($0) / Double(rate))) }, sampleRate: rate)
        let down = tone.resampled(to: 16000)
        #expect(down.samples.count == 16000)
        // 440 Hz: about 880 zero crossings in a second, whatever the rate.
        let crossings = zip(down.samples, down.samples.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect((860...900).contains(crossings), "\(crossings)")
    }

    @Test func theDetectorFindsOneUtteranceBetweenSilences() throws {
        let rate = 16000
        var samples = [Float](repeating: 0, count: rate)  // 1 s of silence
        samples += (0..<rate).map { Float(sin(Double($0) / 5)) * 0.3 }  // 1 s of "speech"
        samples += [Float](repeating: 0, count: rate)
        var whole = VoiceActivityDetector(sampleRate: rate)
        let once = whole.add(samples) + [whole.finish()].compactMap { $0 }
        #expect(once.count == 1)
        let utterance = try #require(once.first)
        #expect(abs(utterance.start - 0.8) < 0.1, "starts at the speech less the padding: \(utterance.start)")
        #expect(abs(utterance.clip.duration - 1.4) < 0.15, "\(utterance.clip.duration)")
        // Fed in odd-sized chunks, the result is the same.
        var chunked = VoiceActivityDetector(sampleRate: rate)
        var pieces: [VoiceActivityDetector.Utterance] = []
        var i = 0
        var size = 1
        while i < samples.count {
            pieces += chunked.add(Array(samples[i..<min(samples.count, i + size)]))
            i += size
            size = size * 3 % 997 + 1
        }
        if let last = chunked.finish() { pieces.append(last) }
        #expect(pieces == once)
    }

    @Test func quietNoiseAndNonFiniteSamplesAreNotSpeech() {
        var detector = VoiceActivityDetector(sampleRate: 16000)
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<48000).map { _ in Float.random(in: -0.003...0.003, using: &rng) }
        #expect(detector.add(noise).isEmpty)
        #expect(detector.add([Float](repeating: .nan, count: 16000) + [Float](repeating: .infinity, count: 16000)).isEmpty)
        #expect(detector.finish() == nil)
    }

    @Test func sentencesComeOutAsTheyComplete() {
        var splitter = SentenceSplitter()
        #expect(splitter.add("Hello there. How a") == ["Hello there."])
        #expect(splitter.add("re you? Pi is 3.14 and") == ["How are you?"])
        #expect(splitter.add(" e is 2.71!\nOk") == ["Pi is 3.14 and e is 2.71!"])
        #expect(splitter.finish() == "Ok")
        #expect(splitter.finish() == nil)
    }

    @Test func subtitlesAndWordErrorRate() {
        let transcript = SpeechTranscript(
            text: "Hi. Bye.", segments: [.init(start: 0, end: 1.5, text: " Hi."), .init(start: 3661.25, end: 3662, text: " Bye.")],
            language: "en",
            duration: 3662)
        #expect(transcript.subRip == "1\n00:00:00,000 --> 00:00:01,500\nHi.\n\n2\n01:01:01,250 --> 01:01:02,000\nBye.\n")
        #expect(WordErrorRate.of(reference: "Turn off the lights.", hypothesis: "turn off the light") == 0.25)
        #expect(WordErrorRate.of(reference: "a b", hypothesis: "") == 1)
    }
}
