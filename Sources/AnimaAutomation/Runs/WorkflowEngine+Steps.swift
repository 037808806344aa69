import AnimaCore
import Foundation
import Metrics

/// Running a run's steps: sequences, leaf steps under their timeouts, sleeps, and the one
/// place a step acts (`perform`), each start and result committed around it.
extension WorkflowEngine {
    func runSteps(_ steps: [WorkflowStep], prefix: String, scope: inout RunScope, run: WorkflowRun) async throws {
        for step in steps {
            let path = prefix + step.id
            switch step.kind {
            case .condition(let condition, let then, let otherwise):
                try await checkCancelled(run.id)
                let taken = try evaluate(condition, scope: scope, step: step.id)
                try await runSteps(taken ? then : otherwise, prefix: prefix, scope: &scope, run: run)
                scope.steps[step.id] = LabeledValue(.bool(taken), label: .user)
            case .loop(let over, let name, let body):
                try await checkCancelled(run.id)
                let list = try scope.resolve(over, step: step.id, field: "over")
                guard let items = list.value.arrayValue else {
                    throw WorkflowError.invalid(step: step.id, field: "over", reason: "must give a list, not \(list.value.typeName)")
                }
                var results: [JSONValue] = []
                var label = list.label
                for (i, item) in items.enumerated() {
                    var inner = scope
                    inner.variables[name] = LabeledValue(item, label: list.label)
                    try await runSteps(body, prefix: "\(path)[\(i)]/", scope: &inner, run: run)
                    let last = body.last.flatMap { inner.steps[$0.id] } ?? LabeledValue(.null, label: .user)
                    results.append(last.value)
                    label = label.joined(with: last.label)
                    for s in body { scope.steps[s.id] = inner.steps[s.id] }
                }
                scope.steps[step.id] = LabeledValue(.array(results), label: label)
            default:
                scope.steps[step.id] = try await runLeaf(step, path: path, scope: scope, run: run)
            }
        }
    }

    func runLeaf(_ step: WorkflowStep, path: String, scope: RunScope, run: WorkflowRun) async throws -> LabeledValue {
        if Task.isCancelled { throw CancellationError() }
        let (previous, cancelRequested) = try await store.stepBeforeRunning(run: run.id, path: path)
        if cancelRequested { throw WorkflowError.cancelled }
        if let previous, previous.status == .completed, let output = previous.output { return output }
        if let previous, previous.status == .failed {
            throw WorkflowError.stepFailed(step: path, reason: previous.error ?? "failed")
        }
        // An attempt cut short by a crash is tried again under the same number.
        var attempt = previous?.attempt ?? 1
        // A step keeps its first start across attempts and restarts (the store does too).
        let started = previous?.started ?? Date()
        let key = "\(run.id)/\(path)"
        var keyed = scope
        keyed.stepKey = key
        let scope = keyed
        while true {
            try await store.stepStarted(run: run.id, path: path, key: key, attempt: attempt)
            let began = ContinuousClock.now
            do {
                let output = try await withTimeout(step.timeout, step: path) {
                    try await self.perform(step, path: path, scope: scope, run: run, key: key, started: started)
                }
                if let schema = step.outputSchema {
                    let violations = schema.violations(of: output.value)
                    guard violations.isEmpty else {
                        throw StepFailure(
                            "its output does not match output_schema: \(violations.map(\.description).joined(separator: "; "))",
                            retryable: false)
                    }
                }
                try await store.stepCompleted(run: run.id, path: path, output: output)
                await actions.record(
                    RunEvent("step-completed", run: run.id, step: path, actor: run.owner.name, content: output.value.jsonText))
                stepsCounter.increment()
                stepTimer.recordNanoseconds(began.duration(to: .now).nanoseconds)
                return output
            } catch {
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                if case WorkflowError.cancelled = error { throw error }
                let failure = Self.failure(error)
                if failure.retryable, attempt < step.retry.attempts {
                    try await store.stepFailed(run: run.id, path: path, error: failure.description, final: false)
                    retriesCounter.increment()
                    try await sleep(seconds: step.retry.delay(after: attempt), run: run.id)
                    attempt += 1
                    continue
                }
                try await store.stepFailed(run: run.id, path: path, error: failure.description, final: true)
                await actions.record(RunEvent("step-failed", run: run.id, step: path, actor: run.owner.name, failure: failure.description))
                if case WorkflowError.denied = error { throw error }
                throw WorkflowError.stepFailed(step: path, reason: failure.description)
            }
        }
    }

    static func failure(_ error: any Error) -> StepFailure {
        switch error {
        case let f as StepFailure: f
        case WorkflowError.timedOut(let step, let seconds):
            StepFailure(WorkflowError.timedOut(step: step, seconds: seconds).description, retryable: true)
        case let e as WorkflowError: StepFailure(e.description, retryable: false)
        default: StepFailure("\(error)", retryable: false)
        }
    }

    func withTimeout(_ seconds: Double?, step: String, _ body: @escaping @Sendable () async throws -> LabeledValue) async throws
        -> LabeledValue
    {
        guard let seconds else { return try await body() }
        return try await withThrowingTaskGroup(of: LabeledValue?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw WorkflowError.timedOut(step: step, seconds: seconds) }
            return value
        }
    }

    /// Sleeps in short slices so a cancel request from another process is seen.
    func sleep(seconds: Double, run: String) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            try await checkCancelled(run)
            try await Task.sleep(for: min(.milliseconds(250), ContinuousClock.now.duration(to: deadline)))
        }
    }

    func perform(_ step: WorkflowStep, path: String, scope: RunScope, run: WorkflowRun, key: String, started: Date) async throws
        -> LabeledValue
    {
        switch step.kind {
        case .agent(let task, let tools, let groups, let memory, let model):
            let text = try scope.resolve(task, step: step.id, field: "task")
            let request = AgentStepRequest(
                task: text.value.text, tools: tools, groups: groups.map { $0.intersection(run.owner.groups) } ?? run.owner.groups,
                memory: memory, model: model, key: key)
            return try await actions.runAgent(request, as: run.owner)
        case .tool(let name, let arguments):
            let args = try scope.resolve(arguments, step: step.id, field: "arguments")
            return try await actions.callTool(name, arguments: args.value, as: run.owner)
        case .mcp(let server, let tool, let arguments):
            let args = try scope.resolve(arguments, step: step.id, field: "arguments")
            return try await actions.callTool("\(server)__\(tool)", arguments: args.value, as: run.owner)
        case .http(let method, let urlTemplate, let headerTemplate, let bodyTemplate):
            guard run.owner.isRoot || run.owner.groups.contains("net") else {
                throw WorkflowError.denied(
                    step: step.id,
                    reason: "HTTP needs the `net` group; add \"net\" to the workflow's `groups` (its owner \(run.owner.name) must hold it)")
            }
            let url = try scope.resolve(urlTemplate, step: step.id, field: "url")
            // Untrusted data may travel in a body, but may not choose where it goes.
            guard url.label.isTrusted else {
                throw WorkflowError.denied(
                    step: step.id,
                    reason:
                        "its URL is built from untrusted data (\(url.label.untrustedSources.sorted().map(\.description).joined(separator: ", "))); put the host in the file or in the inputs"
                )
            }
            guard let text = url.value.stringValue, let parsed = URL(string: text),
                ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                parsed.host != nil
            else { throw WorkflowError.invalid(step: step.id, field: "url", reason: "`\(url.value.text)` is not an http or https URL") }
            var headers: [String: String] = [:]
            for (name, value) in try scope.resolve(headerTemplate, step: step.id, field: "headers").value.objectValue ?? [:] {
                headers[name] = value.text
            }
            var body: String?
            if let bodyTemplate {
                let b = try scope.resolve(bodyTemplate, step: step.id, field: "body").value
                if let s = b.stringValue {
                    body = s
                } else {
                    body = b.jsonText
                    if !headers.keys.contains(where: { $0.lowercased() == "content-type" }) { headers["Content-Type"] = "application/json" }
                }
            }
            return try await actions.http(
                HTTPStepRequest(method: method, url: parsed, headers: headers, body: body, key: key, timeout: step.timeout ?? 30))
        case .wait(let seconds):
            // Measured from the step's first start, so a restart does not wait again from zero.
            let remaining = started.addingTimeInterval(seconds).timeIntervalSinceNow
            if remaining > 0 { try await sleep(seconds: remaining, run: run.id) }
            return LabeledValue(.object(["waited": .number(seconds)]), label: .user)
        case .workflow(let name, let inputTemplate):
            let inputs = try scope.resolve(inputTemplate, step: step.id, field: "inputs")
            let child = try await start(
                name, inputs: inputs.value, label: inputs.label, caller: Principal(name: run.owner.name, groups: run.owner.groups),
                trigger: "workflow:\(run.id)", parent: run.id, id: "\(run.id).\(path)")
            while true {
                try await checkCancelled(run.id)
                guard let now = try await store.run(child.id) else { throw WorkflowError.unknownRun(child.id) }
                switch now.status {
                case .completed: return now.output ?? LabeledValue(.null, label: .user)
                case .failed, .cancelled:
                    throw StepFailure("sub-workflow \(name) (run \(child.id)) \(now.status.rawValue): \(now.error ?? "")", retryable: false)
                default:
                    // The child may have been left by a daemon that died: take it over when its lease ends.
                    if tasks[child.id] == nil { await dispatch(child.id) }
                    try await Task.sleep(for: pollInterval)
                }
            }
        case .approval(let prompt):
            let text = try scope.resolve(prompt, step: step.id, field: "prompt")
            try await store.setStatus(run.id, .waiting, detail: "approval \(path): \(text.value.text)")
            while true {
                try await checkCancelled(run.id)
                if let record = try await store.step(run: run.id, path: path), record.status == .completed, let output = record.output {
                    try await store.setStatus(run.id, .running, detail: "approval \(path) decided")
                    return output
                }
                try await Task.sleep(for: pollInterval)
            }
        case .condition, .loop:
            throw WorkflowError.invalid(step: step.id, field: "type", reason: "not a leaf step")
        }
    }
}
