/// Characters that change what text means without being seen: bidirectional overrides
/// and isolates (Trojan Source), zero-width characters, and Unicode tag characters
/// (which can smuggle a whole hidden instruction in invisible ASCII look-alikes).
public struct InvisibleUnicodeScanner: GuardScanner {
    public let name = "invisible-unicode"

    public init() {}

    public func scan(_ text: String) -> [GuardFinding] {
        var findings: [GuardFinding] = []
        var index = text.unicodeScalars.startIndex
        while index < text.unicodeScalars.endIndex {
            let scalar = text.unicodeScalars[index]
            let next = text.unicodeScalars.index(after: index)
            if let kind = Self.kind(of: scalar) {
                // Merge a run of the same kind into one finding.
                var end = next
                while end < text.unicodeScalars.endIndex, Self.kind(of: text.unicodeScalars[end]) == kind {
                    end = text.unicodeScalars.index(after: end)
                }
                findings.append(GuardFinding(scanner: name, category: .invisibleUnicode, kind: kind, range: index..<end))
                index = end
            } else {
                index = next
            }
        }
        return findings
    }

    /// Each character is found on its own (a run that reaches the end may grow, which the
    /// stream guard sees from the finding itself): nothing is ever under way.
    public func pendingStart(in text: String, for categories: Set<GuardCategory>) -> String.Index? { nil }

    static func kind(of scalar: Unicode.Scalar) -> String? {
        switch scalar.value {
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: "bidirectional control"
        case 0x200B...0x200D, 0x2060...0x2064, 0xFEFF, 0x180E: "zero-width character"
        case 0xE0000...0xE007F: "tag character"
        default: nil
        }
    }
}
