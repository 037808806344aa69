import AnimaCore
import Foundation
import Testing

@testable import AnimaTools

@Suite("Python tool")
struct PythonToolTests {
    @Test func variablesSurviveBetweenCallsAndOutputIsCaptured() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let python = PythonTool()
        defer { Task { await python.sessions.closeAll() } }
        let context = try fixture.context()
        let first = await python.call(["code": "x = 41\nprint('hello')\nimport sys; print('warn', file=sys.stderr)"], in: context)
        #expect(!first.isError, "\(first.text)")
        #expect(first.value["stdout"] == "hello\n")
        #expect(first.value["stderr"] == "warn\n")
        let second = await python.call(["code": "x + 1"], in: context)
        #expect(second.text == "42")
        let subprocess = await python.call(["code": "import subprocess; subprocess.run(['echo', 'from a child'])"], in: context)
        #expect(subprocess.text.contains("from a child"))
        // Another agent has its own session.
        let other = await python.call(["code": "x"], in: try fixture.context("agent-b"))
        #expect(other.isError)
        #expect(other.text.contains("NameError"))
        await python.sessions.closeAll()
    }

    @Test func exceptionsComeBackAsErrors() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let python = PythonTool()
        let context = try fixture.context()
        let result = await python.call(["code": "print('before')\n1/0"], in: context)
        #expect(result.isError)
        #expect(result.text.contains("before"))
        #expect(result.text.contains("ZeroDivisionError"))
        let shadow = await python.call(["code": "open('/etc/shadow').read()"], in: context)
        #expect(shadow.text.contains("FileNotFoundError"))
        let exit = await python.call(["code": "raise SystemExit(3)"], in: context)
        #expect(exit.text.contains("SystemExit"))
        let alive = await python.call(["code": "'still here'"], in: context)
        #expect(alive.text == "'still here'")
        await python.sessions.closeAll()
    }

    @Test func aCallPastItsTimeLimitIsKilledAndTheSessionRestarts() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let python = PythonTool()
        let context = try fixture.context()
        _ = await python.call(["code": "x = 1"], in: context)
        let started = ContinuousClock.now
        let slow = await python.call(["code": "import time\nwhile True: time.sleep(0.1)", "timeout_seconds": 1], in: context)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(slow.isError)
        #expect(slow.text.contains("time limit"))
        let after = await python.call(["code": "x"], in: context)
        #expect(after.text.contains("the session was restarted"))
        #expect(after.text.contains("NameError"))
        await python.sessions.closeAll()
    }

    @Test func theSessionWritesToTheWorkspace() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let python = PythonTool()
        let context = try fixture.context()
        let result = await python.call(["code": "open('out.txt', 'w').write('from python')\nimport os; os.getcwd()"], in: context)
        #expect(result.text.contains("'/workspace'"))
        #expect(try String(contentsOfFile: context.workspace.root + "/out.txt", encoding: .utf8) == "from python")
        await python.sessions.closeAll()
    }
}
