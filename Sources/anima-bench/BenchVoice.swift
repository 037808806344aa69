import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import AnimaTesting
import ArgumentParser
import Foundation

/// `anima-bench voice`: transcription speed against whisper.cpp's own `whisper-cli` on the
/// same audio, model and threads in the same run; word error rate on a fixed set of
/// synthesised sentences; time from the end of speech to the first audio of the reply.
struct BenchVoice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voice",
        abstract: "Real-time factor against whisper-cli, word error rate, and end of speech to first reply audio.",
        discussion: """
            espeak-ng speaks a fixed set of sentences into one 16 kHz WAV file. Each round
            transcribes it with WhisperEngine and with whisper-cli (built by setup from the
            same whisper.cpp, same model, same threads, greedy decoding, the same audio
            context `-ac`), alternating; the anchor's time is whisper-cli's own total less its
            model load. Then, per sentence, played in real time with a second of silence after
            it, the time from the end of speech (the last loud frame) to the first reply audio,
            stage by stage (detector's end, transcript, agent spawned, first token, first
            clause or sentence, espeak-ng's audio), for two pipelines alternating: "before"
            (full 30 s Whisper context after the end, first sentence) and "after" (fitted
            context, transcription started during the closing pause, first clause). Prints one
            JSON line per round and per reply, and a summary.

            Example:
              anima-bench voice --rounds 3 --threads 2
            """)

    @Option(help: NumericFlag.help("Rounds.", 1...100), transform: NumericFlag.integer(1...100)) var rounds = 3
    @Option(help: NumericFlag.help("Threads for both recognisers.", 1...256), transform: NumericFlag.integer(1...256)) var threads = 2
    @Option(help: "The Whisper model (ggml). Default: tiny.en from `make setup`.") var speechModel: String?
    @Option(help: "The chat model for the reply latency (GGUF). Default: the default model.") var model: String?
    @Option(help: NumericFlag.help("Replies to time (0 to skip).", 0...20), transform: NumericFlag.integer(0...20)) var replies = 4

    static let sentences = [
        "The weather today is sunny and warm.",
        "Please remind me to call my sister tomorrow morning.",
        "How many kilometers is it from Paris to Berlin?",
        "Turn off the lights in the kitchen.",
        "What is the capital of Italy?",
        "Add milk, eggs and bread to my shopping list.",
        "Set a timer for twenty minutes.",
        "Read me the latest message from Anna.",
    ]

    func run() async throws {
        let modelPath = speechModel ?? SpeechEngines.defaultRecognizerPath
        let cli = AnimaPaths.cache.appendingPathComponent("whisper.cpp/current/bin/whisper-cli").path
        guard FileManager.default.isExecutableFile(atPath: cli) else { throw ValidationError("no whisper-cli at \(cli); run `make setup`") }
        let whisper = try await SpeechEngines.recognizer(path: modelPath, threads: threads)
        let espeak = try await EspeakSynthesizer.shared()
        var spoken: [AudioClip] = []
        for sentence in Self.sentences { spoken.append(try await espeak.synthesize(sentence, options: .init()).resampled(to: 16000)) }
        let pause = [Float](repeating: 0, count: 8000)
        let clip = AudioClip(samples: spoken.flatMap { $0.samples + pause }, sampleRate: 16000)
        let wav = NSTemporaryDirectory() + "anima-bench-voice-\(UUID().uuidString).wav"
        defer { try? FileManager.default.removeItem(atPath: wav) }
        try Data(WAVCodec.encode(clip)).write(to: URL(fileURLWithPath: wav))
        let reference = Self.sentences.joined(separator: " ")

        var ratios: [Double] = []
        var ours: [Double] = []
        var theirs: [Double] = []
        var wer = 0.0
        var cliWER = 0.0
        for round in 1...rounds {
            let started = ContinuousClock.now
            let transcript = try await whisper.transcribe(clip, options: .init())
            let own = started.duration(to: .now).seconds
            let anchor = try Self.whisperCLI(
                cli, model: modelPath, wav: wav, threads: threads, audioContext: WhisperEngine.audioContext(seconds: clip.duration))
            wer = WordErrorRate.of(reference: reference, hypothesis: transcript.text)
            cliWER = WordErrorRate.of(reference: reference, hypothesis: anchor.text)
            ours.append(own)
            theirs.append(anchor.seconds)
            ratios.append(anchor.seconds / own)
            print(
                JSONValue.object([
                    "round": .number(Double(round)), "audio_s": .number(clip.duration), "anima_s": .number(own),
                    "whisper_cli_s": .number(anchor.seconds), "anima_rtf": .number(own / clip.duration),
                    "whisper_cli_rtf": .number(anchor.seconds / clip.duration), "speed_vs_whisper_cli": .number(anchor.seconds / own),
                    "wer": .number(wer), "whisper_cli_wer": .number(cliWER),
                ]).jsonText)
        }

        // End of speech to first reply audio, two pipelines in the same run, alternating:
        // "before" transcribes the whole utterance with Whisper's full 30 s context once the
        // detector has ended it and speaks the first sentence; "after" fits the context to the
        // clip, starts transcribing during the closing pause and speaks the first clause.
        var before: [Double] = []
        var after: [Double] = []
        if replies > 0 {
            let fullContext = try await SpeechEngines.recognizer(path: modelPath, threads: threads, fitsContextToAudio: false)
            let pipelines = [
                Pipeline(name: "before", recognizer: fullContext, early: false, firstClause: false),
                Pipeline(name: "after", recognizer: whisper, early: true, firstClause: true),
            ]
            let engine = try await ModelOptions.loadEngine(
                path: model.map(ModelDefaults.resolve) ?? AnimaPaths.defaultModel, context: 2048, slots: 1, scheduler: Scheduler())
            let directory = NSTemporaryDirectory() + "anima-bench-voice-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let kernel = Kernel(try .standard(processor: engine, dataDirectory: directory))
            // One untimed turn each, so neither pays for cold caches.
            for pipeline in pipelines { _ = try await Self.timeReply(spoken[0], pipeline: pipeline, kernel: kernel, espeak: espeak) }
            for (i, utterance) in spoken.prefix(replies).enumerated() {
                var row: JSONObject = ["reply": .number(Double(i + 1))]
                for pipeline in i % 2 == 0 ? pipelines : Array(pipelines.reversed()) {
                    let timing = try await Self.timeReply(utterance, pipeline: pipeline, kernel: kernel, espeak: espeak)
                    row[pipeline.name] = timing.json
                    if pipeline.name == "before" { before.append(timing.firstAudio) } else { after.append(timing.firstAudio) }
                }
                print(JSONValue.object(row).jsonText)
            }
        }
        var summary: JSONObject = [
            "audio_s": .number(clip.duration), "threads": .number(Double(threads)),
            "median_speed_vs_whisper_cli": .number(Self.median(ratios)), "median_anima_rtf": .number(Self.median(ours) / clip.duration),
            "median_whisper_cli_rtf": .number(Self.median(theirs) / clip.duration), "wer": .number(wer), "whisper_cli_wer": .number(cliWER),
        ]
        if !after.isEmpty {
            summary["median_end_of_speech_to_first_audio_s"] = .number(Self.median(after))
            summary["median_before_end_of_speech_to_first_audio_s"] = .number(Self.median(before))
            summary["median_after_over_before"] = .number(Self.median(zip(after, before).map { $0 / $1 }))
        }
        print(JSONValue.object(summary).jsonText)
    }

    /// whisper-cli's transcription time (its total less its model load) and its text.
    static func whisperCLI(_ cli: String, model: String, wav: String, threads: Int, audioContext: Int) throws -> (seconds: Double, text: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cli)
        // Greedy decoding, as WhisperEngine decodes; no timestamps printed, no GPU.
        process.arguments = ["-m", model, "-f", wav, "-t", "\(threads)", "-bs", "1", "-nt", "-ng", "-ac", "\(audioContext)"]
        let out = Pipe()
        let logFile = NSTemporaryDirectory() + "anima-bench-whisper-cli-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: logFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: logFile) }
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else { throw ValidationError("whisper-cli failed: \(log.suffix(500))") }
        func milliseconds(_ label: String) -> Double? {
            guard let line = log.split(separator: "\n").first(where: { $0.contains(label) }),
                let range = line.range(of: #"[0-9]+\.[0-9]+ ms"#, options: .regularExpression)
            else { return nil }
            return Double(line[range].dropLast(3))
        }
        guard let total = milliseconds("total time"), let load = milliseconds("load time") else {
            throw ValidationError("whisper-cli printed no timings: \(log.suffix(500))")
        }
        return ((total - load) / 1000, text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
