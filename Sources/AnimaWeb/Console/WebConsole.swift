import AnimaCore
import AnimaKernel
import AnimaMemory
import AnimaSecurity
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The web console: passkey sign-in, sessions and the views of the OS, as one responder
/// the daemon mounts at `/` and `/web/` beside its APIs.
///
/// Every page and action but sign-in, enrollment and the static files needs a session
/// cookie; every POST from a signed-in page carries the session's CSRF token and an
/// origin the console serves. Pages are server-rendered and readable without JavaScript.
public struct WebConsole: Sendable {
    public let kernel: Kernel
    public let store: ConsoleStore
    public let configuration: WebConsoleConfiguration
    let challenges: ChallengeBook
    let relyingParty: RelyingParty
    private let responder: RouterResponder<WebRequestContext>

    public static let cookieName = "anima_session"
    static let maxFormBytes = 64 * 1024

    public init(
        kernel: Kernel, store: ConsoleStore, configuration: WebConsoleConfiguration, challenges: ChallengeBook = ChallengeBook(),
        limiter: EnrollmentLimiter = EnrollmentLimiter()
    ) {
        self.kernel = kernel
        self.store = store
        self.configuration = configuration
        self.challenges = challenges
        relyingParty = RelyingParty(id: configuration.relyingPartyID, requireUserVerification: configuration.requireUserVerification)
        let router = Self.router(kernel: kernel, store: store, configuration: configuration, challenges: challenges, limiter: limiter)
        responder = router.buildResponder()
    }

    /// Answers one request; the daemon's `ConsoleResponder`.
    public func respond(to request: Request, channel: any Channel, logger: Logger) async throws -> Response {
        try await responder.respond(to: request, context: WebRequestContext(source: .init(channel: channel, logger: logger)))
    }

    /// The router on its own, for tests and `anima-bench web`.
    public static func router(
        kernel: Kernel, store: ConsoleStore, configuration: WebConsoleConfiguration, challenges: ChallengeBook = ChallengeBook(),
        limiter: EnrollmentLimiter = EnrollmentLimiter()
    ) -> Router<WebRequestContext> {
        let router = Router(context: WebRequestContext.self)
        router.add(middleware: SessionMiddleware(store: store, configuration: configuration))
        let rp = RelyingParty(id: configuration.relyingPartyID, requireUserVerification: configuration.requireUserVerification)
        register(
            on: router, kernel: kernel, store: store, configuration: configuration, challenges: challenges, relyingParty: rp,
            limiter: limiter)
        let transcripts = ChatTranscripts()
        Task { await transcripts.listen(to: kernel) }
        ChatRoutes(kernel: kernel, transcripts: transcripts).register(on: router)
        InsightRoutes(kernel: kernel, decisions: RouterWatch(), metrics: configuration.metrics, history: MetricsHistory()).register(on: router)
        return router
    }

    // swiftlint:disable:next function_body_length
    static func register(
        on router: Router<WebRequestContext>, kernel: Kernel, store: ConsoleStore, configuration: WebConsoleConfiguration,
        challenges: ChallengeBook, relyingParty: RelyingParty, limiter: EnrollmentLimiter
    ) {
        let passkeys = PasskeyRoutes(
            kernel: kernel, store: store, configuration: configuration, challenges: challenges, relyingParty: relyingParty,
            limiter: limiter)
        passkeys.register(on: router)
        AdminRoutes(kernel: kernel, configuration: configuration).register(on: router)
        router.get("/") { _, _ in Response.redirect(to: "/web/processes", type: .found) }
        router.get("/web") { _, _ in Response.redirect(to: "/web/processes", type: .found) }
        router.get("/web/static/console.js") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: ConsoleAssets.script)))
        }
        router.get("/web/static/console.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: ConsoleAssets.stylesheet)))
        }
        router.get("/web/signin") { _, _ in page("signin", title: "Sign in", data: [:], session: nil) }
        router.get("/web/enroll") { _, _ in page("enroll", title: "Register a passkey", data: [:], session: nil) }
        router.post("/web/signout") { request, context in
            let (session, _) = try context.requireSession()
            try await store.revoke(session: session.id)
            await kernel.noteAccess("console-signout", user: session.user, "session \(session.id) signed out")
            var response = Response.redirect(to: "/web/signin", type: .normal)
            response.headers[.setCookie] = SessionMiddleware.clearCookie
            _ = request
            return response
        }

        // Processes: a table and a tree; signals through the kernel, as the session's principal.
        router.get("/web/processes") { request, context in
            let (session, secret) = try context.requireSession()
            let data = await processData(kernel: kernel, principal: session.principal, csrf: ConsoleStore.csrfToken(secret: secret))
            if request.uri.queryParameters["partial"] == "table" {
                return html(ConsolePages.library.render(data, withTemplate: "processes") ?? "")
            }
            return page("processes", title: "Processes", data: data, session: (session.user, ConsoleStore.csrfToken(secret: secret)))
        }
        router.get("/web/processes/live") { _, context in
            let (session, _) = try context.requireSession()
            return liveProcesses(kernel: kernel, principal: session.principal)
        }
        router.post("/web/processes/:pid/signal") { request, context in
            let (session, _) = try context.requireSession()
            let form = try await Form.read(request, context: context)
            guard let text = context.parameters.get("pid"), let raw = UInt32(text) else {
                return message("No such process.", back: "/web/processes", status: .notFound)
            }
            guard let signal = form["signal"].flatMap(Signal.init(rawValue:)) else {
                return message("Choose a signal: terminate, suspend or resume.", back: "/web/processes", status: .badRequest)
            }
            do {
                try await kernel.signal(PID(raw), signal, from: session.principal)
            } catch {
                return message("The signal was refused: \(error)", back: "/web/processes", status: .forbidden)
            }
            return Response.redirect(to: "/web/processes", type: .normal)
        }

        // Pending approvals of the session's processes.
        router.get("/web/approvals") { _, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            var items: [[String: Any]] = []
            for process in await kernel.processes(visibleTo: session.principal) {
                for approval in await kernel.approvals.pending(for: process.pid) {
                    items.append([
                        "id": approval.id, "pid": approval.pid.description, "tool": approval.tool, "reason": approval.reason,
                        "arguments": approval.arguments.map {
                            ["path": $0.path, "value": $0.value, "sources": $0.sources.joined(separator: ", "), "trusted": $0.isTrusted]
                                as [String: Any]
                        },
                    ])
                }
            }
            return page("approvals", title: "Approvals", data: ["approvals": items, "csrf": csrf], session: (session.user, csrf))
        }
        router.get("/web/approvals/live") { _, context in
            let (session, _) = try context.requireSession()
            return liveApprovals(kernel: kernel, principal: session.principal)
        }
        router.post("/web/approvals/:pid/:id") { request, context in
            let (session, _) = try context.requireSession()
            let form = try await Form.read(request, context: context)
            guard let pid = context.parameters.get("pid").flatMap(UInt32.init), let id = context.parameters.get("id") else {
                return message("No such approval.", back: "/web/approvals", status: .notFound)
            }
            guard let decision = form["decision"], decision == "approve" || decision == "deny" else {
                return message("Answer approve or deny.", back: "/web/approvals", status: .badRequest)
            }
            do {
                try await kernel.approvals.answer(id, about: PID(pid), approve: decision == "approve", by: session.principal)
            } catch {
                return message("The answer was refused: \(error)", back: "/web/approvals", status: .forbidden)
            }
            return Response.redirect(to: "/web/approvals", type: .normal)
        }

        // Memory: search the session's agents' memory; forget one record (an audited syscall).
        router.get("/web/memory") { request, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            let query = request.uri.queryParameters["q"].map(String.init) ?? ""
            let agent = request.uri.queryParameters["agent"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            var data: [String: Any] = ["query": query, "agent": agent ?? "", "csrf": csrf]
            if !query.trimmingCharacters(in: .whitespaces).isEmpty {
                var search = MemorySearchRequest(text: String(query.prefix(1000)), agent: agent)
                search.limit = 20
                do {
                    guard
                        case .records(let result) = try await kernel.invoke(
                            .memory(.search(search)), as: session.principal, name: "web-memory")
                    else { throw HTTPError(.internalServerError) }
                    data["records"] = result.records.map {
                        ["agent": $0.agent, "kind": $0.kind.rawValue, "id": String($0.id), "text": $0.text, "source": $0.source.rawValue]
                            as [String: Any]
                    }
                    data["searched"] = ["count": result.records.count]
                } catch {
                    return message("The search failed: \(error)", back: "/web/memory", status: .badRequest)
                }
            }
            return page("memory", title: "Memory", data: data, session: (session.user, csrf))
        }
        router.post("/web/memory/forget") { request, context in
            let (session, _) = try context.requireSession()
            let form = try await Form.read(request, context: context)
            guard let agent = form["agent"], !agent.isEmpty, let id = form["id"].flatMap(Int64.init), let kind = form["kind"],
                kind == "message" || kind == "passage"
            else { return message("Say which record to forget: agent, kind and id.", back: "/web/memory", status: .badRequest) }
            do {
                _ = try await kernel.invoke(
                    .memory(.forget(agent: agent, recallIDs: kind == "message" ? [id] : [], archivalIDs: kind == "passage" ? [id] : [])),
                    as: session.principal, name: "web-memory")
            } catch {
                return message("Forgetting was refused: \(error)", back: "/web/memory", status: .forbidden)
            }
            return message("Forgot \(kind) \(id) of \(agent).", back: "/web/memory", status: .ok, session: session)
        }

        // The audit log, its hash chain verified on every view; for the `logs` group.
        router.get("/web/audit") { _, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            guard let path = configuration.auditLogPath else {
                return message("This console has no audit log to show.", back: "/web/processes", status: .notFound)
            }
            let principal = session.principal
            var data: [String: Any] = [:]
            do {
                let verification = try AuditLog.verify(at: path, as: principal)
                data["verdict"] = verification.description
                data["intact"] = verification.isIntact
                let entries = (try? AuditLog.entries(at: path, as: principal)) ?? []
                let format = ISO8601DateFormatter()
                data["entries"] = entries.suffix(200).reversed().map {
                    [
                        "sequence": String($0.sequence), "time": format.string(from: $0.time), "pid": String($0.pid), "owner": $0.owner,
                        "action": $0.action, "summary": $0.summary, "outcome": $0.outcome.rawValue,
                    ] as [String: Any]
                }
            } catch {
                return message("The audit log cannot be shown: \(error)", back: "/web/processes", status: .forbidden)
            }
            return page("audit", title: "Audit log", data: data, session: (session.user, csrf))
        }

        router.get("/web/tools") { _, context in
            let (session, secret) = try context.requireSession()
            let tools = await kernel.toolSummaries.map { t -> [String: Any] in
                [
                    "name": t.definition.name, "description": t.definition.description, "effect": t.effect.rawValue,
                    "byPolicy": t.effectFromPolicy, "groups": t.requiredGroups.isEmpty ? "any" : t.requiredGroups.sorted().joined(separator: ", "),
                    "source": t.outputSource.description, "mcp": t.mcpEffects ?? "built-in",
                ]
            }
            return page("tools", title: "Tools", data: ["tools": tools], session: (session.user, ConsoleStore.csrfToken(secret: secret)))
        }
    }

    /// The table rows (see `ProcessRows`) and the tree of the processes `principal` may see.
    static func processData(kernel: Kernel, principal: Principal, csrf: String) async -> [String: Any] {
        let processes = await kernel.processes(visibleTo: principal).sorted { $0.pid < $1.pid }
        func row(_ p: ProcessStatus) -> [String: Any] {
            ["pid": p.pid.description, "name": p.name, "owner": p.owner, "state": p.state.description]
        }
        let visible = Set(processes.map(\.pid))
        var children: [PID: [ProcessStatus]] = [:]
        for p in processes { if let parent = p.parent, visible.contains(parent) { children[parent, default: []].append(p) } }
        func node(_ p: ProcessStatus, depth: Int) -> [String: Any] {
            var n = row(p)
            let kids = depth < 32 ? (children[p.pid] ?? []).map { node($0, depth: depth + 1) } : []
            n["children"] = kids
            n["hasChildren"] = !kids.isEmpty
            return n
        }
        // The tree shows families; a process with neither a visible parent nor a child is a
        // row of the table only (a thousand lone agents would make a thousand one-item trees).
        let roots = processes.filter { $0.parent.map { !visible.contains($0) } ?? true }
        let families = roots.filter { children[$0.pid] != nil }
        return [
            "rows": ProcessRows.html(processes), "roots": families.map { node($0, depth: 0) }, "lone": String(roots.count - families.count),
            "hasLone": roots.count > families.count,
            "count": String(processes.count), "csrf": csrf,
        ]
    }

    /// Server-sent events: `change` whenever the visible process table changes (checked
    /// twice a second), for at most ten minutes or until the daemon shuts down (an open
    /// tab never holds a shutdown up); the page then refetches the table.
    static func liveProcesses(kernel: Kernel, principal: Principal) -> Response {
        let body = ResponseBody { writer in
            var last = -1
            let deadline = ContinuousClock.now + .seconds(600)
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            while ContinuousClock.now < deadline && !Task.isShuttingDownGracefully {
                var hasher = Hasher()
                for p in await kernel.processes(visibleTo: principal) {
                    hasher.combine(p.pid)
                    hasher.combine(p.state.description)
                    hasher.combine(p.usage.generatedTokens)
                }
                let now = hasher.finalize()
                if now != last {
                    if last != -1 { try await writer.write(ByteBuffer(string: "event: change\ndata: processes\n\n")) }
                    last = now
                } else {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                }
                try await Task.sleep(for: .milliseconds(500))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }

    /// Server-sent events for the notification on every page: while a signed-in page is
    /// open, the console watches the user's processes, so a policy's "ask" waits for an
    /// answer here instead of being denied for want of anyone to ask; `approval` carries
    /// the number of calls waiting. Watches end when the page goes (or after ten minutes).
    static func liveApprovals(kernel: Kernel, principal: Principal) -> Response {
        let body = ResponseBody { writer in
            var watched: Set<PID> = []
            var last = -1
            let deadline = ContinuousClock.now + .seconds(600)
            do {
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                while ContinuousClock.now < deadline && !Task.isShuttingDownGracefully {
                    var waiting = 0
                    for p in await kernel.processes(visibleTo: principal) {
                        if case .exited = p.state { continue }
                        if watched.insert(p.pid).inserted { await kernel.approvals.watch(p.pid) }
                        waiting += await kernel.approvals.pending(for: p.pid).count
                    }
                    if waiting != last {
                        try await writer.write(ByteBuffer(string: "event: approval\ndata: \(waiting)\n\n"))
                        last = waiting
                    } else {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    }
                    try await Task.sleep(for: .milliseconds(500))
                }
            } catch {
                for pid in watched { await kernel.approvals.unwatch(pid) }
                throw error
            }
            for pid in watched { await kernel.approvals.unwatch(pid) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
                .init("X-Content-Type-Options")!: "nosniff", .init("Referrer-Policy")!: "same-origin",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func page(_ name: String, title: String, data: [String: Any], session: (user: String, csrf: String)?) -> Response {
        html(ConsolePages.render(name, title: title, data: data, session: session))
    }

    static func message(_ text: String, back: String, status: HTTPResponse.Status, session: ConsoleSession? = nil) -> Response {
        html(
            ConsolePages.render(
                "message", title: status.code < 400 ? "Done" : "Refused", data: ["message": text, "back": back], session: nil),
            status: status)
    }
}
