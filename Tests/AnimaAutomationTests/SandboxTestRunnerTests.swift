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
        // The coder reads what its code returned, not only that an assertion failed.
        #expect(bad.failures.first?.contains("add(1, 2) gave -1; expected 3") == true, "\(bad.failures)")
        #expect(bad.firstFailure.hasSuffix("add(1, 2) gave -1; expected 3"), "\(bad.firstFailure)")
        // An error raised in the code names the test's line that called it.
        let raises = try await runner().run(files: ["solution.py": "def add(a, b):\n    raise KeyError(a)\n"], tests: tests)
        #expect(raises.failures.first?.contains("the test's line was: assert add(1, 2) == 3") == true, "\(raises.failures)")
        // An error raised inside the code shows that function's variables at the time.
        let parse = try await runner().run(
            files: [
                "solution.py":
                    "class Odd:\n    def __repr__(self):\n        raise RuntimeError\n\ndef add(a, b):\n    import re\n    odd, big = Odd(), 'y' * 500\n    for line in ['a=1', '']:\n        key, value = line.split('=')\n    return 3\n"
            ], tests: tests)
        let told = try #require(parse.failures.first)
        #expect(told.contains("when it raised, add() had: a = 1, b = 2, odd = <Odd>, big = 'yyyy"), "\(told)")
        #expect(told.contains("..., line = '', key = 'a', value = '1'") && !told.contains("re = "), "\(told)")
        #expect(parse.firstFailure.hasPrefix("key, value = line.split('=')"), "\(parse.firstFailure)")
        #expect(parse.firstFailure.hasSuffix("line = '', key = 'a', value = '1'"), "\(parse.firstFailure)")
        // In a comprehension, its own variables; not the hidden iterator Python gives it.
        let comprehension = try await runner().run(
            files: ["solution.py": "def add(a, b):\n    return {k: v for k, v in [(a, b), (a,)]}\n"], tests: tests)
        let inner = try #require(comprehension.failures.first)
        #expect(inner.contains("had: k = 1, v = 2") && !inner.contains(".0"), "\(inner)")
        // A side that raises, or a value too long to read, is reported as such.
        let odd = try await runner().run(
            files: ["solution.py": "def add(a, b):\n    return 'x' * 5000 if a > 0 else 1 / 0\n"], tests: tests)
        #expect(odd.failures.contains { $0.contains("gave 'xxxx") && $0.contains("...; expected 3") }, "\(odd.failures)")
        #expect(odd.failures.contains { $0.contains("ZeroDivisionError") }, "\(odd.failures)")
    }

    /// A bare `assert f(x)`, an `assert False` after a call that should have raised, and a
    /// test that cannot import the function it needs each say what the code did.
    @Test func failuresSayWhatTheCodeDid() async throws {
        let tests = [
            "test_truth.py":
                "from solution import ok\n\ndef test_true():\n    value = 1\n    assert ok(value)\n\ndef test_false():\n    assert not ok(2)\n",
            "test_raise.py":
                "from solution import ok\n\ndef test_after():\n    try:\n        ok(-1)\n    except ValueError:\n        return\n    assert False\n\n"
                + "def test_inside():\n    try:\n        x = ok(-2)\n        assert False\n    except (ValueError, KeyError):\n        pass\n\n"
                + "def test_loop():\n    for bad in [-3]:\n        try:\n            ok(bad)\n        except ValueError:\n            continue\n        assert False, bad\n\n"
                + "def test_odd():\n    for item in ok(None):\n        assert item == 1\n",
            "test_wanted.py": "from solution import count_words\n\ndef test_count():\n    assert count_words('a b') == 2\n",
        ]
        let report = try await runner().run(
            files: [
                "solution.py":
                    "class Odd:\n    def __repr__(self):\n        raise RuntimeError\n\ndef ok(n):\n    return [Odd()] if n is None else n == 2\n\n"
                    + "class Words:\n    pass\n\ndef words(text):\n    return 2\n"
            ], tests: tests)
        #expect(report.passed == 0 && report.total == 7, "\(report.summary)")
        let told = report.failures.joined(separator: "\n")
        // The test's own variables are shown as the test set them, or by their values.
        #expect(told.contains("ok(value) gave False; expected a true value (where value = 1)"), "\(told)")
        #expect(told.contains("the test expected ok(bad) to raise ValueError; it returned False (where bad = -3)"), "\(told)")
        // A value whose repr raises is named by its type.
        #expect(told.contains("item gave <Odd>; expected 1 (where item = <Odd>)"), "\(told)")
        #expect(told.contains("ok(2) gave True; expected a false value"), "\(told)")
        #expect(told.contains("the test expected ok(-1) to raise ValueError; it returned False"), "\(told)")
        #expect(told.contains("the test expected x = ok(-2) to raise (ValueError, KeyError); it did not"), "\(told)")
        #expect(
            told.contains(
                "the tests import count_words from solution.py, but it defines Odd, ok, Words, words: name the function count_words"),
            "\(told)")
        // Only the code's own files are read for the names: an ImportError the code raises
        // itself, naming a Python file outside the workspace (os.py), gets no list.
        let forged = try await runner().run(
            files: [
                "solution.py":
                    "import os\nraise ImportError(\"cannot import name 'count_words'\", path='/workspace/..' + os.__file__)\n"
            ],
            tests: ["test_wanted.py": tests["test_wanted.py"]!])
        #expect(forged.failures.first?.contains("cannot import name 'count_words'") == true, "\(forged.failures)")
        #expect(forged.failures.first?.contains("import count_words from") == false, "\(forged.failures)")
        // Code that breaks what the notes are made with (it runs in the same interpreter)
        // loses its notes, not its verdict.
        let sabotage =
            "import ast\n\ndef broken(*args):\n    raise RuntimeError('no')\n\nast.unparse = broken\n\ndef add(a, b):\n    return a - b if a > 0 else a + b\n"
        let sabotaged = try await runner().run(files: ["solution.py": sabotage], tests: self.tests)
        #expect(sabotaged.passed == 1 && sabotaged.total == 2 && sabotaged.problem == nil, "\(sabotaged.summary)")
        #expect(sabotaged.failures.first?.hasSuffix("AssertionError") == true, "\(sabotaged.failures)")
        // A fresh start is told the same in its one line per attempt.
        let wanted = TestReport(passed: 0, total: 1, failures: report.failures.filter { $0.hasPrefix("test_wanted.py") })
        #expect(wanted.firstFailure.hasSuffix("name the function count_words"), "\(wanted.firstFailure)")
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
