/// Finds where someone speaks in a stream of samples, by energy: the streaming
/// transcription's voice-activity detection.
///
/// Each 20 ms frame's RMS is compared with a threshold above the running noise floor; an
/// utterance starts after `minimumSpeech` of loud frames and ends after `silence` of quiet
/// ones (or at `maximumUtterance`), padded on both sides. Memory stays bounded: outside
/// speech only the padding is kept.
public struct VoiceActivityDetector: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// RMS below which a frame is never speech (full scale is 1).
        public var absoluteThreshold: Float = 0.01
        /// How far above the noise floor speech must be.
        public var noiseRatio: Float = 3
        public var minimumSpeech = 0.08
        public var silence = 0.5
        public var padding = 0.2
        public var maximumUtterance = 28.0

        public init() {}
    }

    /// A stretch of speech and where it began in the stream, in seconds.
    public struct Utterance: Sendable, Equatable {
        public var start: Double
        public var clip: AudioClip
        /// Where the last loud frame ended in the stream, in seconds: the end of speech
        /// itself, before the silence that closed the utterance.
        public var speechEnd: Double
    }

    public let sampleRate: Int
    public let configuration: Configuration
    private let frame: Int
    private var buffer: [Float] = []
    /// Absolute index of `buffer[0]` in the stream.
    private var bufferStart = 0
    /// Absolute index of the next sample to judge.
    private var judged = 0
    private var noiseFloor: Float?
    private var speechStart: Int?
    private var loudRun = 0
    private var quietRun = 0
    /// Absolute index just past the last loud frame.
    private var lastLoudEnd = 0

    public init(sampleRate: Int, configuration: Configuration = Configuration()) {
        self.sampleRate = max(1, sampleRate)
        self.configuration = configuration
        frame = max(1, self.sampleRate / 50)
    }

    /// Whether an utterance is under way.
    public var isSpeaking: Bool { speechStart != nil }

    /// How long the speaker has been quiet inside the utterance under way, in seconds (0
    /// outside one): a pause that may yet become its end.
    public var quietSeconds: Double { speechStart == nil ? 0 : Double(quietRun) / Double(sampleRate) }

    /// The utterance under way as heard so far (nil outside one), so a transcription can
    /// start during a pause, before the silence has lasted long enough to end it.
    public var speechSoFar: Utterance? { speechStart.map { cut(from: $0, to: bufferStart + buffer.count) } }

    /// Takes more samples; returns the utterances they completed.
    public mutating func add(_ samples: [Float]) -> [Utterance] {
        buffer += samples
        var done: [Utterance] = []
        let rate = Double(sampleRate)
        let seconds = { (s: Double) in Int(s * rate) }
        while judged + frame <= bufferStart + buffer.count {
            let from = judged - bufferStart
            var energy: Float = 0
            for i in from..<from + frame {
                let v = buffer[i].isFinite ? buffer[i] : 0
                energy += v * v
            }
            let rms = (energy / Float(frame)).squareRoot()
            let floor = noiseFloor ?? rms
            let loud = rms > max(configuration.absoluteThreshold, floor * configuration.noiseRatio)
            if !loud { noiseFloor = floor * 0.95 + rms * 0.05 }
            judged += frame
            if loud { lastLoudEnd = judged }
            if let start = speechStart {
                quietRun = loud ? 0 : quietRun + frame
                if quietRun >= seconds(configuration.silence) || judged - start >= seconds(configuration.maximumUtterance) {
                    let end = min(bufferStart + buffer.count, judged - quietRun + seconds(configuration.padding))
                    done.append(cut(from: start, to: end))
                    speechStart = nil
                    loudRun = 0
                    quietRun = 0
                }
            } else {
                loudRun = loud ? loudRun + frame : 0
                if loudRun >= seconds(configuration.minimumSpeech) {
                    speechStart = max(bufferStart, judged - loudRun - seconds(configuration.padding))
                    quietRun = 0
                }
            }
        }
        // Outside speech, keep only what padding (and a speech start being counted) may need.
        let keepFrom = speechStart ?? max(bufferStart, judged - loudRun - seconds(configuration.padding))
        if keepFrom > bufferStart {
            buffer.removeFirst(min(buffer.count, keepFrom - bufferStart))
            bufferStart = keepFrom
        }
        return done
    }

    /// Ends the stream: the utterance under way, if any.
    public mutating func finish() -> Utterance? {
        defer {
            speechStart = nil
            loudRun = 0
        }
        guard let start = speechStart else { return nil }
        return cut(from: start, to: bufferStart + buffer.count)
    }

    private func cut(from start: Int, to end: Int) -> Utterance {
        let lower = max(0, start - bufferStart)
        let upper = max(lower, min(buffer.count, end - bufferStart))
        return Utterance(
            start: Double(start) / Double(sampleRate), clip: AudioClip(samples: Array(buffer[lower..<upper]), sampleRate: sampleRate),
            speechEnd: Double(min(end, lastLoudEnd)) / Double(sampleRate))
    }
}
