import AnimaCommandSupport
import AnimaCore
import AnimaLlama
import AnimaProcessor
import AnimaServer
import AnimaTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `/v1/audio/transcriptions` and `/v1/audio/speech` on a daemon with the real engines.
@Suite("Audio routes", .serialized)
struct AudioRoutesTests {
    struct Served {
        let daemon: Daemon
        let directory: String
        let token: String
        let chatOnly: String
    }

    func served(speech: Bool = true) async throws -> Served {
        let directory = Voices.temporary("daemon")
        var daemon = try Daemon(
            configuration: ServerConfiguration(dataDirectory: directory), processor: ScriptedModel(replies: [.text("hi")]), engine: nil,
            embedder: nil)
        if speech {
            daemon.speech = SpeechServices(
                recognizer: try await Voices.whisper(), synthesizer: try await Voices.espeak(), maxAudioSeconds: 120)
            if let lame = LameEncoder.installed() { daemon.speech?.encoders["mp3"] = lame.encode }
        }
        let token = try await daemon.tokens.create(name: "a", user: "alice", groups: ["users"], scopes: [.audio]).secret
        let chatOnly = try await daemon.tokens.create(name: "c", user: "alice", groups: ["users"], scopes: [.chat]).secret
        return Served(daemon: daemon, directory: directory, token: token, chatOnly: chatOnly)
    }

    static let boundary = "anima-test-boundary"

    func form(_ fields: [String: String], file: [UInt8]?) -> ByteBuffer {
        var body: [UInt8] = []
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body += Array("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        if let file {
            body += Array(
                "--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
                    .utf8)
            body += file + Array("\r\n".utf8)
        }
        body += Array("--\(Self.boundary)--\r\n".utf8)
        return ByteBuffer(bytes: body)
    }

    func headers(_ token: String, multipart: Bool = true) -> HTTPFields {
        [
            .authorization: "Bearer \(token)",
            .contentType: multipart ? "multipart/form-data; boundary=\(Self.boundary)" : "application/json",
        ]
    }

    @Test func transcriptionsAnswerInEveryFormat() async throws {
        let s = try await served()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let wav = WAVCodec.encode(
            try await Voices.espeak().synthesize("Please remind me to call my sister tomorrow morning.", options: .init()))
        try await Application(router: s.daemon.router()).test(.router) { client in
            for format in ["json", "text", "srt", "vtt", "verbose_json"] {
                try await client.execute(
                    uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token),
                    body: form(["model": "whisper-1", "response_format": format], file: wav)
                ) { response in
                    #expect(response.status == .ok, "\(format): \(String(buffer: response.body))")
                    let text = String(buffer: response.body)
                    switch format {
                    case "json", "verbose_json":
                        let json = try JSONValue(parsing: text)
                        let heard = json["text"]?.stringValue ?? ""
                        #expect(
                            WordErrorRate.of(reference: "Please remind me to call my sister tomorrow morning.", hypothesis: heard) <= 0.2,
                            "\(heard)")
                        if format == "verbose_json" {
                            #expect(json["language"]?.stringValue == "english")
                            #expect((json["segments"]?.arrayValue?.count ?? 0) >= 1)
                            #expect((json["duration"]?.numberValue ?? 0) > 1)
                        }
                    case "srt": #expect(text.hasPrefix("1\n00:00:00,000 --> 00:00:0"), "\(text)")
                    case "vtt": #expect(text.hasPrefix("WEBVTT\n\n00:00:00.000 --> "), "\(text)")
                    default: #expect(text.lowercased().contains("sister"), "\(text)")
                    }
                }
            }
        }
    }

    @Test func badAudioGetsAClear400() async throws {
        let s = try await served()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let good = WAVCodec.encode(AudioClip(samples: [Float](repeating: 0, count: 1600), sampleRate: 16000))
        var hugeHeader = good
        hugeHeader.replaceSubrange(40..<44, with: [0xFF, 0xFF, 0xFF, 0x7E])  // data size just under the streaming sentinel
        var wrongChannels = good
        wrongChannels.replaceSubrange(22..<24, with: [0xFF, 0xFF])
        let long = WAVCodec.encode(AudioClip(samples: [Float](repeating: 0, count: 8000 * 121), sampleRate: 8000))
        let cases: [(ByteBuffer, String)] = [
            (form(["model": "whisper-1"], file: []), "empty_audio"),
            (form(["model": "whisper-1"], file: Array(good.prefix(20))), "truncated_audio"),
            (form(["model": "whisper-1"], file: Array("ID3 this is an mp3".utf8)), "invalid_audio_format"),
            (form(["model": "whisper-1"], file: hugeHeader), "truncated_audio"),
            (form(["model": "whisper-1"], file: wrongChannels), "unsupported_audio"),
            (form(["model": "whisper-1"], file: long), "audio_too_long"),
            (form(["model": "whisper-1"], file: nil), "file"),
            (form(["model": "whisper-1", "response_format": "mp4"], file: good), "response_format"),
            (form(["model": "whisper-1", "temperature": "1e300"], file: good), "temperature"),
            (form(["model": "whisper-1", "language": "../../x"], file: good), "language"),
            (ByteBuffer(string: "--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"file\"\r\n"), "multipart"),
        ]
        try await Application(router: s.daemon.router()).test(.router) { client in
            for (body, expected) in cases {
                try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token), body: body) {
                    response in
                    #expect(response.status == .badRequest, "\(expected): \(response.status)")
                    #expect(String(buffer: response.body).contains(expected), "\(String(buffer: response.body))")
                }
            }
            // Not multipart at all; no token; a token without the audio scope; an unknown model.
            try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token, multipart: false), body: ByteBuffer(string: "{}")
            ) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, body: form(["model": "whisper-1"], file: good)) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.chatOnly), body: form(["model": "whisper-1"], file: good)
            ) {
                #expect($0.status == .forbidden)
                #expect(String(buffer: $0.body).contains("audio scope"))
            }
            try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token), body: form(["model": "gpt-9"], file: good)
            ) {
                #expect($0.status == .notFound)
            }
            // Over the upload limit: 413, read no further.
            let oversized = ByteBuffer(bytes: [UInt8](repeating: 0, count: (25 << 20) + 1))
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token), body: oversized) {
                #expect($0.status == .contentTooLarge)
            }
        }
    }

    @Test func speechIsWavOrStreamedPcm() async throws {
        let s = try await served()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        try await Application(router: s.daemon.router()).test(.router) { client in
            try await client.execute(
                uri: "/v1/audio/speech", method: .post, headers: headers(s.token, multipart: false),
                body: ByteBuffer(
                    string: #"{"model":"tts-1","input":"Hello there. How are you today?","voice":"alloy","response_format":"wav"}"#)
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "audio/wav")
                let clip = try WAVCodec.decode(Array(buffer: response.body))
                #expect(clip.duration > 1.5, "\(clip.duration)")
                // What it says can be heard back.
                let heard = try await Voices.whisper().transcribe(clip, options: .init())
                #expect(WordErrorRate.of(reference: "Hello there. How are you today?", hypothesis: heard.text) <= 0.34, "\(heard.text)")
            }
            try await client.execute(
                uri: "/v1/audio/speech", method: .post, headers: headers(s.token, multipart: false),
                body: ByteBuffer(
                    string: #"{"model":"tts-1","input":"One. Two. Three.","voice":"nova","response_format":"pcm","speed":1.5}"#)
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "audio/pcm")
                let seconds = Double(response.body.readableBytes) / 2 / 24000
                #expect(seconds > 0.5 && seconds < 5, "\(seconds)")
            }
            let bad: [(String, String)] = [
                (#"{"model":"tts-1","input":"hi","voice":"alloy","response_format":"opus"}"#, "no opus encoder"),
                (#"{"model":"tts-1","input":"hi","voice":"alloy","speed":1e300}"#, "speed"),
                (#"{"model":"tts-1","input":"hi","voice":"alloy","speed":-1}"#, "speed"),
                (#"{"model":"tts-1","input":"   ","voice":"alloy"}"#, "input"),
                (#"{"model":"tts-1","input":"hi"}"#, "voice"),
                (#"{"model":"tts-1","input":"hi","voice":"$(rm -rf /)"}"#, "voice"),
                (#"{"input":"hi","voice":"alloy"}"#, "model"),
                (#"{"model":"tts-1","input":"\#(String(repeating: "a", count: 4097))","voice":"alloy"}"#, "4096"),
            ]
            for (body, expected) in bad {
                try await client.execute(
                    uri: "/v1/audio/speech", method: .post, headers: headers(s.token, multipart: false), body: ByteBuffer(string: body)
                ) {
                    #expect($0.status == .badRequest, "\(expected): \($0.status)")
                    #expect(String(buffer: $0.body).contains(expected), "\(String(buffer: $0.body))")
                }
            }
        }
    }

    /// mp3 by Debian's lame, sandboxed: a real MP3 stream whose words can be heard back.
    @Test func speechAsMP3() async throws {
        let s = try await served()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        try #require(LameEncoder.installed() != nil, "lame is missing: make setup installs it")
        let mp3 = Voices.temporary("speech.mp3")
        let wav = Voices.temporary("speech.wav")
        defer { for path in [mp3, wav] { try? FileManager.default.removeItem(atPath: path) } }
        try await Application(router: s.daemon.router()).test(.router) { client in
            try await client.execute(
                uri: "/v1/audio/speech", method: .post, headers: headers(s.token, multipart: false),
                body: ByteBuffer(string: #"{"model":"tts-1","input":"Hello there. How are you today?","voice":"alloy","response_format":"mp3"}"#)
            ) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                #expect(response.headers[.contentType] == "audio/mpeg")
                let bytes = Array(buffer: response.body)
                #expect(bytes.starts(with: Array("ID3".utf8)) || (bytes.count > 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0))
                try Data(bytes).write(to: URL(fileURLWithPath: mp3))
            }
        }
        let decode = Process()
        decode.executableURL = URL(fileURLWithPath: "/usr/bin/lame")
        decode.arguments = ["--quiet", "--decode", mp3, wav]
        try decode.run()
        decode.waitUntilExit()
        let clip = try WAVCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: wav))))
        let heard = try await Voices.whisper().transcribe(clip, options: .init())
        #expect(WordErrorRate.of(reference: "Hello there. How are you today?", hypothesis: heard.text) <= 0.34, "\(heard.text)")
    }

    @Test func withoutEnginesTheRoutesSayWhatToInstall() async throws {
        let s = try await served(speech: false)
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        try await Application(router: s.daemon.router()).test(.router) { client in
            try await client.execute(
                uri: "/v1/audio/speech", method: .post, headers: headers(s.token, multipart: false),
                body: ByteBuffer(string: #"{"model": "tts-1", "input": "hello", "voice": "en"}"#)
            ) {
                #expect($0.status == .serviceUnavailable)
                #expect(String(buffer: $0.body).contains("espeak-ng"))
            }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token), body: form([:], file: nil))
            {
                #expect($0.status == .serviceUnavailable)
                #expect(String(buffer: $0.body).contains("make setup"))
            }
        }
    }

    @Test func theOfficialOpenAIClientTranscribesAndSpeaks() async throws {
        let s = try await served()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let wav = Voices.temporary("q.wav")
        let out = Voices.temporary("a.wav")
        defer { for path in [wav, out] { try? FileManager.default.removeItem(atPath: path) } }
        try Data(WAVCodec.encode(try await Voices.espeak().synthesize("Please remind me to call my sister.", options: .init())))
            .write(to: URL(fileURLWithPath: wav))
        let script = """
            import sys, openai
            client = openai.OpenAI(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0)
            with open(sys.argv[3], "rb") as f:
                t = client.audio.transcriptions.create(model="whisper-1", file=f)
            print("TEXT:" + t.text)
            with open(sys.argv[3], "rb") as f:
                v = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="verbose_json")
            print("SEGMENTS:%d" % len(v.segments))
            with open(sys.argv[3], "rb") as f:
                srt = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="srt")
            print("SRT:" + srt.splitlines()[0])
            speech = client.audio.speech.create(model="tts-1", voice="alloy", input="Good morning.", response_format="wav")
            speech.write_to_file(sys.argv[4])
            mp3 = client.audio.speech.create(model="tts-1", voice="alloy", input="Good morning.", response_format="mp3")
            print("MP3:%s" % mp3.content[:3].hex())
            try:
                client.audio.transcriptions.create(model="whisper-1", file=("x.wav", b"not audio"))
            except openai.BadRequestError as e:
                print("BAD:" + str(e.status_code))
            """
        try await Application(router: s.daemon.router()).test(.live) { client in
            let port = try #require(client.port)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Voices.cache + "/server-venv/bin/python")
            process.arguments = ["-c", script, "http://127.0.0.1:\(port)/v1", s.token, wav, out]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(output)")
            let text = output.split(separator: "\n").first { $0.hasPrefix("TEXT:") }.map { String($0.dropFirst(5)) } ?? ""
            #expect(WordErrorRate.of(reference: "Please remind me to call my sister.", hypothesis: text) <= 0.3, "\(output)")
            #expect(output.contains("SRT:1"), "\(output)")
            #expect(output.contains("BAD:400"), "\(output)")
            // An MP3 stream: an ID3 tag or an MPEG frame sync.
            #expect(output.contains("MP3:494433") || output.contains("MP3:fff"), "\(output)")
            #expect(!output.contains("SEGMENTS:0"), "\(output)")
            let spoken = try WAVCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
            #expect(spoken.duration > 0.5)
        }
    }

    @Test func theOpenAPIDocumentDescribesTheAudioRoutes() async throws {
        let s = try await served(speech: false)
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        try await Application(router: s.daemon.router()).test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get, headers: [.authorization: "Bearer \(s.token)"]) { response in
                let document = try JSONValue(parsing: String(buffer: response.body))
                #expect(document["paths"]?["/v1/audio/transcriptions"]?["post"] != nil)
                #expect(document["paths"]?["/v1/audio/speech"]?["post"] != nil)
            }
        }
    }
}
