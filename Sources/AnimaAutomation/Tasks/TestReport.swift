import AnimaCore

/// How one run of acceptance tests went.
public struct TestReport: Sendable, Hashable, Codable {
    public var passed: Int
    public var total: Int
    /// The failures as the coder reads them: test name and the end of its traceback.
    public var failures: [String]
    /// Set when the tests could not run to completion (a crash, a timeout, no result).
    public var problem: String?

    public init(passed: Int, total: Int, failures: [String] = [], problem: String? = nil) {
        self.passed = passed
        self.total = total
        self.failures = failures
        self.problem = problem
    }

    /// Every test passed and there was at least one.
    public var succeeded: Bool { problem == nil && total > 0 && passed == total }

    /// The first thing that went wrong, in a few lines (what a fresh attempt is told).
    public var firstFailure: String {
        let text = problem ?? failures.first ?? "\(passed) of \(total) tests passed"
        // The traceback's last lines say most: the failing line, the error, the values and
        // the variables of the function that raised.
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.hasPrefix("File \"") && !$0.contains(": File \"") }
        return String(lines.suffix(4).joined(separator: " | ").prefix(500))
    }

    /// What the coder is shown: short, failures first.
    public var summary: String {
        var lines = ["\(passed) of \(total) tests passed"]
        if let problem { lines.append(problem) }
        lines += failures.prefix(5)
        return String(lines.joined(separator: "\n").prefix(2000))
    }
}

/// Runs acceptance tests against code; the sandboxed implementation is `SandboxTestRunner`.
public protocol TestRunner: Sendable {
    /// Runs `tests` (file name → Python source) against `files` (file name → source).
    func run(files: [String: String], tests: [String: String]) async throws -> TestReport
}
