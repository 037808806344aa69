import Synchronization

/// What the scanners found in texts already scanned, by content, so each text is scanned
/// once however often it comes back: a page when it enters the context and again in every
/// tool call that passes it on, a short argument repeated call after call.
///
/// Findings depend only on the text and the scanners, never on the direction or the policy,
/// so one entry serves the input and the output guard alike. Findings are kept as UTF-8
/// offsets and rebuilt as ranges of the text asked about. The cache is bounded; when it
/// would hold more than `capacity` texts or `byteCapacity` bytes it starts again empty.
final class ScanCache: Sendable {
    private struct Found: Sendable {
        var scanner: String
        var category: GuardCategory
        var kind: String
        var lower: Int
        var upper: Int
    }

    private struct State {
        var entries: [String: [Found]] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())
    let capacity: Int
    let byteCapacity: Int

    init(capacity: Int = 4096, byteCapacity: Int = 16 << 20) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
    }

    /// The findings of `text`: remembered, or `scan`ned now and remembered.
    func findings(in text: String, scan: (String) -> [GuardFinding]) -> [GuardFinding] {
        if let found = state.withLock({ $0.entries[text] }) {
            let utf8 = text.utf8
            return found.map { f in
                let lower = utf8.index(utf8.startIndex, offsetBy: f.lower)
                let upper = utf8.index(utf8.startIndex, offsetBy: f.upper)
                return GuardFinding(scanner: f.scanner, category: f.category, kind: f.kind, range: lower..<upper)
            }
        }
        let findings = scan(text)
        let utf8 = text.utf8
        let found = findings.map { f in
            Found(
                scanner: f.scanner, category: f.category, kind: f.kind,
                lower: utf8.distance(from: utf8.startIndex, to: f.range.lowerBound),
                upper: utf8.distance(from: utf8.startIndex, to: f.range.upperBound))
        }
        state.withLock { s in
            if s.entries.count >= capacity || s.bytes + utf8.count > byteCapacity { s = State() }
            guard utf8.count <= byteCapacity else { return }
            s.entries[text] = found
            s.bytes += utf8.count
        }
        return findings
    }
}
