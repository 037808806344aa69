/// A text as its reader sees it: the invisible characters `InvisibleUnicodeScanner`
/// reports removed, with a map back to where each visible character sits in the original.
///
/// Scanners read this form so that a zero-width space cannot split a key or a URL
/// (`AKIA\u{200B}IOSF…`, `ht\u{200B}tps://…`) into pieces no pattern matches, while their
/// findings still redact the right span of the text that leaves.
struct VisibleText {
    let original: String
    let text: String
    /// Where characters were removed: at visible UTF-8 offset `at`, `removed` bytes in all
    /// have been dropped so far. Sorted by `at`.
    private let shifts: [(at: Int, removed: Int)]

    /// Nil when `original` holds nothing invisible (it is its own visible form).
    init?(_ original: String) {
        var visible = String.UnicodeScalarView()
        var shifts: [(at: Int, removed: Int)] = []
        var visibleBytes = 0
        var removed = 0
        for scalar in original.unicodeScalars {
            let width = UTF8.width(scalar)
            if InvisibleUnicodeScanner.kind(of: scalar) != nil {
                removed += width
                if let last = shifts.last, last.at == visibleBytes {
                    shifts[shifts.count - 1].removed = removed
                } else {
                    shifts.append((visibleBytes, removed))
                }
            } else {
                visible.append(scalar)
                visibleBytes += width
            }
        }
        guard !shifts.isEmpty else { return nil }
        self.original = original
        text = String(visible)
        self.shifts = shifts
    }

    /// `finding`, found in `text`, as a finding in `original`. Invisible characters just
    /// before a visible one go with it, so a span never starts or ends inside a run of them
    /// that it covers.
    func mapped(_ finding: GuardFinding) -> GuardFinding {
        var f = finding
        f.range = index(finding.range.lowerBound)..<index(finding.range.upperBound)
        return f
    }

    private func index(_ visibleIndex: String.Index) -> String.Index {
        let offset = text.utf8.distance(from: text.utf8.startIndex, to: visibleIndex)
        // The last shift at or before `offset` (binary search).
        var low = 0, high = shifts.count
        while low < high {
            let mid = (low + high) / 2
            if shifts[mid].at <= offset { low = mid + 1 } else { high = mid }
        }
        let removed = low == 0 ? 0 : shifts[low - 1].removed
        return original.utf8.index(original.utf8.startIndex, offsetBy: offset + removed)
    }
}
