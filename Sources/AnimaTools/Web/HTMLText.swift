/// Turns an HTML page into readable text: drops scripts, styles and tags, breaks lines at
/// block elements, decodes entities and collapses whitespace. It does not render layout.
enum HTMLText {
    static let blockTags: Set<String> = [
        "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer",
        "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "title", "hr", "main", "nav",
    ]
    static let hiddenTags: Set<String> = ["script", "style", "noscript", "template", "svg"]

    static func extract(_ html: String) -> String {
        var out = ""
        var chars = Substring(html)
        var hidden: String?
        while let open = chars.firstIndex(of: "<") {
            let text = chars[..<open]
            if hidden == nil { out += decode(text) }
            chars = chars[chars.index(after: open)...]
            if chars.hasPrefix("!--") {
                guard let end = chars.range(of: "-->") else { return finish(out) }
                chars = chars[end.upperBound...]
                continue
            }
            guard let close = chars.firstIndex(of: ">") else { return finish(out) }
            let tag = chars[..<close]
            chars = chars[chars.index(after: close)...]
            let closing = tag.hasPrefix("/")
            let name = tag.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }.lowercased()
            if let current = hidden {
                if closing, name == current { hidden = nil }
                continue
            }
            if hiddenTags.contains(name), !closing, !tag.hasSuffix("/") {
                hidden = name
            } else if blockTags.contains(name) {
                out += "\n"
            } else {
                out += " "
            }
        }
        if hidden == nil { out += decode(chars) }
        return finish(out)
    }

    private static func finish(_ text: String) -> String {
        let lines = text.split(separator: "\n").map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        return lines.filter { !$0.isEmpty }.joined(separator: "\n")
    }

    static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "mdash": "—", "ndash": "–",
        "hellip": "…", "copy": "©", "laquo": "«", "raquo": "»", "rsquo": "’", "lsquo": "‘", "rdquo": "”", "ldquo": "“",
    ]

    static func decode(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            rest = rest[amp...]
            if let semi = rest.prefix(12).firstIndex(of: ";") {
                let name = rest[rest.index(after: rest.startIndex)..<semi]
                var replacement: String?
                if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    replacement = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else if name.hasPrefix("#") {
                    replacement = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else {
                    replacement = entities[String(name)]
                }
                if let replacement {
                    out += replacement
                    rest = rest[rest.index(after: semi)...]
                    continue
                }
            }
            out += "&"
            rest = rest.dropFirst()
        }
        return out + rest
    }
}
