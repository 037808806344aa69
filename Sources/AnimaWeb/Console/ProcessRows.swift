import AnimaKernel

/// The process table's rows, written directly rather than through Mustache: with a thousand
/// processes the template's dictionary lookups were most of the page's server time (24 ms
/// against the JSON API's 7 ms). Every value goes through `HTML.escape`; the buttons post to
/// the table's one form (`formaction`), which carries the CSRF token.
///
/// Every `piece` rows start a new `<tbody>`: the stylesheet lays each one out on its own and lets
/// the browser skip those off screen (`content-visibility`), where laying out one table of a
/// thousand rows took Chromium longer than reading the page.
enum ProcessRows {
    static let piece = 50

    static func html(_ processes: [ProcessStatus]) -> String {
        var out = ""
        out.reserveCapacity(processes.count * 400)
        for (index, p) in processes.enumerated() {
            if index > 0, index.isMultiple(of: piece) { out += "</tbody>\n<tbody>\n" }
            let pid = p.pid.description
            out += "<tr id=\"pid-\(pid)\"><th scope=\"row\">\(pid)</th><td>\(p.parent?.description ?? "")</td>"
            out += "<td>\(HTML.escape(p.name))</td><td>\(HTML.escape(p.owner))</td><td>\(HTML.escape(p.state.description))</td>"
            out += "<td>\(p.usage.promptTokens + p.usage.generatedTokens)</td><td>\(p.usage.toolCalls)</td><td>"
            switch p.state {
            case .exited: break
            case .suspended: out += button(pid, "terminate", "kill") + button(pid, "resume", "continue")
            default: out += button(pid, "terminate", "kill") + button(pid, "suspend", "stop")
            }
            out += "</td></tr>\n"
        }
        return out
    }

    static func button(_ pid: String, _ signal: String, _ label: String) -> String {
        "<button formaction=\"/web/processes/\(pid)/signal\" name=\"signal\" value=\"\(signal)\">\(label)</button>"
    }
}
