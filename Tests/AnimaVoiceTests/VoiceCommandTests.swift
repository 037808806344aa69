import AnimaProcessor
import AnimaTesting
import Foundation
import Testing

/// `anima voice` as a user runs it: a WAV in, a spoken reply out, on the default model.
@Suite("anima voice", .serialized)
struct VoiceCommandTests {
    static var binary: URL {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("anima"), runner.deletingLastPathComponent().appendingPathComponent("anima"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    func anima(_ arguments: [String], stdin: Data = Data(), environment extra: [String: String] = [:]) throws -> (
        status: Int32, stdout: Data, stderr: String
    ) {
        let home = Voices.temporary("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let paths = ["in", "out", "err"].map { home + "/" + $0 }
        try stdin.write(to: URL(fileURLWithPath: paths[0]))
        for path in paths[1...] { FileManager.default.createFile(atPath: path, contents: nil) }
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in [
            "HOME": home, "XDG_DATA_HOME": home + "/data", "XDG_CONFIG_HOME": home + "/config", "XDG_RUNTIME_DIR": home + "/run",
            "ANIMA_CACHE": Voices.cache, "ANIMA_DATA_DIR": "", "ANIMA_CONFIG": "",
        ] {
            environment[key] = value
        }
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: paths[0]))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: paths[1]))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: paths[2]))
        try process.run()
        process.waitUntilExit()
        return (
            process.terminationStatus, try Data(contentsOf: URL(fileURLWithPath: paths[1])),
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: paths[2])), as: UTF8.self)
        )
    }

    @Test func aQuestionInAWavFileGetsASpokenReply() async throws {
        let question = Voices.temporary("question.wav")
        let reply = Voices.temporary("reply.wav")
        defer { for path in [question, reply] { try? FileManager.default.removeItem(atPath: path) } }
        try Data(WAVCodec.encode(try await Voices.espeak().synthesize("What is the capital of France?", options: .init())))
            .write(to: URL(fileURLWithPath: question))
        let result = try anima(["voice", "--in", question, "--out", reply, "--mine", "--max-steps", "1", "--tokens-per-step", "40"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.lowercased().contains("capital of france"), "\(result.stderr)")
        #expect(result.stderr.contains("your words"), "\(result.stderr)")
        let spoken = try WAVCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: reply))))
        #expect(spoken.duration > 0.3, "\(spoken.duration)")
    }

    @Test func standardInToStandardOutAndTranscriptOnly() async throws {
        let wav = Data(
            WAVCodec.encode(try await Voices.espeak().synthesize("Please remind me to call my sister tomorrow morning.", options: .init())))
        let only = try anima(["voice", "--transcript-only"], stdin: wav)
        #expect(only.status == 0, "\(only.stderr)")
        let line = String(decoding: only.stdout, as: UTF8.self)
        #expect(line.hasPrefix("[00:00:00.000 --> "), "\(line)")
        #expect(
            WordErrorRate.of(
                reference: "Please remind me to call my sister tomorrow morning.", hypothesis: String(line.drop { $0 != "]" }.dropFirst()))
                <= 0.2)
        // A recording on stdin is untrusted; the reply streams to stdout as a WAV stream.
        let streamed = try anima(["voice", "--out", "-", "--max-steps", "3", "--tokens-per-step", "40"], stdin: wav)
        #expect(streamed.status == 0, "\(streamed.stderr)")
        #expect(streamed.stderr.contains("untrusted recording"), "\(streamed.stderr)")
        // Until 1d37a33 the leaked "tool" of the decision step was spoken and passed for a reply;
        // the real one was empty: SmolLM2 invented arguments for listen_to_recording until the
        // 40-token limit cut the call. Its schema now forbids arguments (3 of 3 replies spoken
        // by hand), but an empty answer still completes an agent, and SmolLM2's choices vary
        // with the data boundary's nonce: kept as a known, intermittent issue.
        withKnownIssue("SmolLM2 gives an empty answer to an untrusted recording", isIntermittent: true) {
            #expect(!streamed.stderr.contains("nothing to speak"), "\(streamed.stderr)")
            let clip = try WAVCodec.decode(Array(streamed.stdout))
            #expect(clip.duration > 0.3)
        }
    }

    @Test func badRecordingsAreClearErrors() throws {
        let garbage = try anima(["voice", "--transcript-only"], stdin: Data("not a wav file at all".utf8))
        #expect(garbage.status != 0)
        #expect(garbage.stderr.contains("not a WAV file"), "\(garbage.stderr)")
        let missing = try anima(["voice", "--in", "/nonexistent/x.wav"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("cannot read /nonexistent/x.wav: there is no such file"), "\(missing.stderr)")
        let folder = try anima(["voice", "--in", NSTemporaryDirectory()])
        #expect(folder.stderr.contains("it is a folder"), "\(folder.stderr)")
        // An empty file says it is empty, not just that it cannot be read.
        let empty = Voices.temporary("empty.wav")
        let long = Voices.temporary("long.wav")
        defer { for path in [empty, long] { try? FileManager.default.removeItem(atPath: path) } }
        FileManager.default.createFile(atPath: empty, contents: Data())
        let nothing = try anima(["voice", "--in", empty, "--transcript-only"])
        #expect(nothing.status != 0)
        #expect(nothing.stderr.contains("is empty (0 bytes)") && !nothing.stderr.contains("cannot read"), "\(nothing.stderr)")
        let onStdin = try anima(["voice", "--transcript-only"])
        #expect(onStdin.stderr.contains("standard input is empty (0 bytes)"), "\(onStdin.stderr)")
        // Over the length limit: the limit and the flag that raises it.
        try Data(WAVCodec.encode(AudioClip(samples: [Float](repeating: 0, count: 8000 * 601), sampleRate: 8000)))
            .write(to: URL(fileURLWithPath: long))
        let tooLong = try anima(["voice", "--in", long, "--transcript-only"])
        #expect(tooLong.stderr.contains("601 s of audio; the limit is 600 s") && tooLong.stderr.contains("--max-seconds"), "\(tooLong.stderr)")
        let truncated = try anima(["voice", "--transcript-only"], stdin: Data(WAVCodec.header(sampleRate: 16000, dataBytes: 64000) + [0, 0]))
        #expect(truncated.stderr.contains("cut short") && truncated.stderr.contains("declares 64000 bytes"), "\(truncated.stderr)")
        let both = try anima(["voice", "--in", "a.wav", "--microphone"])
        #expect(both.stderr.contains("not both"), "\(both.stderr)")
    }

    /// A folder holding an `arecord` that says `sentence` and then keeps recording silence,
    /// as a microphone does (its pid in `pid` there); the PATH that finds it first.
    func fakeMicrophone(saying sentence: String) async throws -> (folder: String, path: String) {
        let folder = Voices.temporary("mic")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let spoken = try await Voices.espeak().synthesize(sentence, options: .init()).resampled(to: 16_000)
        var raw = Data()
        for sample in spoken.samples + [Float](repeating: 0, count: 16_000 * 3 / 2) {
            let value = UInt16(bitPattern: Int16(max(-1, min(1, sample)) * 32767))
            raw.append(contentsOf: [UInt8(value & 0xff), UInt8(value >> 8)])
        }
        try raw.write(to: URL(fileURLWithPath: folder + "/speech.raw"))
        try "#!/bin/sh\necho $$ > \(folder)/pid\ncat \(folder)/speech.raw\nexec sleep 60\n".write(
            toFile: folder + "/arecord", atomically: true, encoding: .utf8)
        chmod(folder + "/arecord", 0o755)
        return (folder, folder + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"))
    }

    /// The microphone path with a recorder that speaks a question and then keeps recording
    /// (as a real microphone does): the words are transcribed as the pause ends them, and
    /// the recorder, which ignores SIGTERM when started from a Swift thread, is killed.
    @Test(.timeLimit(.minutes(2))) func theMicrophoneIsHeardUntilThePauseAndThenStopped() async throws {
        let (folder, path) = try await fakeMicrophone(saying: "What is the capital of France?")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let started = ContinuousClock.now
        let result = try anima(["voice", "--microphone", "--transcript-only"], environment: ["PATH": path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(String(decoding: result.stdout, as: UTF8.self).lowercased().contains("capital of france"), "\(result.stderr)")
        #expect(started.duration(to: .now) < .seconds(40), "anima waited for the recorder to end by itself")
        let pid = try #require(Int32(try String(contentsOfFile: folder + "/pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, 0) != 0, "the recorder \(pid) outlived anima voice")
    }

    /// Push to talk: each Enter one utterance, all turns to one agent, spoken back; the end
    /// of input ends the conversation.
    @Test(.timeLimit(.minutes(3))) func aConversationByMicrophoneKeepsOneAgent() async throws {
        let (folder, path) = try await fakeMicrophone(saying: "What is the capital of France?")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let reply = folder + "/reply.wav"
        let result = try anima(
            ["voice", "--microphone", "--conversation", "--out", reply, "--max-steps", "1", "--tokens-per-step", "30"],
            stdin: Data("\n\n".utf8), environment: ["PATH": path])
        #expect(result.status == 0, "\(result.stderr)")
        func count(_ text: String) -> Int { result.stderr.components(separatedBy: text).count - 1 }
        #expect(count("holds this conversation") == 1, "\(result.stderr)")
        #expect(count("heard (your words): ") == 2 && count("first reply audio") == 2, "\(result.stderr)")
        #expect(result.stderr.lowercased().contains("capital"), "\(result.stderr)")
        let spoken = try WAVCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: reply))))
        #expect(spoken.duration > 0.6, "\(spoken.duration)")
        for (flags, message) in [(["--conversation"], "add --microphone"), (["--microphone", "--conversation", "--transcript-only"], "leave out")] {
            let refused = try anima(["voice"] + flags)
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(refused.stderr)")
        }
    }

    @Test func piperIsChosenByFlagAndSaysWhatToInstallWhenMissing() async throws {
        let missing = try anima(
            ["voice", "--in", "x.wav", "--voice-engine", "piper"], environment: ["ANIMA_PIPER_VENV": "/nonexistent/piper-venv"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("scripts/setup-piper.sh"), "\(missing.stderr)")
        let unknown = try anima(["voice", "--in", "x.wav", "--voice-engine", "festival"])
        #expect(unknown.status != 0 && unknown.stderr.contains("espeak") && unknown.stderr.contains("piper"), "\(unknown.stderr)")
        guard PiperTests.installed != nil else { return }
        let question = Voices.temporary("question.wav")
        let reply = Voices.temporary("reply.wav")
        defer { for path in [question, reply] { try? FileManager.default.removeItem(atPath: path) } }
        try Data(WAVCodec.encode(try await Voices.espeak().synthesize("What is the capital of France?", options: .init())))
            .write(to: URL(fileURLWithPath: question))
        let spoken = try anima([
            "voice", "--in", question, "--out", reply, "--mine", "--max-steps", "1", "--tokens-per-step", "30", "--voice-engine", "piper",
        ])
        #expect(spoken.status == 0, "\(spoken.stderr)")
        let clip = try WAVCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: reply))))
        #expect(clip.sampleRate == 22050 && clip.duration > 0.3, "\(clip.sampleRate) \(clip.duration)")
    }
}
