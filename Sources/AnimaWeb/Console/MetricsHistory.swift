import Foundation

/// The daemon's Prometheus metrics over time, for the console's charts: each sample is the
/// registry's text exposition read at one moment; the last `capacity` samples are kept in
/// memory (the daemon's own history, gone at restart; Prometheus itself keeps the long one).
actor MetricsHistory {
    /// One series of the exposition: `name{labels} value`.
    struct Series: Sendable, Hashable {
        var name: String
        var labels: String
        var value: Double
    }

    /// A metric family as charted: counters as a rate, gauges as their value, histograms
    /// and summaries as the mean of what was observed between two samples.
    struct Line: Sendable {
        var family: String
        var kind: String
        var unit: String
        var points: [(at: Double, value: Double)]
    }

    let capacity: Int
    /// The least time between two samples, so that many open pages do not sample more often.
    let spacing: Double
    private(set) var samples: [(at: Double, series: [Series])] = []
    private(set) var kinds: [String: String] = [:]

    init(capacity: Int = 300, spacing: Double = 1) {
        self.capacity = max(2, capacity)
        self.spacing = spacing
    }

    /// Adds `text` read at `at` (seconds); a sample closer than `spacing` to the last is dropped.
    func record(_ text: String, at: Double) {
        if let last = samples.last, at - last.at < spacing { return }
        let (series, types) = Self.parse(text)
        kinds.merge(types) { $1 }
        samples.append((at, series))
        if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
    }

    /// The latest sample's series, sorted by name and labels.
    var latest: [Series] { (samples.last?.series ?? []).sorted { ($0.name, $0.labels) < ($1.name, $1.labels) } }

    /// One line per family, series of a family summed over their labels.
    func lines() -> [Line] {
        var families: [String] = []
        var totals: [[String: Double]] = []  // per sample: family (or family_sum / family_count) → total
        for sample in samples {
            var total: [String: Double] = [:]
            for s in sample.series where s.value.isFinite && family(of: s.name) + "_bucket" != s.name {
                total[s.name, default: 0] += s.value
            }
            totals.append(total)
        }
        for name in Set(totals.flatMap(\.keys)).sorted() {
            let owner = self.family(of: name)
            let kind = kinds[owner] ?? "untyped"
            if kind == "histogram" || kind == "summary" {
                if name == owner + "_sum" { families.append(owner) }
            } else if name == owner {
                families.append(owner)
            }
        }
        return families.map { family in
            let kind = kinds[family] ?? "untyped"
            var points: [(at: Double, value: Double)] = []
            for i in samples.indices {
                let now = totals[i]
                switch kind {
                case "counter":
                    guard i > 0, let a = totals[i - 1][family], let b = now[family] else { continue }
                    let seconds = samples[i].at - samples[i - 1].at
                    if seconds > 0, b >= a { points.append((samples[i].at, (b - a) / seconds)) }  // a reset is no negative rate
                case "histogram", "summary":
                    guard i > 0, let s0 = totals[i - 1][family + "_sum"], let s1 = now[family + "_sum"],
                        let c0 = totals[i - 1][family + "_count"], let c1 = now[family + "_count"], c1 > c0
                    else { continue }
                    points.append((samples[i].at, (s1 - s0) / (c1 - c0)))
                default:
                    if let v = now[family] { points.append((samples[i].at, v)) }
                }
            }
            let unit =
                switch kind {
                case "counter": "/s"
                case "histogram", "summary": family.hasSuffix("_seconds") ? "s mean" : "mean"
                default: ""
                }
            return Line(family: family, kind: kind, unit: unit, points: points)
        }
    }

    /// The family a series belongs to: its name without a histogram's or summary's suffix.
    func family(of name: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let family = String(name.dropLast(suffix.count))
            if kinds[family] == "histogram" || kinds[family] == "summary" { return family }
        }
        return name
    }

    /// The series and `# TYPE` lines of a text exposition (format 0.0.4). Lines that are
    /// not a series (comments, blanks, anything malformed) are skipped.
    static func parse(_ text: String) -> (series: [Series], kinds: [String: String]) {
        var series: [Series] = []
        var kinds: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") {
                let words = line.split(separator: " ", omittingEmptySubsequences: true)
                if words.count >= 4, words[1] == "TYPE" { kinds[String(words[2])] = String(words[3]) }
                continue
            }
            let name: Substring
            var labels = ""
            var rest: Substring
            if let brace = line.firstIndex(of: "{") {
                guard let close = line.lastIndex(of: "}"), close > brace else { continue }
                name = line[..<brace]
                labels = String(line[line.index(after: brace)..<close])
                rest = line[line.index(after: close)...]
            } else {
                guard let space = line.firstIndex(of: " ") else { continue }
                name = line[..<space]
                rest = line[space...]
            }
            rest = rest.drop { $0 == " " }
            let valueText = rest.prefix { $0 != " " }
            let value: Double? =
                switch valueText {
                case "+Inf": .infinity
                case "-Inf": -.infinity
                case "NaN": .nan
                default: Double(valueText)
                }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }), let value else { continue }
            series.append(Series(name: String(name), labels: labels, value: value))
        }
        return (series, kinds)
    }
}
