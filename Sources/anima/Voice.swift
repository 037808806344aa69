import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaMemory
import AnimaProcessor
import AnimaStorage
import ArgumentParser
import Foundation

struct Voice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Speak to an agent and hear it answer: speech to text, the agent, text to speech, all on this machine.",
        discussion: """
            The audio is transcribed with Whisper (setup converts tiny.en), the transcript goes to an
            agent process exactly as `anima run` starts one (its memory, tools, policies and audit),
            and the answer is spoken with espeak-ng sentence by sentence, so the first sentence is
            ready before the answer is complete.

            Where the words came from matters. A recording from a file may hold anyone's voice, so
            its transcript reaches the agent as untrusted data (the output of a read-only tool): it
            cannot choose what the agent does. Words from your own microphone (--microphone), or a
            file you vouch for with --mine, are your instructions.

            Examples:
              anima voice --in question.wav --out reply.wav
              anima voice --in voicemail.wav --out - | aplay
              anima voice --microphone --out reply.wav --memory assistant
              anima voice --microphone --conversation --out - | aplay
              anima voice --in talk.wav --transcript-only
            """
    )

    @Option(name: .customLong("in"), help: ArgumentHelp("A WAV file to listen to; - for standard input.", valueName: "path"))
    var input: String?

    @Option(
        name: .customLong("out"),
        help: ArgumentHelp("Where to write the spoken reply (WAV); - streams it to standard output.", valueName: "path"))
    var output: String?

    @Flag(help: "Record one utterance from the microphone (ALSA's arecord); the words are yours.")
    var microphone = false

    @Flag(help: "With --microphone: keep talking, one agent for the whole conversation; press Enter before each turn (Ctrl-D ends).")
    var conversation = false

    @Flag(help: "The recording given with --in is your own voice: its words are your instructions, not untrusted data.")
    var mine = false

    @Flag(help: "Only print the transcript (with timestamps); start no agent.")
    var transcriptOnly = false

    @Option(help: ArgumentHelp("The Whisper model (ggml format).", valueName: "path"))
    var speechModel: String?

    @Option(help: "The voice: alloy, echo, fable, onyx, nova, shimmer, or an espeak-ng voice such as en-gb.")
    var voice = "alloy"

    @Option(help: "The voice engine: espeak (always there) or piper (when installed by scripts/setup-piper.sh; runs sandboxed).")
    var voiceEngine: VoiceEngine = .espeak

    @Option(help: NumericFlag.help("Speaking speed.", 0.25...4), transform: NumericFlag.number(0.25...4))
    var speed = 1.0

    @Option(help: "A system prompt for the agent.")
    var system: String?

    @Option(help: NumericFlag.help("Steps (model calls) before the agent gives up.", 1...1000), transform: NumericFlag.integer(1...1000))
    var maxSteps = 4

    @Option(help: NumericFlag.help("Tokens per model call.", 1...100_000), transform: NumericFlag.integer(1...100_000))
    var tokensPerStep = 160

    @Option(help: NumericFlag.help("Longest recording taken, in seconds.", 1...3600), transform: NumericFlag.number(1...3600))
    var maxSeconds = 600.0

    @Option(help: ArgumentHelp("Run with the persistent memory of this agent.", valueName: "name"))
    var memory: String?

    @OptionGroup var memoryLocation: MemoryLocation
    @OptionGroup var kernelOptions: KernelOptions
    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        if microphone, input != nil { throw ValidationError("give --in or --microphone, not both") }
        if conversation, !microphone { throw ValidationError("--conversation talks through the microphone: add --microphone") }
        if conversation, transcriptOnly { throw ValidationError("--conversation needs an agent to talk to: leave out --transcript-only") }
        if mine, input == nil { throw ValidationError("--mine vouches for a recording given with --in") }
        if !microphone, input == nil, Terminal.isInteractive(fd: STDIN_FILENO) {
            throw ValidationError("give a recording with --in (or pipe one to standard input), or use --microphone")
        }
        if voiceEngine == .piper, case .failure(let error) = PiperSynthesizer.installed() {
            throw ValidationError("--voice-engine piper: \(error.description)")
        }
        if let memory {
            do { _ = try MemoryNamespace(user: CurrentUser.principal.name, agent: memory) } catch {
                throw ValidationError("--memory: \(error)")
            }
        }
    }

    mutating func run() async throws {
        // The engines load while the recording is read (or spoken into the microphone), so
        // none of their start-up falls between the end of speech and the reply.
        let recognizerLoad = Task { [speechModel] in try await SpeechEngines.recognizer(path: speechModel) }
        var engineLoad: Task<LlamaEngine, any Error>?
        if !transcriptOnly {
            let (path, context, threads, template) = (
                try modelOptions.path(agent: memory), modelOptions.context, modelOptions.threads, modelOptions.chatTemplate
            )
            let scheduler = kernelOptions.scheduler
            engineLoad = Task {
                try await ModelOptions.loadEngine(
                    path: path, context: context, threads: threads, chatTemplate: template, slots: 1, scheduler: scheduler)
            }
        }
        let voiceLoad: Task<any SpeechSynthesizer, any Error>? = transcriptOnly ? nil : Task { [voiceEngine] in try await voiceEngine.load() }
        defer { engineLoad?.cancel() }
        if conversation, let engineLoad, let voiceLoad {
            return try await converse(
                recognizer: try await recognizerLoad.value, engine: try await engineLoad.value, synthesizer: try await voiceLoad.value)
        }
        let heard: ContinuousClock.Instant
        let transcript: SpeechTranscript
        let seconds: Double
        if microphone {
            // Transcribed while the closing pause lasts: `heard` is when the pause ended the turn.
            let utterance = try await Microphone.listen(recognizer: try await recognizerLoad.value, maxSeconds: maxSeconds)
            (heard, transcript, seconds) = (utterance.ended, utterance.heard.transcript, utterance.heard.speechEnd - utterance.heard.start)
        } else {
            let clip = try readAudio()
            let recognizer = try await recognizerLoad.value
            heard = ContinuousClock.now
            transcript = try await recognizer.transcribe(clip, options: TranscriptionOptions())
            seconds = clip.duration
        }
        let transcribed = heard.duration(to: .now)
        if transcriptOnly {
            for segment in transcript.segments {
                Terminal.write(
                    "[\(SpeechTranscript.clock(segment.start, ".")) --> \(SpeechTranscript.clock(segment.end, "."))] \(segment.text.trimmingCharacters(in: .whitespaces))\n"
                )
            }
            return
        }
        guard transcript.text.contains(where: { $0.isLetter || $0.isNumber }) else {
            throw ValidationError("no speech was heard in the recording (\(String(format: "%.1f", seconds)) s)")
        }
        let origin: VoiceTurn.Origin = microphone || mine ? .microphone : .recording(input == "-" ? "standard input" : input ?? "")
        Terminal.error(
            "heard (\(origin == .microphone ? "your words" : "untrusted recording"), \(String(format: "%.2f", transcribed.seconds)) s): \(transcript.text)\n"
        )
        guard let engineLoad, let voiceLoad else { return }
        try await answer(transcript.text, origin: origin, started: heard, engine: try await engineLoad.value, synthesizer: try await voiceLoad.value)
    }

    /// The recording: from a file or standard input.
    func readAudio() throws -> AudioClip {
        let bytes: [UInt8]
        if input == nil || input == "-" {
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            let path = (input! as NSString).expandingTildeInPath
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ValidationError("cannot read \(path): there is no such file; give the path of a WAV recording")
            }
            guard !isDirectory.boolValue else { throw ValidationError("cannot read \(path): it is a folder; give the path of a WAV recording") }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read \(path): permission denied or unreadable; check its permissions (ls -l)")
            }
            bytes = Array(data)
        }
        let source = input == nil || input == "-" ? "standard input" : input!
        do {
            return try WAVCodec.decode(bytes, maxSeconds: maxSeconds)
        } catch .empty where bytes.isEmpty {
            throw ValidationError("\(source) is empty (0 bytes): give a WAV recording with some sound in it")
        } catch .tooLong(let seconds, let limit) {
            throw ValidationError(
                "\(source) holds \(Int(seconds)) s of audio; the limit is \(Int(limit)) s: split it, or raise --max-seconds (up to 3600)")
        } catch {
            throw ValidationError("\(source): \(error.description)")
        }
    }

    /// Push to talk: each Enter, one utterance from the microphone, one turn of the same
    /// agent; Ctrl-D (end of input) ends the conversation.
    func converse(recognizer: any SpeechRecognizer, engine: LlamaEngine, synthesizer: any SpeechSynthesizer) async throws {
        func nextTurn() async throws -> (words: String, heard: ContinuousClock.Instant)? {
            while true {
                Terminal.error("press Enter, then speak (Ctrl-D ends the conversation)\n")
                guard await DedicatedThread.offload(name: "anima-push-to-talk", { readLine() }) != nil else { return nil }
                let utterance = try await Microphone.listen(recognizer: recognizer, maxSeconds: maxSeconds)
                let words = utterance.heard.transcript.text
                guard words.contains(where: { $0.isLetter || $0.isNumber }) else {
                    Terminal.error("(nothing was heard)\n")
                    continue
                }
                Terminal.error("heard (your words): \(words)\n")
                return (words, utterance.ended)
            }
        }
        guard let first = try await nextTurn() else { return }
        try await answer(first.words, origin: .microphone, started: first.heard, engine: engine, synthesizer: synthesizer, next: nextTurn)
    }

    /// Runs the agent on the transcript and speaks its answer as it streams; with `next`,
    /// the agent holds a conversation and each of `next`'s transcripts is its next turn,
    /// until `next` gives none.
    func answer(
        _ words: String, origin: VoiceTurn.Origin, started: ContinuousClock.Instant, engine: LlamaEngine, synthesizer: any SpeechSynthesizer,
        next: (() async throws -> (words: String, heard: ContinuousClock.Instant)?)? = nil
    ) async throws {
        let toolbox = try await kernelOptions.loadTools(packages: memoryLocation.directory)
        defer { Task { await toolbox.shutdown() } }
        var systemTools: [any SystemTool] = ToolAdapter.adapting(toolbox.tools)
        let base = AgentSpec(
            name: "voice", task: words,
            systemPrompt: system ?? "You are a helpful voice assistant. Answer in one or two short spoken sentences.",
            tools: systemTools.map(\.definition.name), limits: .init(maxSteps: maxSteps),
            sampling: .init(temperature: 0, maxTokensPerStep: tokensPerStep), memory: memory)
        let turn = VoiceTurn.spec(transcript: words, origin: origin, base: base)
        var spec = turn.spec
        spec.conversation = next != nil
        systemTools += turn.tools
        var memorySystem: MemorySystem?
        if memory != nil { memorySystem = try await memoryLocation.open(embeddings: true) }
        let kernel = Kernel(
            try .standard(
                processor: try ConfiguredProcessor.processor(local: .local(engine)), tools: systemTools, memory: memorySystem,
                dataDirectory: memoryLocation.directory.path))
        if let terminal = TerminalApprover.forControllingTerminal() { await terminal.answerFor(kernel) }
        let speaker = SpeechWriter(path: output, sampleRate: VoiceEngine.sampleRate(of: synthesizer))
        let options = SpeechOptions(voice: voice, speed: speed)
        if synthesizer is EspeakSynthesizer { _ = try EspeakVoiceCheck.check(options.voice) }

        let events = await kernel.events()
        let pid = try await kernel.spawn(spec, owner: CurrentUser.principal)
        if next != nil { Terminal.error("(agent \(pid) holds this conversation)\n") }
        var splitter = SentenceSplitter(firstClause: true)
        var firstAudio: Duration?
        var started = started
        func speak(_ sentence: String) async throws {
            let clip = try await synthesizer.synthesize(sentence, options: options)
            if firstAudio == nil { firstAudio = started.duration(to: .now) }
            try speaker.append(clip)
        }
        var spokeAny = false
        /// Speaks what is left of a turn's answer and reports when its first audio came.
        func endOfAnswer(_ answer: String?) async throws {
            if let rest = splitter.finish() {
                spokeAny = true
                try await speak(rest)
            }
            if !spokeAny, let answer, !answer.isEmpty { try await speak(answer) }
            if !spokeAny, answer?.isEmpty ?? true { Terminal.error("(the agent's answer is empty: nothing to speak)") }
            Terminal.error("\n")
            if let firstAudio {
                Terminal.error("first reply audio \(String(format: "%.2f", firstAudio.seconds)) s after the recording was taken\n")
            }
        }
        for await event in events {
            switch event {
            case .text(let p, let text) where p == pid:
                Terminal.error(text)
                for sentence in splitter.add(text) {
                    spokeAny = true
                    try await speak(sentence)
                }
            case .turnEnded(let p, let answer) where p == pid:
                try await endOfAnswer(answer)
                guard let following = try await next?() else {
                    try? await kernel.signal(pid, .terminate, from: CurrentUser.principal)
                    try speaker.finish()
                    return
                }
                (splitter, firstAudio, spokeAny, started) = (SentenceSplitter(firstClause: true), nil, false, following.heard)
                try await kernel.tell(pid, following.words, as: CurrentUser.principal)
            case .exited(let p, let status) where p == pid:
                if case .completed(let answer) = status { try await endOfAnswer(answer) } else { try await endOfAnswer(nil) }
                try speaker.finish()
                if case .completed = status { return }
                throw ValidationError("the agent did not finish: \(status)")
            default: break
            }
        }
    }
}

/// Which voice speaks the reply.
enum VoiceEngine: String, ExpressibleByArgument, CaseIterable {
    case espeak, piper

    func load() async throws -> any SpeechSynthesizer {
        switch self {
        case .espeak: return try await EspeakSynthesizer.shared()
        case .piper:
            switch PiperSynthesizer.installed() {
            case .success(let piper): return piper
            case .failure(let error): throw ValidationError("--voice-engine piper: \(error.description)")
            }
        }
    }

    static func sampleRate(of synthesizer: any SpeechSynthesizer) -> Int {
        (synthesizer as? EspeakSynthesizer)?.sampleRate ?? (synthesizer as? PiperSynthesizer)?.sampleRate ?? 22050
    }
}

/// Checks a voice name before the agent starts, so a typo fails fast.
enum EspeakVoiceCheck {
    static func check(_ name: String?) throws -> Bool {
        guard let name else { return true }
        if EspeakSynthesizer.voiceMap[name.lowercased()] != nil { return true }
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-+_".contains($0)) }), !name.isEmpty else {
            throw ValidationError("--voice \(name) is not a voice; use alloy, echo, fable, onyx, nova, shimmer or an espeak-ng voice")
        }
        return true
    }
}

/// Writes the reply: to a WAV file at the end, or to standard output as it is spoken.
final class SpeechWriter {
    let path: String?
    let sampleRate: Int
    private var samples: [Float] = []
    private var streamed = false

    init(path: String?, sampleRate: Int) {
        self.path = path
        self.sampleRate = sampleRate
    }

    func append(_ clip: AudioClip) throws {
        let clip = clip.sampleRate == sampleRate ? clip : clip.resampled(to: sampleRate)
        if path == "-" {
            if !streamed {
                FileHandle.standardOutput.write(Data(WAVCodec.header(sampleRate: sampleRate, dataBytes: nil)))
                streamed = true
            }
            FileHandle.standardOutput.write(Data(clip.pcm16))
        } else {
            samples += clip.samples
        }
    }

    func finish() throws {
        guard let path, path != "-" else { return }
        let url = URL(fileURLWithPath: (path as NSString).expandingTildeInPath)
        do {
            try Data(WAVCodec.encode(AudioClip(samples: samples, sampleRate: sampleRate))).write(to: url, options: .atomic)
        } catch {
            throw ValidationError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
