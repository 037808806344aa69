import AnimaCore
import AnimaKernel
import AnimaProcessor
import Foundation
import Synchronization

/// Carries a macro task end to end as a kernel process: plans a `TaskGraph`, writes the
/// coders' acceptance tests before any code exists, runs each subtask as a child process
/// with its specialist's narrower groups (in parallel where the graph allows), checks every
/// typed handoff that comes back over IPC against its schema, retries a failed subtask with
/// a reflection of why it failed, re-plans once, and otherwise reports what was tried.
///
/// Spawns, generations, messages and exits are kernel syscalls, authorised and audited
/// there; budgets are the processes' quotas. Killing the orchestrator kills its children.
public struct Orchestrator: Sendable {
    public struct Options: Sendable {
        /// Runs of one subtask: the first and its retries.
        public var attempts: Int
        /// Fresh plans after the first one fails.
        public var replans: Int
        /// Each coder's generate → test → refine budget.
        public var refine: RefineLoop.Budget
        /// Quotas of each subtask's process.
        public var nodeQuotas: Quotas
        /// Quotas of the orchestrator's own process (planning and test writing).
        public var quotas: Quotas
        public var maxTokensPerStep: Int

        public init(
            attempts: Int = 2, replans: Int = 1, refine: RefineLoop.Budget = .init(), nodeQuotas: Quotas = Quotas(tokens: 8192),
            quotas: Quotas = Quotas(tokens: 16384), maxTokensPerStep: Int = 512
        ) {
            self.attempts = max(1, attempts)
            self.replans = max(0, replans)
            self.refine = refine
            self.nodeQuotas = nodeQuotas
            self.quotas = quotas
            self.maxTokensPerStep = maxTokensPerStep
        }
    }

    public let kernel: Kernel
    public var store: TaskStore
    public var skills: SkillLibrary?
    public var runner: any TestRunner
    public var options: Options
    public var onEvent: (@Sendable (TaskEvent) -> Void)?

    public init(
        kernel: Kernel, store: TaskStore, skills: SkillLibrary? = nil, runner: any TestRunner, options: Options = .init(),
        onEvent: (@Sendable (TaskEvent) -> Void)? = nil
    ) {
        self.kernel = kernel
        self.store = store
        self.skills = skills
        self.runner = runner
        self.options = options
        self.onEvent = onEvent
    }

    /// Starts the orchestrator process for `goal`; `plan` skips planning (given graphs are
    /// validated all the same). Returns the task's id and the process.
    public func start(goal: String, owner: Principal, plan: TaskGraph? = nil) async throws -> (task: String, pid: PID) {
        let trimmed = goal.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw TaskError.invalidArgument("the goal is empty; say what should be built") }
        guard trimmed.count <= 20_000 else { throw TaskError.invalidArgument("the goal is \(trimmed.count) characters; at most 20000") }
        // A given plan is refused before anything starts, as a planned one would be re-asked.
        if let plan { try plan.validate(knownTools: Set(await kernel.toolDefinitions.map(\.name))) }
        let task = try await store.create(owner: owner.name, goal: trimmed)
        let me = self
        let pid = try await kernel.spawn(name: "orchestrator", owner: owner, quotas: options.quotas, task: trimmed) { context in
            try await me.orchestrate(task: task, goal: trimmed, owner: owner, plan: plan, context: context)
        }
        try await store.setTask(task, state: .planning, pid: Int(pid.rawValue))
        return (task, pid)
    }

    /// Starts the task and waits for it: the final outputs, or the error with what was tried.
    public func run(goal: String, owner: Principal, plan: TaskGraph? = nil) async throws -> (task: String, answer: String) {
        let (task, pid) = try await start(goal: goal, owner: owner, plan: plan)
        switch try await kernel.wait(pid) {
        case .completed(let answer): return (task, answer)
        case .failed(let reason): throw TaskRunError(task: task, reason: reason)
        case .killed: throw TaskRunError(task: task, reason: "the orchestrator was killed")
        case .quotaExceeded(let which): throw TaskRunError(task: task, reason: "the orchestrator ran out of \(which)")
        }
    }

    // MARK: The orchestrator's program

    func orchestrate(task: String, goal: String, owner: Principal, plan: TaskGraph?, context: ProcessContext) async throws -> String {
        let children = ChildSet()
        let kernel = self.kernel
        let store = self.store
        return try await withTaskCancellationHandler {
            do {
                let answer = try await self.plannedRun(
                    task: task, goal: goal, owner: owner, plan: plan, context: context, children: children)
                try await store.setTask(task, state: .passed, report: answer)
                onEvent?(.done(task: task, passed: true))
                return answer
            } catch is CancellationError {
                try? await store.setTask(task, state: .killed, report: "the orchestrator was killed")
                throw CancellationError()
            } catch {
                let killed = Task.isCancelled
                try? await store.setTask(task, state: killed ? .killed : .failed, report: "\(error)")
                onEvent?(.done(task: task, passed: false))
                throw error
            }
        } onCancel: {
            // Children die with their orchestrator.
            let pids = children.close()
            Task {
                for pid in pids { try? await kernel.signal(pid, .terminate, from: owner) }
                try? await store.setTask(task, state: .killed, report: "the orchestrator was killed")
            }
        }
    }

    func plannedRun(
        task: String, goal: String, owner: Principal, plan: TaskGraph?, context: ProcessContext, children: ChildSet
    ) async throws -> String {
        let known = Set(await kernel.toolDefinitions.map(\.name))
        let planner = TaskPlanner(knownTools: known)
        let generate: RefineLoop.Generate = { try await context.generate($0) }
        var graph: TaskGraph
        if let plan {
            try plan.validate(knownTools: known)
            graph = plan
        } else {
            graph = try await planner.plan(goal, generate: generate)
        }
        var tried: [String] = []
        for round in 0...options.replans {
            try Task.checkCancellation()
            graph = try await writeTests(graph, of: goal, generate: generate)
            try await store.setGraph(task, graph)
            onEvent?(.planned(task: task, nodes: graph.nodes.map { "\($0.id)(\($0.role.rawValue))" }))
            let result = try await runGraph(graph, of: goal, task: task, owner: owner, context: context, children: children)
            tried += result.tried
            if result.failures.isEmpty {
                let sinks = graph.nodes.filter { node in !graph.nodes.contains { $0.inputs.contains(node.id) } }
                let outputs = JSONObject(sinks.map { ($0.id, result.outputs[$0.id] ?? .null) })
                return JSONValue.object(["task": .string(task), "outputs": .object(outputs)]).jsonText
            }
            let summary = result.failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            guard round < options.replans else { throw TaskError.failed(summary: summary, tried: tried) }
            onEvent?(.replanning(reason: summary))
            tried.append("re-planned after: \(summary.prefix(300))")
            do {
                graph = try await planner.plan(goal, feedback: summary, generate: generate)
            } catch let error as TaskError {
                tried.append("re-planning failed: \(error)")
                throw TaskError.failed(summary: summary, tried: tried)
            }
        }
        throw TaskError.failed(summary: "no plan succeeded", tried: tried)
    }

    /// Writes acceptance tests for every coder that has none, from its requirement (and the
    /// goal of the whole task) only, before any code exists.
    func writeTests(_ graph: TaskGraph, of goal: String, generate: RefineLoop.Generate) async throws -> TaskGraph {
        var graph = graph
        for index in graph.nodes.indices where graph.nodes[index].role == .coder && graph.nodes[index].tests == nil {
            let node = graph.nodes[index]
            let module = String(node.moduleName.dropLast(3))
            let request = GenerationRequest(
                messages: [
                    .system(Specialist.tester.instructions),
                    .user(
                        """
                        Requirement for the Python module \(module):
                        \(SubtaskProgram.requirement(node.goal, of: goal))

                        Write 2 to 5 acceptance tests as functions named test_... that import what they need with \
                        `from \(module) import ...` and check the behaviour with assert. Answer with one ```python code block.
                        """),
                ], sampling: .greedy(maxTokens: options.maxTokensPerStep))
            let tests = RefineLoop.extractCode(try await generate(request).text)
            guard tests.contains("def test") else {
                throw TaskError.planning("no acceptance tests could be written for subtask \(node.id) (the model wrote none)")
            }
            graph.nodes[index].tests = tests
        }
        return graph
    }

    struct GraphResult {
        var outputs: [String: JSONValue] = [:]
        var failures: [String: String] = [:]
        var tried: [String] = []
    }

    /// Runs every subtask whose inputs are ready, in parallel, until all passed or one
    /// failed for good (its dependants never start; running ones finish).
    func runGraph(
        _ graph: TaskGraph, of goal: String, task: String, owner: Principal, context: ProcessContext, children: ChildSet
    ) async throws -> GraphResult {
        var result = GraphResult()
        var started = Set<String>()
        var attempts: [String: Int] = [:]
        var notes: [String: String] = [:]
        var inbox: [PID: JSONValue] = [:]
        let orchestrator = context.pid
        try await withThrowingTaskGroup(of: (String, PID, ExitStatus).self) { group in
            func launch(_ node: TaskNode) async throws {
                attempts[node.id, default: 0] += 1
                let attempt = attempts[node.id]!
                let inputs = JSONObject(node.inputs.map { ($0, result.outputs[$0] ?? .null) })
                let skillsFound = try await retrieveSkills(for: node, of: goal, owner: owner)
                let program = SubtaskProgram(
                    node: node, whole: goal, inputs: inputs, parent: orchestrator, reflectOn: notes[node.id], skills: skillsFound,
                    runner: runner,
                    budget: options.refine, maxTokensPerStep: options.maxTokensPerStep)
                let pid = try await kernel.spawn(
                    name: "\(node.role.rawValue)-\(node.id)", owner: owner, parent: orchestrator, groups: node.role.groups,
                    quotas: options.nodeQuotas, task: node.goal
                ) { try await program.run(in: $0) }
                guard children.insert(pid), !Task.isCancelled else {
                    try? await kernel.signal(pid, .terminate, from: owner)
                    throw CancellationError()
                }
                try await store.setNode(task, node.id, state: attempt > 1 ? .retrying : .running, attempts: attempt, pid: Int(pid.rawValue))
                onEvent?(.started(node: node.id, role: node.role, pid: Int(pid.rawValue), attempt: attempt))
                let kernel = self.kernel
                group.addTask { (node.id, pid, try await kernel.wait(pid)) }
            }
            func launchReady() async throws {
                guard result.failures.isEmpty else { return }
                for node in graph.nodes where !started.contains(node.id) && node.inputs.allSatisfy({ result.outputs[$0] != nil }) {
                    started.insert(node.id)
                    try await launch(node)
                }
            }
            try await launchReady()
            while let (id, pid, status) = try await group.next() {
                try Task.checkCancellation()
                // The subtask's handoff arrived before it exited; take every message waiting.
                while let message = try await context.receive(timeout: .zero) { inbox[message.from] = message.body }
                let node = graph[id]!
                let message = inbox.removeValue(forKey: pid)
                let verdict = evaluate(node, status: status, message: message)
                let outcome = message?["outcome"]
                switch verdict {
                case .success(let value):
                    result.outputs[id] = value
                    try await store.setNode(task, id, state: .passed, output: value, outcome: outcome)
                    onEvent?(.finished(node: id, passed: true, detail: outcome?["summary"]?.stringValue ?? "handed over its result"))
                    try await keepSkill(node, of: goal, message: message, owner: owner, task: task)
                case .failure(let reason):
                    result.tried.append("\(id) attempt \(attempts[id]!): \(reason.prefix(300))")
                    try await store.setNode(task, id, state: .failed, outcome: outcome, error: reason)
                    onEvent?(.finished(node: id, passed: false, detail: String(reason.prefix(300))))
                    // Skills it was shown did not carry it: a skill that fails more than it helps is demoted.
                    for used in message?["skills"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                        try await skills?.recordUse(used, passed: false)
                    }
                    if case .killed = status {
                        result.failures[id] = reason
                    } else if attempts[id]! < options.attempts {
                        notes[id] = reason
                        try await launch(node)
                    } else {
                        result.failures[id] = reason
                    }
                }
                try await launchReady()
            }
        }
        return result
    }

    enum Verdict {
        case success(JSONValue)
        case failure(String)
    }

    /// Whether a subtask's exit and handoff make a result: it must have completed and sent
    /// a value that matches its output schema.
    func evaluate(_ node: TaskNode, status: ExitStatus, message: JSONValue?) -> Verdict {
        switch status {
        case .completed: break
        case .failed(let reason): return .failure(reason)
        case .killed: return .failure("it was killed")
        case .quotaExceeded(let which): return .failure("it ran out of \(which)")
        }
        guard let output = message?["output"] else { return .failure("it exited without handing over a result") }
        do {
            try JSONSchema(node.output).validate(output)
        } catch {
            return .failure(TaskError.handoff(node: node.id, reason: "\(error)").description)
        }
        return .success(output)
    }

    func retrieveSkills(for node: TaskNode, of whole: String, owner: Principal) async throws -> [Skill] {
        guard node.role == .coder, let skills else { return [] }
        return try await skills.retrieve(SubtaskProgram.requirement(node.goal, of: whole), owner: owner.name).map(\.0)
    }

    /// A coder that passed its acceptance tests becomes a skill; the skills it was shown
    /// are credited (a failure with them in the prompt counts against them).
    func keepSkill(_ node: TaskNode, of whole: String, message: JSONValue?, owner: Principal, task: String) async throws {
        guard node.role == .coder, let skills, let output = message?["output"], let code = output["code"]?.stringValue else { return }
        for used in message?["skills"]?.arrayValue?.compactMap(\.stringValue) ?? [] { try await skills.recordUse(used, passed: true) }
        try await skills.add(
            owner: owner.name, description: SubtaskProgram.requirement(node.goal, of: whole), module: node.moduleName, code: code,
            tests: node.tests.map { ["test_acceptance.py": $0] } ?? [:], provenance: "task \(task) subtask \(node.id)")
    }
}

/// A task that ended without success; `reason` includes what was tried.
public struct TaskRunError: Error, Sendable, CustomStringConvertible {
    public var task: String
    public var reason: String
    public var description: String { "task \(task): \(reason)" }
}

/// The orchestrator's children, which its cancellation handler terminates; once closed,
/// a child that was being spawned at that moment is reported so it is killed too.
final class ChildSet: Sendable {
    private let state = Mutex<(pids: Set<PID>, closed: Bool)>(([], false))

    /// Adds a child; false when the orchestrator is already going away.
    func insert(_ pid: PID) -> Bool {
        state.withLock {
            $0.pids.insert(pid)
            return !$0.closed
        }
    }

    /// Closes the set and returns every child.
    func close() -> Set<PID> {
        state.withLock {
            $0.closed = true
            return $0.pids
        }
    }
}
