/// What a speech recogniser heard: the text, its timed segments and the spoken language.
public struct SpeechTranscript: Sendable, Equatable, Codable {
    /// One stretch of speech with its start and end, in seconds from the clip's start.
    public struct Segment: Sendable, Equatable, Codable {
        public var start: Double
        public var end: Double
        public var text: String

        public init(start: Double, end: Double, text: String) {
            self.start = start
            self.end = end
            self.text = text
        }
    }

    public var text: String
    public var segments: [Segment]
    /// ISO 639-1 code (`en`): detected by a multilingual model, fixed for an English-only one.
    public var language: String
    /// Length of the audio, in seconds.
    public var duration: Double

    public init(text: String, segments: [Segment], language: String, duration: Double) {
        self.text = text
        self.segments = segments
        self.language = language
        self.duration = duration
    }

    /// The segments as SubRip subtitles (`srt`), numbered from 1.
    public var subRip: String {
        segments.enumerated().map { i, segment in
            "\(i + 1)\n\(Self.clock(segment.start, ",")) --> \(Self.clock(segment.end, ","))\n\(segment.text.trimmed)\n"
        }.joined(separator: "\n")
    }

    /// `HH:MM:SS<separator>mmm`.
    public static func clock(_ seconds: Double, _ separator: String) -> String {
        let total = Int((max(0, seconds.isFinite ? seconds : 0) * 1000).rounded())
        let (h, m, s, ms) = (total / 3_600_000, total / 60_000 % 60, total / 1000 % 60, total % 1000)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let millis = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(two(h)):\(two(m)):\(two(s))\(separator)\(millis)"
    }
}

extension String {
    fileprivate var trimmed: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
