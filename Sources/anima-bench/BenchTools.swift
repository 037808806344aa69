import AnimaCommandSupport
import AnimaTools
import ArgumentParser
import Foundation

/// `anima-bench tools`: what the sandbox costs per call, and what a Python session saves.
struct BenchTools: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "Measure sandboxed versus unsandboxed tool calls, and Python session reuse.",
        discussion: """
            Runs `/bin/true` N times under the sandbox (bubblewrap, seccomp, limits) and N
            times directly, interleaved in the same run, and reports p50 and p95 of each and
            the p50 the sandbox adds. Then times calls in one Python session after the first.

            Example:
              anima-bench tools --iterations 200
            """
    )

    @Option(help: NumericFlag.help("Calls of each kind.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000))
    var iterations = 100

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if iterations < 5 { throw ValidationError("--iterations must be at least 5") }
    }

    func run() async throws {
        let sandbox = Sandbox.standard
        let policy = SandboxPolicy(limits: SandboxLimits(wallTime: .seconds(10)))
        var sandboxed: [Double] = []
        var direct: [Double] = []
        for _ in 0..<iterations {
            let start = ContinuousClock.now
            let result = try await sandbox.run(["/bin/true"], policy: policy)
            guard result.succeeded else { throw ValidationError("the sandboxed /bin/true failed: \(result.report)") }
            sandboxed.append((ContinuousClock.now - start).seconds * 1000)
            let directStart = ContinuousClock.now
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/true")
            try process.run()
            process.waitUntilExit()
            direct.append((ContinuousClock.now - directStart).seconds * 1000)
        }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("anima-bench-tools-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let workspace = try Workspace(agent: "bench", base: base)
        let session = PythonSession(sandbox: sandbox, workspace: workspace, limits: SandboxLimits(cpuSeconds: 600))
        let firstStart = ContinuousClock.now
        _ = try await session.run("x = 1")
        let first = (ContinuousClock.now - firstStart).seconds * 1000
        var reuse: [Double] = []
        for i in 0..<iterations {
            let start = ContinuousClock.now
            let reply = try await session.run("x += 1")
            guard reply.error == nil else { throw ValidationError("python call \(i) failed: \(reply.error!)") }
            reuse.append((ContinuousClock.now - start).seconds * 1000)
        }
        await session.close()
        let (s50, s95) = (percentile(sandboxed, 50), percentile(sandboxed, 95))
        let (d50, d95) = (percentile(direct, 50), percentile(direct, 95))
        let (r50, r95) = (percentile(reuse, 50), percentile(reuse, 95))
        if json {
            print(
                #"{"iterations":\#(iterations),"sandboxed_ms":{"p50":\#(s50),"p95":\#(s95)},"unsandboxed_ms":{"p50":\#(d50),"p95":\#(d95)},"added_p50_ms":\#(s50 - d50),"python_first_call_ms":\#(first),"python_reuse_ms":{"p50":\#(r50),"p95":\#(r95)}}"#
            )
        } else {
            print("calls: \(iterations) each, interleaved")
            print(String(format: "sandboxed /bin/true    p50 %7.2f ms   p95 %7.2f ms", s50, s95))
            print(String(format: "unsandboxed /bin/true  p50 %7.2f ms   p95 %7.2f ms", d50, d95))
            print(String(format: "added by the sandbox   p50 %7.2f ms", s50 - d50))
            print(String(format: "python first call (session start) %7.2f ms", first))
            print(String(format: "python call in a live session p50 %7.2f ms   p95 %7.2f ms", r50, r95))
        }
    }

    private func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        let index = min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)
        return sorted[max(0, index)]
    }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
