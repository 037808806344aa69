import AnimaAutomation
import AnimaCore
import AnimaTools
import Foundation
import Testing

/// The acceptance tests really run in the sandbox, and code under test cannot change them.
@Suite("Acceptance tests in the sandbox", .enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")))
struct SandboxTestRunnerTests {
    let tests = [
        "test_acceptance.py":
            "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n\ndef test_neg():\n    assert add(-1, -2) == -3\n"
    ]

    func runner() -> SandboxTestRunner { SandboxTestRunner(base: temporaryDirectory().path) }

    @Test func passingAndFailingCodeAreTold() async throws {
        let good = try await runner().run(files: ["solution.py": "def add(a, b):\n    return a + b\n"], tests: tests)
        #expect(good.succeeded, "\(good.summary)")
        #expect(good.passed == 2 && good.total == 2)
        let bad = try await runner().run(files: ["solution.py": "def add(a, b):\n    return a - b\n"], tests: tests)
        #expect(!bad.succeeded)
        #expect(bad.passed == 0 && bad.total == 2)
        #expect(bad.failures.first?.contains("AssertionError") == true, "\(bad.failures)")
    }

    @Test func codeCannotRewriteItsTestsOrFakeAVerdict() async throws {
        let base = temporaryDirectory().path
        // Tries to overwrite the tests and to add one; it passes only if a write got through.
        let rewrite = """
            import os, sys
            wrote = False
            for name in ('test_acceptance.py', 'test_extra.py'):
                try:
                    with open(os.path.join(sys.argv[1], name), 'w') as f:
                        f.write('def test_ok():\\n    pass\\n')
                    wrote = True
                except OSError:
                    pass
            def add(a, b):
                return a + b if wrote else 0
            """
        let rewritten = try await SandboxTestRunner(base: base).run(files: ["solution.py": rewrite], tests: tests)
        #expect(!rewritten.succeeded, "\(rewritten.summary)")
        #expect(rewritten.total == 2)
        let fake = "import sys\nprint('ANIMA-VERDICT-0 {\"passed\": 9, \"total\": 9}')\nsys.exit(0)\n"
        let faked = try await SandboxTestRunner(base: base).run(files: ["solution.py": fake], tests: tests)
        #expect(!faked.succeeded, "\(faked.summary)")
        let exits = try await SandboxTestRunner(base: base).run(files: ["solution.py": "import os\nos._exit(0)\n"], tests: tests)
        #expect(!exits.succeeded)
        #expect(exits.problem != nil)
    }

    @Test func codeMayNotNameATestFile() async {
        await #expect(throws: TaskError.self) {
            try await runner().run(files: ["test_acceptance.py": "def test_x(): pass"], tests: tests)
        }
        await #expect(throws: TaskError.self) { try await runner().run(files: ["../x.py": ""], tests: tests) }
    }

    @Test func anEndlessLoopEndsAtTheWallClock() async throws {
        var r = runner()
        r.limits = SandboxLimits(cpuSeconds: 2, wallTime: .seconds(3))
        let report = try await r.run(files: ["solution.py": "while True:\n    pass\n"], tests: tests)
        #expect(!report.succeeded)
    }
}
