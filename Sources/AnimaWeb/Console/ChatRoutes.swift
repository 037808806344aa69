import AnimaCore
import AnimaKernel
import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle

/// Chat from the browser: each conversation is a conversation agent process of the
/// signed-in user (`AgentSpec.conversation`), its turns told through the kernel, its
/// transcript streamed live with every tool call's decision and provenance.
struct ChatRoutes: Sendable {
    let kernel: Kernel
    let transcripts: ChatTranscripts

    static let maxTurnBytes = 16 * 1024

    func register(on router: Router<WebRequestContext>) {
        router.get("/web/chat") { _, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            var conversations: [[String: Any]] = []
            for p in await kernel.processes(visibleTo: session.principal).sorted(by: { $0.pid > $1.pid })
            where await transcripts.isWatched(p.pid) {
                conversations.append(["pid": p.pid.description, "name": p.name, "state": p.state.description])
            }
            let tools = await kernel.toolDefinitions.map { ["name": $0.name] }
            let data: [String: Any] = ["conversations": conversations, "tools": tools, "hasTools": !tools.isEmpty, "csrf": csrf]
            return WebConsole.page("chat", title: "Chat", data: data, session: (session.user, csrf))
        }
        router.post("/web/chat") { request, context in
            let (session, _) = try context.requireSession()
            let form = try await Request.formFields(request, context: context)
            let text = (form.first { $0.0 == "text" }?.1 ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, text.utf8.count <= Self.maxTurnBytes else {
                return WebConsole.message("Write a message of 1 to 16 KiB.", back: "/web/chat", status: .badRequest)
            }
            let name = (form.first { $0.0 == "name" }?.1 ?? "").trimmingCharacters(in: .whitespaces)
            let memory = (form.first { $0.0 == "memory" }?.1 ?? "").trimmingCharacters(in: .whitespaces)
            let known = Set(await kernel.toolDefinitions.map(\.name))
            let tools = Array(Set(form.filter { $0.0 == "tool" }.map(\.1)))
            if let unknown = tools.first(where: { !known.contains($0) }) {
                return WebConsole.message("There is no tool \(unknown).", back: "/web/chat", status: .badRequest)
            }
            guard name.count <= 64, memory.count <= 64 else {
                return WebConsole.message("Names are at most 64 characters.", back: "/web/chat", status: .badRequest)
            }
            var spec = AgentSpec(
                name: name.isEmpty ? "chat" : name, task: text, tools: tools.sorted(), memory: memory.isEmpty ? nil : memory)
            spec.conversation = true
            let pid: PID
            let kernel = kernel
            do {
                // A policy's "ask" waits for an answer from this console while the agent
                // lives; the console watches before the agent's first step can ask or speak.
                pid = try await kernel.spawn(spec, owner: session.principal) { pid in
                    await kernel.approvals.watch(pid)
                    await transcripts.watch(pid, firstTurn: text)
                }
            } catch {
                return WebConsole.message("The conversation could not start: \(error)", back: "/web/chat", status: .badRequest)
            }
            // Before the page it redirects to asks for the conversation, even if the agent
            // has not begun its first step yet.
            await transcripts.watch(pid, firstTurn: text)
            Task {
                _ = try? await kernel.wait(pid)
                await kernel.approvals.unwatch(pid)
            }
            return Response.redirect(to: "/web/chat/\(pid.rawValue)", type: .normal)
        }
        router.get("/web/chat/:pid") { request, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            guard let found = await conversation(context, principal: session.principal) else {
                return WebConsole.message("No such conversation.", back: "/web/chat", status: .notFound)
            }
            let (pid, status) = found
            let data = await transcriptData(pid, status: status, csrf: csrf)
            if request.uri.queryParameters["partial"] == "transcript" {
                return WebConsole.html(ConsolePages.library.render(data, withTemplate: "transcript") ?? "")
            }
            return WebConsole.page("conversation", title: "Conversation \(pid)", data: data, session: (session.user, csrf))
        }
        router.post("/web/chat/:pid") { request, context in
            let (session, _) = try context.requireSession()
            guard let pid = await conversation(context, principal: session.principal)?.0 else {
                return WebConsole.message("No such conversation.", back: "/web/chat", status: .notFound)
            }
            let form = try await Form.read(request, context: context)
            let text = (form["text"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, text.utf8.count <= Self.maxTurnBytes else {
                return WebConsole.message("Write a message of 1 to 16 KiB.", back: "/web/chat/\(pid.rawValue)", status: .badRequest)
            }
            do {
                try await kernel.tell(pid, text, as: session.principal)
            } catch {
                return WebConsole.message("The message was refused: \(error)", back: "/web/chat/\(pid.rawValue)", status: .forbidden)
            }
            await transcripts.said(text, to: pid)
            return Response.redirect(to: "/web/chat/\(pid.rawValue)", type: .normal)
        }
        router.get("/web/chat/:pid/live") { _, context in
            let (session, _) = try context.requireSession()
            guard let pid = await conversation(context, principal: session.principal)?.0 else { throw HTTPError(.notFound) }
            return live(pid)
        }
    }

    /// The conversation the path names, if the principal may see it and it began here.
    func conversation(_ context: WebRequestContext, principal: Principal) async -> (PID, ProcessStatus)? {
        guard let raw = context.parameters.get("pid").flatMap(UInt32.init) else { return nil }
        let pid = PID(raw)
        guard await transcripts.isWatched(pid),
            let status = await kernel.processes(visibleTo: principal).first(where: { $0.pid == pid })
        else { return nil }
        return (pid, status)
    }

    func transcriptData(_ pid: PID, status: ProcessStatus, csrf: String) async -> [String: Any] {
        let alive: Bool
        if case .exited = status.state { alive = false } else { alive = true }
        let entries: [[String: Any]] = await transcripts.transcript(pid).map { e in
            ["kind": e.kind.rawValue, "text": e.text, "detail": e.detail, e.kind.rawValue.replacingOccurrences(of: "-", with: ""): true]
        }
        return [
            "pid": pid.description, "name": status.name, "state": status.state.description, "alive": alive, "entries": entries,
            "csrf": csrf,
        ]
    }

    /// Server-sent events: `change` whenever the transcript grows (checked four times a
    /// second), for at most ten minutes or until the daemon shuts down.
    func live(_ pid: PID) -> Response {
        let transcripts = transcripts
        let body = ResponseBody { writer in
            var last = -2
            let deadline = ContinuousClock.now + .seconds(600)
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            while ContinuousClock.now < deadline && !Task.isShuttingDownGracefully {
                let now = await transcripts.version(pid)
                if now != last {
                    if last != -2 { try await writer.write(ByteBuffer(string: "event: change\ndata: \(now)\n\n")) }
                    last = now
                } else {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                }
                try await Task.sleep(for: .milliseconds(250))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }
}
