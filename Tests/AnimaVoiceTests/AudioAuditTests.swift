import AnimaCore
import AnimaProcessor
import AnimaSecurity
import AnimaServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

extension AudioRoutesTests {
    @Test func theAuditTrailSaysWhoUsedWhichRouteOnHowMuchNeverTheWords() async throws {
        let s = try await served()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let question = "Please remind me to call my sister tomorrow morning."
        let wav = WAVCodec.encode(try await Voices.espeak().synthesize(question, options: .init()))
        let said = "Zanzibar elephants dance at midnight."
        try await Application(router: s.daemon.router()).test(.router) { client in
            try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token), body: form(["model": "whisper-1"], file: wav)
            ) {
                #expect($0.status == .ok)
                #expect(String(buffer: $0.body).lowercased().contains("sister"), "the words were heard: \(String(buffer: $0.body))")
            }
            try await client.execute(
                uri: "/v1/audio/speech", method: .post, headers: headers(s.token, multipart: false),
                body: ByteBuffer(string: #"{"model":"tts-1","input":"\#(said)","voice":"alloy"}"#)
            ) { #expect($0.status == .ok) }
            try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token), body: form(["model": "whisper-1"], file: [])
            ) { #expect($0.status == .badRequest) }
        }
        let records = s.daemon.audit.records.filter { $0.syscall.hasPrefix("audio.") }
        #expect(records.count == 3, "\(records.map(\.summary))")
        #expect(records.allSatisfy { $0.owner == "alice" })
        let heard = try #require(records.first { $0.syscall == "audio.transcription" && $0.outcome == .completed })
        for fact in ["POST /v1/audio/transcriptions", "file of \(wav.count) bytes", "sha256 ", "s of audio at 22050 Hz", "transcript hmac:"] {
            #expect(heard.summary.contains(fact), "\(fact): \(heard.summary)")
        }
        let spoken = try #require(records.first { $0.syscall == "audio.speech" })
        #expect(spoken.summary.contains("input of \(said.count) characters") && spoken.summary.contains("input hmac:"), "\(spoken.summary)")
        #expect(records.contains { $0.syscall == "audio.transcription" && $0.outcome == .denied("400 empty_audio") }, "\(records)")
        // Not a word of what was said or heard, in the trail or in the hash-chained file.
        let file = try String(contentsOfFile: s.directory + "/audit.log", encoding: .utf8)
        #expect(file.contains("audio.transcription"), "the file has the records")
        for word in ["sister", "remind", "morning", "zanzibar", "elephants", "midnight"] {
            #expect(!records.contains { $0.summary.lowercased().contains(word) }, "\(word) in the trail")
            #expect(!file.lowercased().contains(word), "\(word) in audit.log")
        }
    }

    @Test func tinyEnglishReportsEnglishAndRefusesOtherLanguagesClearly() async throws {
        let s = try await served()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let wav = WAVCodec.encode(try await Voices.espeak().synthesize("What is the capital of Italy?", options: .init()))
        #expect(try await Voices.whisper().transcribe(try WAVCodec.decode(wav), options: .init()).language == "en")
        try await Application(router: s.daemon.router()).test(.router) { client in
            for language in ["de", "FR", "zho"] {
                try await client.execute(
                    uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token),
                    body: form(["model": "whisper-1", "language": language], file: wav)
                ) {
                    #expect($0.status == .badRequest)
                    let error = try JSONValue(parsing: String(buffer: $0.body))["error"]
                    #expect(error?["code"]?.stringValue == "unsupported_language")
                    #expect(error?["param"]?.stringValue == "language")
                    let message = error?["message"]?.stringValue ?? ""
                    #expect(message.contains("English only") && message.contains("set it to en"), "\(message)")
                }
            }
            try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token),
                body: form(["model": "whisper-1", "language": "en", "response_format": "verbose_json"], file: wav)
            ) {
                #expect($0.status == .ok)
                let body = try JSONValue(parsing: String(buffer: $0.body))
                #expect(body["language"]?.stringValue == "english")
            }
        }
        // The engine refuses too, whoever calls it.
        await #expect(throws: AudioError.unsupportedLanguage("de", model: "whisper-tiny.en")) {
            try await Voices.whisper().transcribe(try WAVCodec.decode(wav), options: .init(language: "de"))
        }
    }

    @Test func twoHoursOfAudioIsAClear4xxWhateverItsHeaderSays() async throws {
        let s = try await served()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        // Two hours at 8 kHz, 8-bit: 57.6 MB, over the 25 MB upload limit (413, read no further).
        let header = WAVCodec.header(sampleRate: 8000, dataBytes: 8000 * 7200)
        let twoHours = {
            var h = header
            h[34] = 8  // 8 bits a sample
            h[32] = 1
            return h
        }()
        // A header that claims two hours of 16 kHz audio over a second of it.
        let claims = WAVCodec.header(sampleRate: 16000, dataBytes: 16000 * 2 * 7200) + [UInt8](repeating: 0, count: 32000)
        try await Application(router: s.daemon.router()).test(.router) { client in
            try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token),
                body: form(["model": "whisper-1"], file: twoHours + [UInt8](repeating: 128, count: 8000 * 7200))
            ) {
                #expect($0.status == .contentTooLarge)
                #expect(String(buffer: $0.body).contains("split the audio"), "\(String(buffer: $0.body))")
            }
            try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: headers(s.token), body: form(["model": "whisper-1"], file: claims)
            ) {
                #expect($0.status == .badRequest)
                #expect(String(buffer: $0.body).contains("declares 230400000 bytes but 32000 follow"), "\(String(buffer: $0.body))")
            }
        }
    }
}
