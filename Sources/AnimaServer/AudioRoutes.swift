import AnimaCore
import AnimaKernel
import AnimaProcessor
import Crypto
import Foundation
import Hummingbird

/// The speech engines a daemon serves: Whisper for `/v1/audio/transcriptions`, a voice
/// for `/v1/audio/speech`. `anima serve` chooses them; either may be missing.
public struct SpeechServices: Sendable {
    public var recognizer: (any SpeechRecognizer)?
    public var synthesizer: (any SpeechSynthesizer)?
    /// Longest audio a transcription takes, in seconds.
    public var maxAudioSeconds: Double
    /// Largest upload, in bytes (OpenAI's limit is 25 MB).
    public var maxAudioBytes: Int
    /// Encoders for the speech route's compressed formats, by `response_format` (`mp3`);
    /// a format without one is a 400 saying what to install.
    public var encoders: [String: @Sendable (AudioClip) async throws -> [UInt8]] = [:]

    public init(
        recognizer: (any SpeechRecognizer)?, synthesizer: (any SpeechSynthesizer)?, maxAudioSeconds: Double = 600,
        maxAudioBytes: Int = 25 << 20
    ) {
        self.recognizer = recognizer
        self.synthesizer = synthesizer
        self.maxAudioSeconds = maxAudioSeconds
        self.maxAudioBytes = maxAudioBytes
    }
}

/// OpenAI's audio endpoints: speech to text (multipart upload of a WAV file; `json`,
/// `text`, `srt`, `vtt` and `verbose_json` answers) and text to speech (`wav`, or `pcm`
/// streamed sentence by sentence as 24 kHz 16-bit mono). Both need the `audio` scope.
/// Each request, answered or refused, goes to the kernel's audit trail: who, which route,
/// sizes, durations and digests, never the words or the audio.
struct AudioRoutes {
    let speech: SpeechServices?
    /// Where each use is audited; nil only in tests of the routes alone.
    var kernel: Kernel?
    /// The rate of OpenAI's `pcm` format.
    static let pcmRate = 24_000
    static let maxInputCharacters = 4096

    func register(on router: Router<AnimaRequestContext>) {
        let audio = router.group("v1").group("audio")
        audio.post("transcriptions") { request, context in try await transcriptions(request, context) }
        audio.post("speech") { request, context in try await speechRoute(request, context) }
    }

    func transcriptions(_ request: Request, _ context: AnimaRequestContext) async throws -> Response {
        let token = try context.authorize(.audio)
        var audit = AudioAudit(route: "POST /v1/audio/transcriptions")
        do {
            let (response, transcript) = try await transcribe(request, audit: &audit)
            await kernel?.recordDeviceUse(
                "audio.transcription", user: token.user, facts: audit.facts, content: ["transcript": transcript.text])
            return response
        } catch {
            await kernel?.recordDeviceUse("audio.transcription", user: token.user, facts: audit.facts, refused: APIError.from(error).auditCode)
            throw error
        }
    }

    private func transcribe(_ request: Request, audit: inout AudioAudit) async throws -> (Response, SpeechTranscript) {
        guard let speech, let recognizer = speech.recognizer else {
            throw APIError(
                .serviceUnavailable, "this daemon has no speech recogniser; run `make setup` (it converts Whisper tiny.en) and restart it",
                type: "server_error", code: "no_speech_model")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: speech.maxAudioBytes)
            audit.add("\(buffer.readableBytes) bytes uploaded")
        } catch {
            throw APIError(
                .contentTooLarge, "the upload is larger than \(speech.maxAudioBytes) bytes; split the audio into shorter files",
                code: "request_too_large")
        }
        let form = try MultipartForm(body: Array(buffer: buffer), contentType: request.headers[.contentType])
        guard let file = form.field("file") else { throw APIError.badRequest("the form has no file field", param: "file") }
        guard let model = form.text("model"), !model.isEmpty else { throw APIError.badRequest("model is required", param: "model") }
        guard ["whisper-1", "anima", recognizer.modelName].contains(model) else {
            throw APIError(
                .notFound, "the model \(model) does not exist; this server transcribes with \(recognizer.modelName) (or say whisper-1)",
                param: "model", code: "model_not_found")
        }
        let format = form.text("response_format") ?? "json"
        guard ["json", "text", "srt", "vtt", "verbose_json"].contains(format) else {
            throw APIError.badRequest(
                "response_format must be json, text, srt, vtt or verbose_json, not \(format.prefix(40))", param: "response_format")
        }
        var options = TranscriptionOptions(language: form.text("language").flatMap { $0.isEmpty ? nil : $0 }, prompt: form.text("prompt"))
        if let language = options.language, !(2...3).contains(language.count) || !language.allSatisfy(\.isLetter) {
            throw APIError.badRequest("language must be an ISO 639-1 code such as en, not \(language.prefix(40))", param: "language")
        }
        if let language = options.language?.lowercased(), !recognizer.detectsLanguage, language != "en" {
            let error = AudioError.unsupportedLanguage(language, model: recognizer.modelName)
            throw APIError(.badRequest, error.description, param: "language", code: error.apiCode)
        }
        if let raw = form.text("temperature") {
            guard let value = Double(raw), value.isFinite, (0...1).contains(value) else {
                throw APIError.badRequest("temperature must be a number from 0 to 1, not \(raw.prefix(40))", param: "temperature")
            }
            options.temperature = value
        }
        audit.add("file of \(file.body.count) bytes, sha256 \(Hex.encode(SHA256.hash(data: file.body)).prefix(16))")
        let clip: AudioClip
        do {
            clip = try WAVCodec.decode(file.body, maxSeconds: speech.maxAudioSeconds)
        } catch {
            throw APIError(.badRequest, error.description, param: "file", code: error.apiCode)
        }
        audit.add(String(format: "%.2f s of audio at %d Hz", clip.duration, clip.sampleRate))
        let started = ContinuousClock.now
        let transcript = try await recognizer.transcribe(clip, options: options)
        audit.add("\(format), transcribed in \(AudioAudit.seconds(started.duration(to: .now)))")
        switch format {
        case "text": return (Self.text(transcript.text + "\n"), transcript)
        case "srt": return (Self.text(transcript.subRip), transcript)
        case "vtt": return (Self.text(transcript.webVTT), transcript)
        case "verbose_json": return (Response.json(Self.verbose(transcript)), transcript)
        default: return (Response.json(["text": .string(transcript.text)]), transcript)
        }
    }

    func speechRoute(_ request: Request, _ context: AnimaRequestContext) async throws -> Response {
        let token = try context.authorize(.audio)
        var audit = AudioAudit(route: "POST /v1/audio/speech")
        var input = ""
        do {
            let response = try await speak(request, audit: &audit, input: &input)
            await kernel?.recordDeviceUse("audio.speech", user: token.user, facts: audit.facts, content: ["input": input])
            return response
        } catch {
            await kernel?.recordDeviceUse(
                "audio.speech", user: token.user, facts: audit.facts, content: input.isEmpty ? [:] : ["input": input],
                refused: APIError.from(error).auditCode)
            throw error
        }
    }

    private func speak(_ request: Request, audit: inout AudioAudit, input spoken: inout String) async throws -> Response {
        let body = try await request.jsonObject(limit: 64 << 10)
        guard body["model"]?.stringValue?.isEmpty == false else { throw APIError.badRequest("model is required", param: "model") }
        guard let input = body["input"]?.stringValue, input.contains(where: { !$0.isWhitespace }) else {
            throw APIError.badRequest("input is required: the text to speak", param: "input")
        }
        spoken = input
        audit.add("input of \(input.count) characters")
        guard input.count <= Self.maxInputCharacters else {
            throw APIError.badRequest("input is \(input.count) characters; the limit is \(Self.maxInputCharacters)", param: "input")
        }
        var speed = 1.0
        if let raw = body["speed"] {
            guard let value = raw.numberValue, value.isFinite, (0.25...4).contains(value) else {
                throw APIError.badRequest("speed must be a number from 0.25 to 4", param: "speed")
            }
            speed = value
        }
        let format = body["response_format"]?.stringValue ?? "wav"
        switch format {
        case "wav", "pcm": break
        case "mp3" where speech?.encoders["mp3"] != nil: break
        case "mp3", "opus", "aac", "flac":
            throw APIError(
                .badRequest,
                "this server has no \(format) encoder; ask for response_format wav or pcm"
                    + (format == "mp3" ? " (or install Debian's lame, as `make setup` does, and restart the daemon)" : ""),
                param: "response_format", code: "unsupported_format")
        default: throw APIError.badRequest("response_format must be wav or pcm, not \(format.prefix(40))", param: "response_format")
        }
        // The body is checked before the engine, so a bad request is a 400 on every daemon.
        guard let synthesizer = speech?.synthesizer else {
            throw APIError(
                .serviceUnavailable, "this daemon has no voice; install Debian's espeak-ng (`make setup` does) and restart it",
                type: "server_error", code: "no_voice")
        }
        guard let voice = body["voice"]?.stringValue else {
            throw APIError.badRequest("voice is required; one of \(synthesizer.voices.joined(separator: ", "))", param: "voice")
        }
        let options = SpeechOptions(voice: voice, speed: speed)
        audit.add("\(format), speed \(speed)")
        var splitter = SentenceSplitter(firstClause: true)
        var sentences = splitter.add(input)
        if let rest = splitter.finish() { sentences.append(rest) }
        // The first sentence is spoken before answering, so a bad voice is a 400, not a broken stream.
        let first: AudioClip
        do {
            first = try await synthesizer.synthesize(sentences.first ?? input, options: options)
        } catch let error as AudioError {
            throw APIError(.badRequest, error.description, param: "voice", code: error.apiCode)
        }
        if format == "wav" || format == "mp3" {
            var samples = first.samples
            for sentence in sentences.dropFirst() { samples += try await synthesizer.synthesize(sentence, options: options).samples }
            let clip = AudioClip(samples: samples, sampleRate: first.sampleRate)
            audit.add(String(format: "%.2f s of audio", clip.duration))
            if format == "mp3", let encode = speech?.encoders["mp3"] {
                return Response(
                    status: .ok, headers: [.contentType: "audio/mpeg"], body: .init(byteBuffer: ByteBuffer(bytes: try await encode(clip))))
            }
            return Response(
                status: .ok, headers: [.contentType: "audio/wav"], body: .init(byteBuffer: ByteBuffer(bytes: WAVCodec.encode(clip))))
        }
        // pcm: each sentence goes out as soon as it is spoken.
        let rest = Array(sentences.dropFirst())
        audit.add("\(sentences.count) sentences streamed")
        let stream = ResponseBody { writer in
            try await writer.write(ByteBuffer(bytes: first.resampled(to: Self.pcmRate).pcm16))
            for sentence in rest {
                let clip = try await synthesizer.synthesize(sentence, options: options)
                try await writer.write(ByteBuffer(bytes: clip.resampled(to: Self.pcmRate).pcm16))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "audio/pcm"], body: stream)
    }

    static func text(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static let languageNames = ["en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian", "nl": "dutch"]

    static func verbose(_ transcript: SpeechTranscript) -> JSONValue {
        let segments: [JSONValue] = transcript.segments.enumerated().map { i, segment in
            [
                "id": .number(Double(i)), "seek": .number(0), "start": .number(segment.start), "end": .number(segment.end),
                "text": .string(segment.text), "tokens": .array([]), "temperature": .number(0), "avg_logprob": .number(0),
                "compression_ratio": .number(0),
                "no_speech_prob": .number(0),
            ]
        }
        return [
            "task": "transcribe", "language": .string(languageNames[transcript.language] ?? transcript.language),
            "duration": .number(transcript.duration), "text": .string(transcript.text), "segments": .array(segments),
        ]
    }
}

extension SpeechTranscript {
    /// The segments as WebVTT subtitles.
    var webVTT: String {
        "WEBVTT\n\n"
            + segments.map {
                "\(Self.clock($0.start, ".")) --> \(Self.clock($0.end, "."))\n\($0.text.trimmingCharacters(in: .whitespaces))\n"
            }
            .joined(separator: "\n")
    }
}

extension AudioError {
    /// The API's `code` for this error.
    var apiCode: String {
        switch self {
        case .empty: "empty_audio"
        case .notWAV: "invalid_audio_format"
        case .truncated: "truncated_audio"
        case .unsupported: "unsupported_audio"
        case .tooLong: "audio_too_long"
        case .unsupportedLanguage: "unsupported_language"
        case .noSpeechModel: "no_speech_model"
        case .engineFailure: "engine_failure"
        }
    }
}

/// What the audit trail learns of one audio request: sizes, durations, formats and digests.
struct AudioAudit {
    private var parts: [String]

    init(route: String) { parts = [route] }

    mutating func add(_ fact: String) { parts.append(fact) }

    var facts: String { parts.joined(separator: ", ") }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}

extension APIError {
    /// What the audit trail says of a refusal: the status and the code, never the message,
    /// which may quote the request.
    var auditCode: String { "\(status.code) \(code ?? param ?? type)" }
}
