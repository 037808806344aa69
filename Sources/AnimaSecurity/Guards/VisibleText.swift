import Foundation

/// A text as its reader sees it: invisible and default-ignorable characters removed (zero
/// width, bidirectional controls, tags, soft hyphens, variation selectors), look-alikes
/// folded to the character they imitate (full-width `ｉｇｎｏｒｅ`, `𝐢𝐠𝐧𝐨𝐫𝐞`, `ⓘ`), with a map
/// back to where each character sits in the original.
///
/// Scanners read this form so that a zero-width space or a soft hyphen cannot split a key
/// or a URL (`AKIA\u{200B}IOSF…`, `ht\u{AD}tps://…`), nor a full-width spelling hide a
/// phrase, while their findings still redact the right span of the text that leaves.
struct VisibleText {
    let original: String
    let text: String
    /// Where the visible form is shorter than the original: at visible UTF-8 offset `at`,
    /// `removed` bytes in all have been dropped so far. Sorted by `at`.
    private let shifts: [(at: Int, removed: Int)]

    /// Nil when `original` is already its own visible form.
    init?(_ original: String) {
        var visible = String.UnicodeScalarView()
        var shifts: [(at: Int, removed: Int)] = []
        var visibleBytes = 0
        var removed = 0
        var changed = false
        func shift() {
            if let last = shifts.last, last.at == visibleBytes {
                shifts[shifts.count - 1].removed = removed
            } else {
                shifts.append((visibleBytes, removed))
            }
        }
        for scalar in original.unicodeScalars {
            let width = UTF8.width(scalar)
            if scalar.isASCII {
                visible.append(scalar)
                visibleBytes += width
            } else if Self.isIgnored(scalar) {
                changed = true
                removed += width
                shift()
            } else if let folded = Self.folded(scalar) {
                changed = true
                visible.append(folded)
                visibleBytes += UTF8.width(folded)
                // The bytes the fold saved go after it: a span ending at the folded
                // character ends after the whole original one.
                if UTF8.width(folded) < width {
                    removed += width - UTF8.width(folded)
                    shift()
                }
            } else {
                visible.append(scalar)
                visibleBytes += width
            }
        }
        guard changed else { return nil }
        self.original = original
        text = String(visible)
        self.shifts = shifts
    }

    /// Characters a reader does not see, which matching ignores: those
    /// `InvisibleUnicodeScanner` reports, and every default-ignorable code point (soft
    /// hyphen U+00AD, variation selectors U+FE00–FE0F and U+E0100–E01EF, and the like).
    static func isIgnored(_ scalar: Unicode.Scalar) -> Bool {
        InvisibleUnicodeScanner.kind(of: scalar) != nil || scalar.properties.isDefaultIgnorableCodePoint
    }

    /// The character `scalar` imitates, when Unicode's compatibility mapping (NFKC) makes it
    /// one other character no longer in UTF-8: full-width forms (U+FF01–FF5E), mathematical
    /// letters and digits, circled and super- or subscript characters. Nil for a character
    /// that is its own form, or whose form is several characters (folding those would put
    /// a finding's edge inside one original character).
    static func folded(_ scalar: Unicode.Scalar) -> Unicode.Scalar? {
        if (0xFF01...0xFF5E).contains(scalar.value) { return Unicode.Scalar(scalar.value - 0xFEE0) }
        guard scalar.properties.changesWhenNFKCCaseFolded else { return nil }
        let form = String(scalar).precomposedStringWithCompatibilityMapping.unicodeScalars
        guard form.count == 1, let only = form.first, only != scalar, UTF8.width(only) <= UTF8.width(scalar) else { return nil }
        return only
    }

    /// `finding`, found in `text`, as a finding in `original`. Invisible characters just
    /// before a visible one go with it, so a span never starts or ends inside a run of them
    /// that it covers.
    func mapped(_ finding: GuardFinding) -> GuardFinding {
        var f = finding
        f.range = index(finding.range.lowerBound)..<index(finding.range.upperBound)
        return f
    }

    /// Where the character at `visibleIndex` of `text` sits in `original`.
    func index(_ visibleIndex: String.Index) -> String.Index {
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
