import Foundation

/// Chooses tools by what a person types: a full name (`mail__send_email`), a server
/// (`mail`: every tool of that MCP server) or a glob (`mail__send_*`, `*`).
///
/// One place for the rule, so `anima run --tools`, the daemon's agent API, `anima mcp`
/// and the policy file all read a name the same way. Globs know `*` (any run of
/// characters) and `?` (one character); nothing else is special.
public enum ToolSelection {
    /// Whether `text` is a glob rather than a name.
    public static func isGlob(_ text: String) -> Bool { text.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") } }

    /// Whether `name` matches the glob `pattern` (whole name; `*` and `?` are wildcards).
    ///
    /// Linear backtracking over the last `*`, so no pattern costs more than
    /// `pattern.count × name.count` steps.
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        let n = Array(name.unicodeScalars)
        var i = 0
        var j = 0
        var star: Int?
        var resume = 0
        while j < n.count {
            if i < p.count, p[i] == "?" || (p[i] != "*" && p[i] == n[j]) {
                i += 1
                j += 1
            } else if i < p.count, p[i] == "*" {
                star = i
                resume = j
                i += 1
            } else if let s = star {
                i = s + 1
                resume += 1
                j = resume
            } else {
                return false
            }
        }
        while i < p.count, p[i] == "*" { i += 1 }
        return i == p.count
    }

    /// How specific a glob is: its literal characters (a name beats any glob).
    public static func specificity(_ pattern: String) -> Int {
        pattern.unicodeScalars.filter { $0 != "*" && $0 != "?" }.count
    }

    /// The names `selectors` choose from `names`, in the order of `names`, each once.
    ///
    /// A selector is, in this order: a name in `names`; a glob (matching at least one);
    /// a server, when some names start with `selector__`. Anything else is an error that
    /// lists what exists. Blank selectors are ignored.
    /// - Parameter problems: why some tools are missing (servers that did not start), added to the error.
    public static func resolve(_ selectors: [String], among names: [String], problems: [String] = []) throws(ToolSelectionError)
        -> [String]
    {
        var chosen = Set<String>()
        for raw in selectors {
            let selector = raw.trimmingCharacters(in: .whitespaces)
            if selector.isEmpty { continue }
            if names.contains(selector) {
                chosen.insert(selector)
                continue
            }
            let matched =
                isGlob(selector)
                ? names.filter { matches(selector, $0) } : names.filter { $0.hasPrefix(selector + "__") }
            guard !matched.isEmpty else { throw ToolSelectionError(selector: selector, known: names, problems: problems) }
            chosen.formUnion(matched)
        }
        return names.filter { chosen.contains($0) }
    }
}

/// A tool selector that chooses nothing: says what exists and how to choose.
public struct ToolSelectionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var selector: String
    public var known: [String]
    /// Why some tools are missing (an MCP server that did not start).
    public var problems: [String]

    public init(selector: String, known: [String], problems: [String] = []) {
        self.selector = selector
        self.known = known
        self.problems = problems
    }

    public var description: String {
        let what = ToolSelection.isGlob(selector) ? "no tool matches \"\(selector)\"" : "no tool or MCP server named \"\(selector)\""
        let offer =
            known.isEmpty
            ? "there are no tools here"
            : "choose from \(known.joined(separator: ", ")) (a server's name selects all its tools; globs such as mail__send_* or * work too)"
        let missing = problems.isEmpty ? "" : "; some tools are missing because: \(problems.joined(separator: "; "))"
        return "\(what); \(offer)\(missing)"
    }
}
