import AnimaCore
import AnimaProcessor

/// An incremental splitter for newline-delimited JSON (one JSON document per line), the
/// streaming format of Ollama's native API.
public struct JSONLinesParser: Sendable {
    public let maxLineBytes: Int
    private var line: [UInt8] = []

    public init(maxLineBytes: Int = 4 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    /// Parses the next bytes and returns the non-blank lines they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(StreamFramingError) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == 0x0A {
                if let text = take() { lines.append(text) }
            } else {
                line.append(byte)
                if line.count > maxLineBytes { throw .recordTooLarge(limit: maxLineBytes) }
            }
        }
        return lines
    }

    /// The last line, when the stream ended without a final newline.
    public mutating func finish() -> String? { take() }

    private mutating func take() -> String? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.last == 0x0D { line.removeLast() }
        let text = String(decoding: line, as: UTF8.self)
        return text.allSatisfy(\.isWhitespace) ? nil : text
    }
}
