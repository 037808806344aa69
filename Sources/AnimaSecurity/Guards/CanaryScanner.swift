import Foundation

/// Finds canary tokens: unique strings planted in protected data (a secret file, a core
/// memory block, the system prompt) so that one turning up in a model's output or in a
/// tool call's arguments proves a leak.
public struct CanaryScanner: GuardScanner {
    public let name = "canary"
    public var tokens: Set<String>

    public init(tokens: Set<String>) {
        self.tokens = tokens
    }

    /// A fresh, unguessable canary token.
    public static func makeToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return "ANIMA-CANARY-" + String(generator.next() as UInt64, radix: 16).leftPadded(to: 16)
    }

    public func scan(_ text: String) -> [GuardFinding] {
        var findings: [GuardFinding] = []
        for token in tokens where !token.isEmpty {
            var search = text.startIndex..<text.endIndex
            while let r = text.range(of: token, range: search) {
                findings.append(GuardFinding(scanner: name, category: .canary, kind: "canary token", range: r))
                search = r.upperBound..<text.endIndex
            }
        }
        return findings
    }

    /// The start of the longest end of `text` that begins a token (`ANIMA-CAN` at the end).
    public func pendingStart(in text: String, for categories: Set<GuardCategory>) -> String.Index? {
        guard categories.contains(.canary) else { return nil }
        var earliest: String.Index?
        for token in tokens where !token.isEmpty {
            for length in stride(from: min(token.count - 1, text.count), through: 1, by: -1) where text.hasSuffix(token.prefix(length)) {
                let start = text.index(text.endIndex, offsetBy: -length)
                if earliest.map({ start < $0 }) ?? true { earliest = start }
                break
            }
        }
        return earliest
    }
}
