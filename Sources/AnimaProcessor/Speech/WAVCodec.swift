/// Reads and writes RIFF/WAVE audio: the one container the speech routes and `anima voice` take.
///
/// Reading checks every header number against what the bytes hold before allocating, so a
/// hostile header (a data chunk of 4 GiB, 65535 channels, a zero sample rate) is an
/// `AudioError`, never a crash or a huge allocation. Streams whose writer could not know the
/// length (`arecord` to a pipe writes a data size near 2^31) are read to the end.
public enum WAVCodec {
    /// Decodes `bytes`, mixing channels to mono.
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - maxSeconds: refuse longer audio (`AudioError.tooLong`) before converting it.
    public static func decode(_ bytes: [UInt8], maxSeconds: Double = .infinity) throws(AudioError) -> AudioClip {
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count >= 12 else { throw .notWAV("only \(bytes.count) bytes") }
        if bytes[0..<4].elementsEqual("RF64".utf8) || bytes[0..<4].elementsEqual("BW64".utf8) {
            // 64-bit sizes (up to 2^64) in a ds64 chunk: never trusted, never read.
            throw .notWAV("it is an RF64 file, whose 64-bit sizes are not read here; a recording of 600 s or less fits a plain WAV")
        }
        guard bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else {
            throw .notWAV("it does not start with a RIFF/WAVE header")
        }
        var position = 12
        var format: (code: Int, channels: Int, rate: Int, bits: Int, blockAlign: Int)?
        while position + 8 <= bytes.count {
            let id = String(decoding: bytes[position..<position + 4], as: UTF8.self)
            let declared = Int(u32(bytes, position + 4))
            let body = position + 8
            if id == "fmt " {
                guard declared >= 16, body + 16 <= bytes.count else { throw .truncated("the format chunk is \(declared) bytes") }
                var code = Int(u16(bytes, body))
                if code == 0xFFFE {  // WAVE_FORMAT_EXTENSIBLE: the real code opens the sub-format GUID
                    guard declared >= 40, body + 26 <= bytes.count else { throw .truncated("the extensible format chunk") }
                    code = Int(u16(bytes, body + 24))
                }
                format = (
                    code, Int(u16(bytes, body + 2)), Int(u32(bytes, body + 4)), Int(u16(bytes, body + 14)), Int(u16(bytes, body + 12))
                )
            } else if id == "data" {
                guard let format else { throw .notWAV("the data chunk comes before any format chunk") }
                let available = bytes.count - body
                var size = declared
                if declared > available {
                    // A length the writer could not know: take what is there.
                    guard declared >= 0x7FFF_0000 else {
                        throw .truncated("its data chunk declares \(declared) bytes but \(available) follow")
                    }
                    size = available
                }
                return try convert(bytes, from: body, count: size, format: format, maxSeconds: maxSeconds)
            }
            // Chunks are padded to an even length.
            let next = body + declared + (declared & 1)
            guard next > position else { break }
            position = next
        }
        throw format == nil ? .notWAV("it has no format chunk") : .truncated("it has no data chunk")
    }

    private static func convert(
        _ bytes: [UInt8], from start: Int, count: Int, format: (code: Int, channels: Int, rate: Int, bits: Int, blockAlign: Int),
        maxSeconds: Double
    ) throws(AudioError) -> AudioClip {
        let isFloat = format.code == 3
        guard format.code == 1 || isFloat else { throw .unsupported("format code \(format.code) (compressed audio)") }
        guard (1...8).contains(format.channels) else { throw .unsupported("\(format.channels) channels") }
        guard (8000...192_000).contains(format.rate) else { throw .unsupported("a sample rate of \(format.rate) Hz") }
        guard isFloat ? format.bits == 32 : [8, 16, 24, 32].contains(format.bits) else {
            throw .unsupported("\(format.bits)-bit \(isFloat ? "float" : "integer") samples")
        }
        let width = format.bits / 8
        let frame = width * format.channels
        let frames = count / frame
        guard frames > 0 else { throw .empty }
        let seconds = Double(frames) / Double(format.rate)
        guard seconds <= maxSeconds else { throw .tooLong(seconds: seconds, limit: maxSeconds) }
        var samples = [Float](repeating: 0, count: frames)
        let scale = 1 / Float(format.channels)
        for f in 0..<frames {
            var sum: Float = 0
            let base = start + f * frame
            for c in 0..<format.channels {
                let at = base + c * width
                switch (width, isFloat) {
                case (1, _): sum += (Float(bytes[at]) - 128) / 128
                case (2, _): sum += Float(Int16(bitPattern: u16(bytes, at))) / 32768
                case (3, _):
                    let value = Int32(bitPattern: UInt32(bytes[at]) << 8 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 24) >> 8
                    sum += Float(value) / 8_388_608
                case (_, true):
                    let value = Float(bitPattern: u32(bytes, at))
                    sum += value.isFinite ? max(-1, min(1, value)) : 0
                default: sum += Float(Int32(bitPattern: u32(bytes, at))) / 2_147_483_648
                }
            }
            samples[f] = sum * scale
        }
        return AudioClip(samples: samples, sampleRate: format.rate)
    }

    /// A 16-bit mono PCM WAV file of `clip`.
    public static func encode(_ clip: AudioClip) -> [UInt8] {
        let pcm = clip.pcm16
        return header(sampleRate: clip.sampleRate, dataBytes: pcm.count) + pcm
    }

    /// The 44-byte header of a 16-bit mono PCM WAV file; `dataBytes` nil for a stream of
    /// unknown length (the size fields then say "to the end", as `arecord` writes them).
    public static func header(sampleRate: Int, dataBytes: Int?) -> [UInt8] {
        let data = UInt32(clamping: dataBytes ?? 0x7FFF_F000)
        var out = [UInt8]()
        out += Array("RIFF".utf8) + le32(data &+ 36) + Array("WAVE".utf8)
        out += Array("fmt ".utf8) + le32(16) + le16(1) + le16(1) + le32(UInt32(clamping: sampleRate))
        out += le32(UInt32(clamping: sampleRate * 2)) + le16(2) + le16(16)
        out += Array("data".utf8) + le32(data)
        return out
    }

    private static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
    private static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
}
