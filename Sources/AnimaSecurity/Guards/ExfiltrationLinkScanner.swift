import Foundation

/// Links that carry data out when rendered or followed: images (the reader's client
/// fetches them without a click) in every form a markdown or HTML renderer accepts, and
/// URLs whose query holds a long payload.
///
/// An image is remote unless its address is a plain relative or absolute path: a scheme
/// (other than `data:`), a protocol-relative `//host`, and the backslash spellings that
/// browsers read as slashes (`\\host`, `https:\\host`) all count as remote. Reference-style
/// images (`![x][r]` with `[r]: https://…`) are matched to their definitions; when a
/// definition or its use is not in the text (a stream shows a window of it), the part
/// that is there is reported, so the guard fails closed.
///
/// A match that reaches the end of the text unfinished (`![x](ht`) is reported too: in a
/// stream the rest may follow, and the stream guard holds it back until it is whole.
public struct ExfiltrationLinkScanner: GuardScanner {
    public let name = "exfiltration-links"

    public init() {}

    static let inlineImage = "markdown image with a remote URL"
    static let imageReference = "markdown image reference to a remote URL"
    static let definition = "link definition an image may use"
    static let htmlImage = "HTML image with a remote URL"
    static let longQuery = "URL with a long query payload"

    private static func regex(_ pattern: String) -> NSRegularExpression {
        try! NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
    }

    /// Bracketed text with one level of nested brackets (`![a [b] c]`); linear, as the
    /// alternatives cannot both match a character.
    private static let bracketed = #"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]"#
    /// `![alt](destination ...)`, the closing parenthesis optional (a stream may end there).
    private static let inline = regex(#"!"# + bracketed + #"\(\s*<?([^\s)>]*)[^)]*\)?"#)
    /// `![alt][label]`, `![alt][]`, `![label]`, and links of the same shapes without `!`.
    private static let reference = regex(#"(!?)"# + bracketed + #"(?:\[([^\[\]]*)\]|(?![\[(]))"#)
    /// `[label]: destination` at the start of a line (in a block quote too).
    private static let definitionLine = regex(#"(?m)^[ \t>]*\[([^\[\]]+)\]:[ \t]*\n?[ \t]*<?([^\s>]*)"#)
    /// Tags that fetch what an attribute names when rendered; unterminated at the end counts.
    private static let tag = regex(
        #"<(?:img|image|source|video|audio|input|embed|iframe|frame|object|track|link|use|svg|body|table|td|th)\b[^>]*(?:>|$)"#)
    private static let attribute = regex(
        #"\b(?:src|srcset|href|xlink:href|poster|data|background|lowsrc|dynsrc|style)\s*=\s*(?:"([^"]*)"?|'([^']*)'?|([^\s>]*))"#)
    private static let query = regex(
        #"(?:https?:|(?<=[(<"'=]))[\\/]{2}[^\s/?#\\]+[^\s?#]*\?[^\s#]*=[^\s&#]{40,}"#)

    static let partials = [inline, reference, definitionLine, tag, query].map(PartialPattern.init)

    public func scan(_ text: String) -> [GuardFinding] {
        let ns = text as NSString
        let whole = NSRange(location: 0, length: ns.length)
        var findings: [GuardFinding] = []
        func add(_ kind: String, _ range: NSRange) {
            guard let r = Range(range, in: text) else { return }
            findings.append(GuardFinding(scanner: name, category: .exfiltration, kind: kind, range: r))
        }
        func group(_ match: NSTextCheckingResult, _ i: Int) -> String? {
            let r = match.range(at: i)
            return r.location == NSNotFound ? nil : ns.substring(with: r)
        }
        func reachesEnd(_ match: NSTextCheckingResult) -> Bool { NSMaxRange(match.range) == ns.length }

        for match in Self.inline.matches(in: text, range: whole) {
            let closed = ns.substring(with: match.range).hasSuffix(")")
            if Self.isRemote(group(match, 2) ?? "") || (!closed && reachesEnd(match)) { add(Self.inlineImage, match.range) }
        }

        // Reference-style images: a use and its definition may be far apart.
        var definitions: [String: [(range: NSRange, remote: Bool)]] = [:]
        for match in Self.definitionLine.matches(in: text, range: whole) {
            guard let label = group(match, 1).map(Self.normalized) else { continue }
            let destination = group(match, 2) ?? ""
            definitions[label, default: []].append(
                (match.range, Self.isRemote(destination) || (reachesEnd(match) && Self.mayBecomeRemote(destination))))
        }
        var imageLabels: Set<String> = []
        var linkLabels: Set<String> = []
        for match in Self.reference.matches(in: text, range: whole) {
            // A definition's own `[label]` is not a use.
            let after = NSMaxRange(match.range)
            if after < ns.length, ns.character(at: after) == UInt16(UInt8(ascii: ":")) { continue }
            let isImage = group(match, 1) == "!"
            let explicit = group(match, 3)
            let label = Self.normalized(explicit.flatMap { $0.isEmpty ? nil : $0 } ?? group(match, 2) ?? "")
            guard isImage else {
                linkLabels.insert(label)
                continue
            }
            imageLabels.insert(label)
            let defined = definitions[label] ?? []
            // `![x][r]` with no definition here may use one outside the text; `![r]` alone is
            // only an image when `[r]` is defined.
            let undefinedFullReference = defined.isEmpty && explicit != nil
            if defined.contains(where: \.remote) || undefinedFullReference || reachesEnd(match) {
                add(Self.imageReference, match.range)
            }
        }
        for (label, entries) in definitions {
            // A remote definition is safe only when the text shows it used by links alone.
            let provenLink = linkLabels.contains(label) && !imageLabels.contains(label)
            for entry in entries where entry.remote && !provenLink { add(Self.definition, entry.range) }
        }

        for match in Self.tag.matches(in: text, range: whole) {
            let body = ns.substring(with: match.range)
            let unterminated = !body.hasSuffix(">")
            let values = Self.attribute.matches(in: body, range: NSRange(location: 0, length: (body as NSString).length)).compactMap { a in
                [1, 2, 3].lazy.map { a.range(at: $0) }.first { $0.location != NSNotFound }.map { (body as NSString).substring(with: $0) }
            }
            if unterminated || values.contains(where: Self.isRemoteAttribute) { add(Self.htmlImage, match.range) }
        }

        for match in Self.query.matches(in: text, range: whole) { add(Self.longQuery, match.range) }
        return findings
    }

    /// A partial match of any of the shapes above; and every image reference (`![x][r]`,
    /// `![r]`) and link definition in `text`: an image and its definition decide together
    /// whether either is redacted, so each is held back as long as the stream guard holds
    /// anything (its window), as far from the other as a stream can see. A plain reference
    /// (`[1]`, the guard's own `[REDACTED …]`) is not held: seen without its definition, it
    /// can only make a definition count as an image's, which redacts more.
    public func pendingStart(in text: String, for categories: Set<GuardCategory>) -> String.Index? {
        guard categories.contains(.exfiltration) else { return nil }
        let ns = text as NSString
        let whole = NSRange(location: 0, length: ns.length)
        let image = Self.reference.matches(in: text, range: whole).first { $0.range(at: 1).length > 0 }
        let held = [image, Self.definitionLine.firstMatch(in: text, range: whole)].compactMap { $0 }
            .compactMap { Range($0.range, in: text)?.lowerBound }.min()
        return PartialMatch.earliest(Self.partials, in: text, before: held) ?? held
    }

    /// Whether a renderer would fetch `destination` from another host.
    static func isRemote(_ destination: String) -> Bool {
        // Browsers drop tabs and newlines inside URLs and read `\` as `/`.
        let d = destination.lowercased().filter { $0 != "\t" && $0 != "\n" && $0 != "\r" }.replacingOccurrences(of: "\\", with: "/")
            .trimmingCharacters(in: .whitespaces)
        if d.hasPrefix("//") || d.hasPrefix("/ /") { return true }
        if d.contains("&#") || d.contains("&colon") { return true }  // an HTML entity can spell a scheme
        guard let colon = d.firstIndex(of: ":") else { return false }
        let scheme = d[..<colon]
        // "a/b:c" is a path; "https:", "ftp:", "javascript:" are schemes.
        guard let first = scheme.first, first.isLetter, scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+.-".contains($0) }) else {
            return false
        }
        return scheme != "data"
    }

    /// Whether an unfinished destination could still grow into a remote one (`""`, `/`, `htt`).
    static func mayBecomeRemote(_ destination: String) -> Bool {
        let d = destination.lowercased()
        if isRemote(d) || d.isEmpty || d == "/" || d == "\\" { return true }
        guard let first = d.first, first.isLetter else { return false }
        return d.allSatisfy { $0.isLetter || $0.isNumber || "+.-".contains($0) }
    }

    /// An HTML attribute value: remote itself, or holding a remote URL inside (`srcset`
    /// candidates, `style`'s `url(...)`).
    static func isRemoteAttribute(_ value: String) -> Bool {
        isRemote(value) || value.contains("//") || value.contains("\\\\") || value.contains(":\\") || value.lowercased().contains("&#")
    }

    /// Labels match case-insensitively with runs of white space as one space.
    static func normalized(_ label: String) -> String {
        label.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
