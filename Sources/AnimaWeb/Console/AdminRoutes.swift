import AnimaCore
import AnimaKernel
import AnimaSecurity
import Foundation
import Hummingbird

/// The views that change how the OS is governed: the data-flow policy (read by everyone
/// signed in, edited by root, every edit validated and audited) and API tokens (each user
/// their own, root all; the secret shown once).
struct AdminRoutes: Sendable {
    let kernel: Kernel
    let configuration: WebConsoleConfiguration

    /// The strict default the kernel applies when there is no policy file, as a document.
    static let strictDefault = """
        {
          "default": {"allow": ["user", "system"], "onViolation": "deny"},
          "tools": {}
        }
        """

    func register(on router: Router<WebRequestContext>) {
        router.get("/web/policies") { _, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            guard let path = configuration.policyPath else {
                return WebConsole.message("This console has no policy file to show.", back: "/web/processes", status: .notFound)
            }
            let text: String
            do { text = try Self.policyText(path) } catch {
                return WebConsole.message("The policy cannot be read: \(error)", back: "/web/processes", status: .internalServerError)
            }
            let data = Self.policyData(text: text, path: path, principal: session.principal, csrf: csrf, error: nil)
            return WebConsole.page("policies", title: "Policies", data: data, session: (session.user, csrf))
        }
        router.post("/web/policies") { request, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            guard let path = configuration.policyPath else {
                return WebConsole.message("This console has no policy file to edit.", back: "/web/processes", status: .notFound)
            }
            guard session.principal.isRoot else {
                await kernel.noteAccess("policy-edit", user: session.user, "an edit of \(path) was refused", refused: "not root")
                return WebConsole.message(
                    "Only root may change the policy; sign in with a passkey enrolled for root.", back: "/web/policies",
                    status: .forbidden)
            }
            let form = try await Form.read(request, context: context)
            let text = (form["policy"] ?? "").replacingOccurrences(of: "\r\n", with: "\n")
            do {
                _ = try SecurityPolicy(json: text)
            } catch {
                await kernel.noteAccess("policy-edit", user: session.user, "an invalid edit of \(path) was refused", refused: "invalid")
                var data = Self.policyData(text: text, path: path, principal: session.principal, csrf: csrf, error: nil)
                data["error"] = ["text": "The policy was not saved: \(error). Correct it and save again."]
                return WebConsole.html(
                    ConsolePages.render("policies", title: "Policies", data: data, session: (session.user, csrf)), status: .badRequest)
            }
            let before = (try? String(contentsOfFile: path, encoding: .utf8)).map(Self.digest) ?? "none"
            do {
                try DurableFile.write(Data(text.utf8), to: URL(fileURLWithPath: path))
            } catch {
                return WebConsole.message("The policy could not be saved: \(error)", back: "/web/policies", status: .internalServerError)
            }
            await kernel.noteAccess(
                "policy-edit", user: session.user,
                "\(path) changed from sha256 \(before) to \(Self.digest(text)) (\(text.utf8.count) bytes)")
            // In force at once, for every process from its next check on (the file watcher
            // would see the same file and leave it be).
            let applied: String
            switch await kernel.reloadPolicy(from: path, by: session.user) {
            case .applied, .unchanged: applied = "It is in force now for every process, and every new `anima` command applies it."
            case .refused(let reason): applied = "It was not applied (\(reason)); the policy in force stays."
            }
            return WebConsole.message("Saved \(path). \(applied)", back: "/web/policies", status: .ok)
        }

        router.get("/web/tokens") { _, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            guard let registry = configuration.tokens else {
                return WebConsole.message("This console has no token store.", back: "/web/processes", status: .notFound)
            }
            let format = ISO8601DateFormatter()
            let mine = try await registry.tokens().filter { session.principal.isRoot || $0.user == session.user }
            let rows: [[String: Any]] = mine.sorted { $0.created > $1.created }.map { t in
                [
                    "id": t.id, "name": t.name, "user": t.user, "scopes": t.scopes.joined(separator: ", "),
                    "created": format.string(from: t.created), "expires": t.expires.map(format.string(from:)) ?? "never",
                    "state": t.state(), "active": t.state() == "active",
                ]
            }
            let data: [String: Any] = [
                "tokens": rows, "scopes": registry.scopes.map { ["name": $0] }, "csrf": csrf, "user": session.user,
                "groups": session.groups.sorted().joined(separator: ", "),
            ]
            return WebConsole.page("tokens", title: "Tokens", data: data, session: (session.user, csrf))
        }
        router.post("/web/tokens") { request, context in
            let (session, secret) = try context.requireSession()
            let csrf = ConsoleStore.csrfToken(secret: secret)
            guard let registry = configuration.tokens else {
                return WebConsole.message("This console has no token store.", back: "/web/processes", status: .notFound)
            }
            let form = try await Request.formFields(request, context: context)
            let name = (form.first { $0.0 == "name" }?.1 ?? "").trimmingCharacters(in: .whitespaces)
            let scopes = Array(Set(form.filter { $0.0 == "scope" }.map(\.1))).sorted()
            guard !name.isEmpty, name.count <= 64 else {
                return WebConsole.message("Give the token a name of 1 to 64 characters.", back: "/web/tokens", status: .badRequest)
            }
            guard !scopes.isEmpty else {
                return WebConsole.message("Choose at least one scope.", back: "/web/tokens", status: .badRequest)
            }
            let lifetime: TimeInterval?
            do { lifetime = try Self.lifetime(form.first { $0.0 == "expires" }?.1 ?? "90d") } catch {
                return WebConsole.message("\(error)", back: "/web/tokens", status: .badRequest)
            }
            do {
                let (secretText, token) = try await registry.createToken(
                    name: name, user: session.user, groups: session.groups, scopes: scopes, lifetime: lifetime)
                await kernel.noteAccess(
                    "token-create", user: session.user,
                    "token \(token.id) for \(token.user), scopes \(token.scopes.joined(separator: ",")), made in the console")
                let data: [String: Any] = [
                    "secret": secretText, "id": token.id, "scopes": token.scopes.joined(separator: ", "),
                    "expires": token.expires.map { ISO8601DateFormatter().string(from: $0) } ?? "never",
                ]
                return WebConsole.page("token-created", title: "Token created", data: data, session: (session.user, csrf))
            } catch {
                return WebConsole.message("The token was not created: \(error)", back: "/web/tokens", status: .badRequest)
            }
        }
        router.post("/web/tokens/:id/revoke") { _, context in
            let (session, _) = try context.requireSession()
            guard let registry = configuration.tokens, let id = context.parameters.get("id"),
                let token = try await registry.tokens().first(where: { $0.id == id })
            else { return WebConsole.message("No such token.", back: "/web/tokens", status: .notFound) }
            guard session.principal.isRoot || token.user == session.user else {
                await kernel.noteAccess("token-revoke", user: session.user, "revoking token \(id) was refused", refused: "not its owner")
                return WebConsole.message("Only its owner or root may revoke token \(id).", back: "/web/tokens", status: .forbidden)
            }
            try await registry.revokeToken(id: id)
            await kernel.noteAccess("token-revoke", user: session.user, "token \(id) of \(token.user) revoked in the console")
            return Response.redirect(to: "/web/tokens", type: .normal)
        }
    }

    static func policyText(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { return strictDefault }
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    static func digest(_ text: String) -> String { String(SecurityPolicy.digest(text).prefix(16)) }

    /// The page's data: the document, and the rules it sets in a table when it parses.
    static func policyData(text: String, path: String, principal: Principal, csrf: String, error: String?) -> [String: Any] {
        var data: [String: Any] = [
            "text": text, "path": path, "exists": FileManager.default.fileExists(atPath: path), "root": principal.isRoot, "csrf": csrf,
        ]
        if let policy = try? SecurityPolicy(json: text) {
            data["parsed"] = true
            data["defaultAllow"] = policy.defaultAllow.description
            data["defaultAction"] = policy.defaultAction.rawValue
            data["rules"] = policy.tools.keys.sorted().map { name -> [String: Any] in
                let rule = policy.tools[name]!
                return [
                    "tool": name, "effect": rule.effect?.rawValue ?? "declared", "allow": rule.allow?.description ?? "default",
                    "onViolation": rule.onViolation?.rawValue ?? "default", "trustedOnly": rule.trustedContextOnly ? "yes" : "no",
                    "arguments": rule.arguments.keys.sorted().map { arg in
                        "\(arg): \(rule.arguments[arg]?.allow?.description ?? "tool's")"
                    }.joined(separator: "; "),
                ]
            }
        }
        if let error { data["error"] = ["text": error] }
        return data
    }

    /// Seconds from "30m", "12h", "90d" (or plain seconds); nil for "never".
    static func lifetime(_ text: String) throws -> TimeInterval? {
        let text = text.trimmingCharacters(in: .whitespaces).lowercased()
        if text == "never" { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let unit = text.last.flatMap { units[$0] }
        let digits = unit == nil ? Substring(text) : text.dropLast()
        guard !digits.isEmpty, digits.count <= 7, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Double(digits), n > 0 else {
            throw ConsoleInputError(
                "\"\(text.prefix(40))\" is not a lifetime; give a number with s, m, h or d (e.g. 90d), or never")
        }
        return n * (unit ?? 1)
    }
}

extension Request {
    /// Every field of a form body in order, repeated names included (checkbox groups).
    static func formFields(_ request: Request, context: WebRequestContext) async throws -> [(String, String)] {
        var request = request
        let buffer = try await request.collectBody(upTo: WebConsole.maxFormBytes)
        return String(buffer: buffer).split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Form.decode(parts[0]), parts.count > 1 ? Form.decode(parts[1]) : "")
        }
    }
}

/// A form field the console cannot use; the message says what to send instead.
struct ConsoleInputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
