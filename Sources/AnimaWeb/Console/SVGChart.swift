import Foundation

/// Small charts drawn on the server as SVG: no script, no library, readable without
/// JavaScript, and each one has a text table beside it for screen readers.
///
/// One of the two places the console writes markup itself (with `ProcessRows`): every
/// label goes through `HTML.escape`.
enum SVGChart {
    /// Horizontal bars, one per item, scaled to the largest value.
    static func bars(_ title: String, _ items: [(label: String, value: Double)], unit: String) -> String {
        let width = 640.0, labelWidth = 200.0, row = 22.0
        let height = max(row, Double(items.count) * row) + 8
        let top = items.map(\.value).filter(\.isFinite).max() ?? 0
        var svg =
            "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" aria-label=\"\(HTML.escape(title))\">"
        svg += "<title>\(HTML.escape(title))</title>"
        for (i, item) in items.enumerated() {
            let y = 4 + Double(i) * row
            let value = item.value.isFinite ? max(0, item.value) : 0
            let length = top > 0 ? (width - labelWidth - 90) * value / top : 0
            svg += "<text x=\"0\" y=\"\(format(y + 15))\" class=\"label\">\(HTML.escape(clip(item.label)))</text>"
            svg +=
                "<rect x=\"\(Int(labelWidth))\" y=\"\(format(y + 3))\" width=\"\(format(length))\" height=\"\(Int(row - 6))\" class=\"bar\"/>"
            svg +=
                "<text x=\"\(format(labelWidth + length + 6))\" y=\"\(format(y + 15))\" class=\"value\">\(HTML.escape(number(item.value))) \(HTML.escape(unit))</text>"
        }
        if items.isEmpty { svg += "<text x=\"0\" y=\"18\" class=\"label\">nothing yet</text>" }
        return svg + "</svg>"
    }

    /// A line over time: the value axis from zero (or the lowest value, if negative) to the
    /// highest, the time axis the points' span, both labelled.
    static func line(_ title: String, _ points: [(at: Double, value: Double)], unit: String) -> String {
        let width = 640.0, height = 160.0, left = 70.0, bottom = 20.0
        let finite = points.filter { $0.value.isFinite && $0.at.isFinite }
        var svg =
            "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" aria-label=\"\(HTML.escape(title))\">"
        svg += "<title>\(HTML.escape(title))</title>"
        guard let first = finite.first, let last = finite.last else {
            return svg + "<text x=\"0\" y=\"18\" class=\"label\">nothing yet</text></svg>"
        }
        let top = max(finite.map(\.value).max() ?? 0, 0), low = min(finite.map(\.value).min() ?? 0, 0)
        let span = max(last.at - first.at, 1e-9), range = top - low > 0 ? top - low : 1
        let x = { (at: Double) in left + (width - left - 4) * (finite.count == 1 ? 1 : (at - first.at) / span) }
        let y = { (v: Double) in 4 + (height - bottom - 8) * (1 - (v - low) / range) }
        svg += "<line x1=\"\(Int(left))\" y1=\"\(format(y(low)))\" x2=\"\(Int(width - 4))\" y2=\"\(format(y(low)))\" class=\"axis\"/>"
        svg += "<text x=\"0\" y=\"14\" class=\"value\">\(HTML.escape(number(top))) \(HTML.escape(unit))</text>"
        svg += "<text x=\"0\" y=\"\(format(y(low)))\" class=\"value\">\(HTML.escape(number(low)))</text>"
        svg +=
            "<text x=\"\(Int(left))\" y=\"\(Int(height - 4))\" class=\"label\">last \(HTML.escape(number((last.at - first.at).rounded()))) s</text>"
        let path = finite.map { "\(format(x($0.at))),\(format(y($0.value)))" }.joined(separator: " ")
        svg +=
            finite.count == 1
            ? "<circle cx=\"\(format(x(last.at)))\" cy=\"\(format(y(last.value)))\" r=\"3\" class=\"bar\"/>"
            : "<polyline points=\"\(path)\" class=\"line\"/>"
        return svg + "</svg>"
    }

    /// One bar split into parts of a whole (the context window's budget).
    static func stacked(_ title: String, _ parts: [(label: String, value: Double, style: String)], total: Double) -> String {
        let width = 640.0
        var svg = "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 \(Int(width)) 40\" width=\"100%\" aria-label=\"\(HTML.escape(title))\">"
        svg += "<title>\(HTML.escape(title))</title><rect x=\"0\" y=\"4\" width=\"\(Int(width))\" height=\"28\" class=\"track\"/>"
        var x = 0.0
        for part in parts where part.value.isFinite && part.value > 0 && total > 0 {
            let w = min(width - x, width * part.value / total)
            svg += "<rect x=\"\(format(x))\" y=\"4\" width=\"\(format(w))\" height=\"28\" class=\"\(HTML.escape(part.style))\">"
            svg += "<title>\(HTML.escape(part.label)): \(HTML.escape(number(part.value)))</title></rect>"
            x += w
        }
        return svg + "</svg>"
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        if abs(value) >= 1e15 { return String(format: "%.3g", value) }
        return String(format: abs(value) < 0.01 ? "%.6f" : "%.2f", value)
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value.isFinite ? value : 0) }

    static func clip(_ text: String) -> String { text.count <= 28 ? text : String(text.prefix(27)) + "…" }
}
