import AnimaAutomation
import AnimaCore
import AnimaTesting
import Foundation
import Testing

/// `sslmode=require` against a real PostgreSQL that accepts only TLS connections.
///
/// pgserver's PostgreSQL is built without OpenSSL ("SSL is not supported by this build"), so
/// this uses the distribution's PostgreSQL 15 where it is installed (it is on the development
/// machine; CI images without it skip the suite, as they skip pgserver's without setup).
@Suite(
    "Workflows on PostgreSQL over TLS", .serialized,
    .enabled(if: TLSPostgres.isInstalled, "no PostgreSQL built with OpenSSL at \(TLSPostgres.binaries)"))
struct PostgresTLSTests {
    @Test(.timeLimit(.minutes(2)))
    func requireEncryptsAndVerifiesTheServer() async throws {
        let server = try TLSPostgres()
        defer { server.stop() }
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("anima-wf-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: keys) }
        let base = "postgres://anima@localhost:\(server.port)/postgres"

        // Over TLS, trusting the server's own CA: a run completes.
        let store = try PostgresWorkflowStore(url: base + "?sslmode=require&sslrootcert=\(server.certificate)", keyDirectory: keys)
        let engine = WorkflowEngine(store: store, actions: RecordingActions(), pollInterval: .milliseconds(10))
        _ = try await engine.add(#"{"name": "tls", "steps": [{"id": "w", "type": "wait", "seconds": 0}]}"#, owner: alice)
        let run = try await engine.wait(try await engine.start("tls", caller: alice).id)
        #expect(run.status == .completed, "\(run.error ?? "")")
        await store.close()

        // The server takes nothing in the clear: without TLS the connection is refused.
        let clear = try PostgresWorkflowStore(url: base + "?sslmode=disable", keyDirectory: keys)
        let refused = await #expect(throws: WorkflowError.self) { _ = try await clear.workflows() }
        #expect(refused?.description.contains("localhost") == true, "\(String(describing: refused))")
        await clear.close()

        // A certificate no trusted root signed is refused (require verifies, unlike libpq's).
        // At once, with the reason, not after the pool's minutes of retries.
        let unverified = try PostgresWorkflowStore(url: base + "?sslmode=require", keyDirectory: keys)
        let asked = ContinuousClock.now
        let untrusted = await #expect(throws: WorkflowError.self) { _ = try await unverified.workflows() }
        #expect(ContinuousClock.now - asked < .seconds(15))
        #expect(untrusted?.description.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(String(describing: untrusted))")
        await unverified.close()
    }

    @Test func aRootCertificateNeedsTLSAndAReadableFile() throws {
        for (url, reason) in [
            ("postgres://u@h/db?sslrootcert=/etc/hostname", "sslrootcert needs sslmode=require"),
            ("postgres://u@h/db?sslmode=require&sslrootcert=/no/such/ca.pem", "cannot be read"),
        ] {
            let error = #expect(throws: WorkflowError.self, "\(url)") { _ = try PostgresWorkflowLocation(url: url) }
            #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
        }
    }
}

/// A throwaway PostgreSQL on localhost that accepts TLS connections only, with a self-signed
/// certificate for `localhost` (made with the openssl command).
struct TLSPostgres {
    static let binaries = "/usr/lib/postgresql/15/bin"
    static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: binaries + "/postgres")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
    }

    let root: String
    let port: Int
    let certificate: String
    let process: Process

    init() throws {
        root = try PostgresTestServer.shell("mktemp -d /tmp/anima-pgtls.XXXXXX").trimmingCharacters(in: .whitespacesAndNewlines)
        certificate = root + "/server.crt"
        port = Int.random(in: 20_000...60_000)
        // PostgreSQL refuses to run as root: as nobody, then, owning its files.
        let run = getuid() == 0 ? "setpriv --reuid=nobody --regid=nogroup --clear-groups --" : ""
        let owner = getuid() == 0 ? "chown -R nobody:nogroup '\(root)/data' '\(root)/socket' '\(root)/server.key' &&" : ""
        _ = try PostgresTestServer.shell(
            """
            cd '\(root)' && chmod 755 . && mkdir data socket \
            && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
                -keyout server.key -out server.crt 2>/dev/null && chmod 600 server.key && chmod 644 server.crt && \(owner) \
            cd / && \(run) '\(Self.binaries)/initdb' -D '\(root)/data' -U anima --auth=trust -E UTF8 --locale=C >'\(root)/initdb.log' 2>&1 \
            && printf 'local all all trust\\nhostssl all all 127.0.0.1/32 trust\\nhostssl all all ::1/128 trust\\n' >'\(root)/hba.conf' \
            && chmod 644 '\(root)/hba.conf'
            """)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            """
            cd / && exec \(run) '\(Self.binaries)/postgres' -D '\(root)/data' -k '\(root)/socket' -c listen_addresses=localhost \
              -c port=\(port) -c ssl=on -c ssl_cert_file='\(root)/server.crt' -c ssl_key_file='\(root)/server.key' \
              -c hba_file='\(root)/hba.conf' >'\(root)/postgres.log' 2>&1
            """,
        ]
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: "\(root)/socket/.s.PGSQL.\(port)") {
            guard process.isRunning, Date() < deadline else {
                let log = (try? String(contentsOfFile: root + "/postgres.log", encoding: .utf8)) ?? ""
                stop()
                throw PostgresTestServer.Failure(description: "PostgreSQL with TLS did not start: \(log)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
        }
        _ = try? PostgresTestServer.shell("rm -rf '\(root)'")
    }
}
