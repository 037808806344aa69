import AnimaCore
import AnimaKernel
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import AnimaWeb

/// The daemon's Prometheus metrics as the console charts them: the text parsed, counters
/// as rates, histograms as means, hostile text skipped or escaped, and who may see them.
@Suite struct MetricsHistoryTests {
    static func exposition(requests: Double, seconds: Double, count: Double, alive: Double) -> String {
        """
        # TYPE anima_http_requests_total counter
        anima_http_requests_total{route="/v1/chat/completions",status="200"} \(requests)
        anima_http_requests_total{route="/health",status="200"} 1
        # TYPE anima_http_request_duration_seconds histogram
        anima_http_request_duration_seconds_bucket{route="/health",le="0.005"} \(count)
        anima_http_request_duration_seconds_bucket{route="/health",le="+Inf"} \(count)
        anima_http_request_duration_seconds_sum{route="/health"} \(seconds)
        anima_http_request_duration_seconds_count{route="/health"} \(count)
        # TYPE anima_processes_alive gauge
        anima_processes_alive \(alive)
        """
    }

    @Test func countersBecomeRatesHistogramsMeansAndGaugesStayValues() async {
        let history = MetricsHistory(capacity: 3, spacing: 1)
        await history.record(Self.exposition(requests: 10, seconds: 1, count: 10, alive: 3), at: 100)
        await history.record(Self.exposition(requests: 99, seconds: 9, count: 99, alive: 99), at: 100.5)  // too soon: dropped
        await history.record(Self.exposition(requests: 30, seconds: 3, count: 20, alive: 5), at: 102)
        await history.record(Self.exposition(requests: 5, seconds: 4, count: 30, alive: 4), at: 104)  // a restart: the counter went back
        let lines = Dictionary(uniqueKeysWithValues: await history.lines().map { ($0.family, $0) })
        #expect(lines.keys.sorted() == ["anima_http_request_duration_seconds", "anima_http_requests_total", "anima_processes_alive"])
        let rate = try? #require(lines["anima_http_requests_total"])
        #expect(rate?.kind == "counter" && rate?.unit == "/s")
        #expect(rate?.points.map(\.value) == [10])  // (31 − 11) / 2 s; no negative rate after the reset
        #expect(lines["anima_http_request_duration_seconds"]?.points.map(\.value) == [0.2, 0.1])  // Δsum / Δcount
        #expect(lines["anima_processes_alive"]?.points.map(\.value) == [3, 5, 4])
        await history.record(Self.exposition(requests: 6, seconds: 4, count: 30, alive: 1), at: 106)
        #expect(await history.samples.count == 3)  // the oldest left
        #expect(await history.latest.first?.name == "anima_http_request_duration_seconds_bucket")
    }

    @Test func malformedAndExtremeLinesAreSkippedOrKeptAsNumbers() {
        let text = """
            # HELP x y
            # TYPE
            no_value
            bad{unclosed 3
            {x="y"} 4
            na<me 5
            big 1e300
            negative -1e300
            not_a_number NaN
            infinite +Inf
            two_to_63 9223372036854775808
            words one two
            ok{a="b} c"} 7 1700000000
            """
        let (series, kinds) = MetricsHistory.parse(text)
        #expect(kinds.isEmpty)
        #expect(series.map(\.name) == ["big", "negative", "not_a_number", "infinite", "two_to_63", "ok"])
        #expect(series.first { $0.name == "two_to_63" }?.value == 9.223372036854775808e18)
        #expect(series.last?.labels == #"a="b} c""# && series.last?.value == 7)
    }

    @Test func aLineChartDrawsExtremesAndEscapesItsTitle() {
        let svg = SVGChart.line("<script>alert(1)</script>", [(0, 1e300), (1, -1e300), (2, .nan), (.infinity, 2)], unit: "/s")
        #expect(svg.contains("&lt;script&gt;") && !svg.contains("<script>"))
        #expect(svg.contains("<polyline") && !svg.contains("nan") && !svg.contains("inf"))
        #expect(SVGChart.line("empty", [], unit: "").contains("nothing yet"))
        #expect(SVGChart.line("one", [(5, 2)], unit: "").contains("<circle"))
    }

    @Test func theConsoleChartsTheDaemonsMetricsForRootAndTheLogsGroupOnly() async throws {
        let text = Mutex(
            Self.exposition(requests: 1, seconds: 0.1, count: 1, alive: 2) + "\nhostile{route=\"<img src=x onerror=alert(1)>\"} 1\n")
        var setUp = try ConsoleHarness()
        setUp.configuration.metrics = { text.withLock { $0 } }
        let harness = setUp
        try await harness.test { client in
            let alice = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let refused = String(buffer: try await ConsoleHarness.get(client, "/web/metrics", cookie: alice).body)
            #expect(refused.contains("for root and the logs group") && !refused.contains("anima_http_requests_total"))
            #expect(try await ConsoleHarness.get(client, "/web/metrics/live", cookie: alice).status == .notFound)

            let bob = try #require(
                ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client, user: "bob", groups: ["logs"])))
            let page = String(buffer: try await ConsoleHarness.get(client, "/web/metrics", cookie: bob).body)
            #expect(page.contains("<td>anima_http_requests_total</td>") && page.contains("data-live=\"/web/metrics/live\""))
            #expect(page.contains("&lt;img src=x") && !page.contains("<img src=x"))
            #expect(page.contains("<td>anima_http_request_duration_seconds_sum</td>") && !page.contains("seconds_bucket</td>"))
            try await Task.sleep(for: .milliseconds(1100))
            text.withLock { $0 = Self.exposition(requests: 11, seconds: 1.1, count: 11, alive: 3) }
            let partial = String(buffer: try await ConsoleHarness.get(client, "/web/metrics?partial=daemon", cookie: bob).body)
            #expect(partial.hasPrefix("<section id=\"daemon-metrics\">") && partial.contains("2 samples kept"))
            #expect(partial.contains("<figcaption>anima_http_requests_total (counter, /s)</figcaption>") && partial.contains("<polyline"))
            #expect(try await ConsoleHarness.get(client, "/web/metrics?partial=daemon", cookie: nil).status != .ok)
        }
    }
}
