/// A package version: dotted numbers (`1`, `1.2`, `1.2.3`), compared number by number.
///
/// Kept to numbers on purpose: the store refuses downgrades, and a version that cannot be
/// ordered without guessing (`1.0-rc1` against `1.0`) would open a gap in that rule.
public struct PackageVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let parts: [Int]

    public init?(_ text: String) {
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(pieces.count) else { return nil }
        var parts: [Int] = []
        for piece in pieces {
            guard (1...9).contains(piece.count), piece.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(piece) else { return nil }
            parts.append(n)
        }
        self.parts = parts
    }

    public static func < (a: PackageVersion, b: PackageVersion) -> Bool {
        for i in 0..<max(a.parts.count, b.parts.count) {
            let x = i < a.parts.count ? a.parts[i] : 0
            let y = i < b.parts.count ? b.parts[i] : 0
            if x != y { return x < y }
        }
        return false
    }

    public static func == (a: PackageVersion, b: PackageVersion) -> Bool { !(a < b) && !(b < a) }
    public func hash(into hasher: inout Hasher) {
        var trimmed = parts
        while trimmed.last == 0 { trimmed.removeLast() }
        hasher.combine(trimmed)
    }

    public var description: String { parts.map(String.init).joined(separator: ".") }
}
