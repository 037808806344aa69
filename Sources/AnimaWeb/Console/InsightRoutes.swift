import AnimaCore
import AnimaKernel
import AnimaMemory
import AnimaProcessor
import Foundation
import Hummingbird

/// Views to look at rather than read: an agent's context window as the pager keeps it,
/// the router's decisions, and the kernel's counters, as server-drawn SVG charts with a
/// table beside each.
struct InsightRoutes: Sendable {
    let kernel: Kernel
    let decisions: RouterWatch
    /// The daemon's Prometheus text; nil when the console has none to chart.
    let metrics: (@Sendable () -> String)?
    let history: MetricsHistory

    func register(on router: Router<WebRequestContext>) {
        router.get("/web/context") { request, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            var data: [String: Any] = [:]
            do {
                guard case .agents(let names) = try await kernel.invoke(.memory(.agents), as: session.principal, name: "web-context")
                else { throw HTTPError(.internalServerError) }
                let chosen = request.uri.queryParameters["agent"].map(String.init) ?? names.first
                data["agents"] = names.map { ["name": $0, "selected": $0 == chosen] as [String: Any] }
                if let chosen, !chosen.isEmpty {
                    guard
                        case .snapshot(let snapshot) = try await kernel.invoke(
                            .memory(.show(agent: chosen)), as: session.principal, name: "web-context")
                    else { throw HTTPError(.internalServerError) }
                    data["window"] = Self.windowData(snapshot, agent: chosen, contextLength: kernel.processor?.info.contextLength)
                }
            } catch {
                return WebConsole.message("The context cannot be shown: \(error)", back: "/web/processes", status: .badRequest)
            }
            return WebConsole.page("context", title: "Context window", data: data, session: (session.user, csrf))
        }

        router.get("/web/processors") { _, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            var data: [String: Any] = [:]
            if let processor = kernel.processor {
                data["hasModel"] = true
                data["model"] = processor.info.name
                data["contextLength"] = String(processor.info.contextLength)
                if let routing = processor.routing {
                    await decisions.listen(to: routing)
                    data["routed"] = true
                    data["mode"] = "\(routing.policy.mode)"
                    data["candidates"] = routing.candidates.map { c -> [String: Any] in
                        let load = c.load?()
                        return [
                            "id": c.id, "location": c.location.rawValue, "context": String(c.capabilities.contextLength),
                            "price": c.price.map { "\($0)" } ?? "free", "load": load.map { "\($0.running) running, \($0.waiting) waiting" } ?? "",
                        ]
                    }
                    let recent = await decisions.recent()
                    data.merge(Self.decisionData(recent)) { $1 }
                }
            }
            return WebConsole.page("processors", title: "Processors", data: data, session: (session.user, csrf))
        }

        router.get("/web/metrics") { request, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            let daemon = await daemonMetrics(for: session.principal)
            if request.uri.queryParameters["partial"] == "daemon" {
                return WebConsole.html(ConsolePages.library.render(daemon, withTemplate: "daemonMetrics") ?? "")
            }
            let processes = await kernel.processes(visibleTo: session.principal)
            var states: [String: Int] = [:]
            for p in processes { states[Self.stateName(p.state), default: 0] += 1 }
            let busiest = processes.sorted { ($0.usage.promptTokens + $0.usage.generatedTokens) > ($1.usage.promptTokens + $1.usage.generatedTokens) }
                .prefix(20)
            let tokens = busiest.map { (label: "\($0.pid) \($0.name)", value: Double($0.usage.promptTokens + $0.usage.generatedTokens)) }
            let calls = busiest.map { (label: "\($0.pid) \($0.name)", value: Double($0.usage.toolCalls)) }
            let stateItems = states.keys.sorted().map { (label: $0, value: Double(states[$0]!)) }
            let data: [String: Any] = [
                "stateChart": SVGChart.bars("Processes by state", stateItems, unit: ""),
                "tokenChart": SVGChart.bars("Tokens by process (top 20)", tokens, unit: "tokens"),
                "callChart": SVGChart.bars("Tool calls by process (top 20)", calls, unit: "calls"),
                "states": stateItems.map { ["label": $0.label, "value": SVGChart.number($0.value)] },
                "rows": busiest.map {
                    [
                        "pid": $0.pid.description, "name": $0.name, "prompt": String($0.usage.promptTokens),
                        "generated": String($0.usage.generatedTokens), "calls": String($0.usage.toolCalls), "syscalls": String($0.usage.syscalls),
                    ]
                },
            ]
            return WebConsole.page("metrics", title: "Metrics", data: data.merging(daemon) { $1 }, session: (session.user, csrf))
        }
        // While a metrics page is open: a sample every two seconds, and a change event for its charts.
        router.get("/web/metrics/live") { _, context in
            let (session, _) = try context.requireSession()
            guard metrics != nil, Self.mayReadDaemonMetrics(session.principal) else {
                return Response(status: .notFound)
            }
            let body = ResponseBody { writer in
                let deadline = ContinuousClock.now + .seconds(600)
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                while ContinuousClock.now < deadline && !Task.isShuttingDownGracefully {
                    try await Task.sleep(for: .seconds(2))
                    await sample()
                    try await writer.write(ByteBuffer(string: "event: change\ndata: 1\n\n"))
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
        }
    }

    /// The daemon's metrics are for root and the `logs` group: daemon-wide counts show
    /// everyone's activity, as the audit log does.
    static func mayReadDaemonMetrics(_ principal: Principal) -> Bool { principal.isRoot || principal.groups.contains("logs") }

    func sample() async {
        guard let metrics else { return }
        await history.record(metrics(), at: Date().timeIntervalSince1970)
    }

    /// The daemon section of the metrics view: a chart per metric family over the samples
    /// kept, and every series' latest value in a table.
    func daemonMetrics(for principal: Principal) async -> [String: Any] {
        guard metrics != nil else { return ["hasDaemon": false] }
        guard Self.mayReadDaemonMetrics(principal) else { return ["hasDaemon": false, "daemonRefused": true] }
        await sample()
        let lines = await history.lines()
        let latest = await history.latest
        let samples = await history.samples.count
        return [
            "hasDaemon": true, "samples": String(samples),
            "lines": lines.map { line -> [String: Any] in
                let title = "\(line.family) (\(line.kind)\(line.unit.isEmpty ? "" : ", " + line.unit))"
                return ["title": title, "chart": SVGChart.line(title, line.points, unit: line.unit)]
            },
            // A histogram's buckets are for Prometheus; its sum and count are here, its mean charted.
            "series": latest.filter { !$0.name.hasSuffix("_bucket") }.map {
                ["name": $0.name, "labels": $0.labels, "value": SVGChart.number($0.value)]
            },
        ]
    }

    static func stateName(_ state: ProcessState) -> String {
        let text = state.description
        return String(text.prefix { $0 != "(" && $0 != ":" && $0 != " " })
    }

    /// The window as the pager saved it: resident messages, what left it, what was paged in,
    /// and the budget as one bar.
    static func windowData(_ s: AgentMemorySnapshot, agent: String, contextLength: Int?) -> [String: Any] {
        let pager = PagerConfiguration(systemPrefix: "")
        let messageTokens = s.resident.reduce(0) { $0 + $1.tokens }
        let blockLimits = s.blocks.reduce(0) { $0 + $1.limit }
        var data: [String: Any] = [
            "agent": agent, "messageTokens": String(messageTokens), "blockLimits": String(blockLimits),
            "evicted": String(max(0, s.messages - s.resident.count)), "stored": String(s.messages), "passages": String(s.passages),
            "summary": s.summary, "hasSummary": !s.summary.isEmpty,
            "blocks": s.blocks.map { ["label": $0.label, "limit": String($0.limit), "value": $0.value, "empty": $0.value.isEmpty] as [String: Any] },
            "resident": s.resident.map { m -> [String: Any] in
                [
                    "id": String(m.recallID), "role": m.message.role.rawValue, "tokens": String(m.tokens), "pinned": m.pinned,
                    "truncated": m.truncated, "text": m.message.content.count > 300 ? String(m.message.content.prefix(300)) + " …" : m.message.content,
                ]
            },
            "pageIns": s.pageIns.reversed().map { e -> [String: Any] in
                [
                    "at": ISO8601DateFormatter().string(from: e.at),
                    "decisions": e.decisions.map {
                        ["source": $0.source, "id": String($0.id), "outcome": $0.outcome.rawValue, "tokens": String($0.tokens),
                         "score": String(format: "%.3f", $0.score)]
                    },
                ]
            },
        ]
        if let contextLength {
            let budget = max(0, contextLength - pager.answerReserve - pager.pageBudget)
            let free = max(0, budget - messageTokens - blockLimits - pager.summaryBudget)
            data["budget"] = String(budget)
            data["contextLength"] = String(contextLength)
            data["hasBar"] = true
            data["bar"] = SVGChart.stacked(
                "Context of \(contextLength) tokens: \(messageTokens) in messages, \(blockLimits) kept for core memory",
                [
                    ("messages", Double(messageTokens), "messages"), ("core memory (limits)", Double(blockLimits), "blocks"),
                    ("summary budget", Double(pager.summaryBudget), "summary"), ("free", Double(free), "free"),
                    ("page budget", Double(pager.pageBudget), "pages"), ("answer reserve", Double(pager.answerReserve), "answer"),
                ], total: Double(contextLength))
        }
        return data
    }

    /// The decisions table and three plots: requests and cost by model, latency by decision.
    static func decisionData(_ recent: [RouterWatch.Outcome]) -> [String: Any] {
        var served: [String: (count: Int, cost: Double)] = [:]
        for o in recent { if let by = o.servedBy { served[by, default: (0, 0)].count += 1; served[by]!.cost += o.cost ?? 0 } }
        let models = served.keys.sorted()
        let latest = recent.prefix(20)
        return [
            "decisions": latest.map { o -> [String: Any] in
                [
                    "id": String(o.id), "taskClass": o.taskClass, "chosen": o.chosen, "servedBy": o.servedBy ?? (o.failed.map { "failed: \($0)" } ?? "pending"),
                    "tokens": o.tokens.map(String.init) ?? "", "cost": o.cost.map { String(format: "%.6f", $0) } ?? "",
                    "latency": o.seconds.map { String(format: "%.2f s", $0) } ?? "", "reason": o.reason,
                ]
            },
            "servedChart": SVGChart.bars(
                "Requests served by model", models.map { (label: $0, value: Double(served[$0]!.count)) }, unit: "requests"),
            "costChart": SVGChart.bars("Cost by model", models.map { (label: $0, value: served[$0]!.cost) }, unit: "$"),
            "latencyChart": SVGChart.bars(
                "Latency of the latest decisions", latest.compactMap { o -> (label: String, value: Double)? in
                    o.seconds.map { (label: "#\(o.id) \(o.servedBy ?? o.chosen)", value: $0) }
                }, unit: "s"),
        ]
    }
}
