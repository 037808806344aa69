import AnimaAutomation
import AnimaCommandSupport
import AnimaCore
import ArgumentParser
import Foundation

struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "Macro tasks started with `anima do`: list, show, rate.",
        discussion: """
            Examples:
              anima tasks list
              anima tasks show t-1a2b3c4d5e6f
              anima tasks rate t-1a2b3c4d5e6f up
            """,
        subcommands: [List.self, Show.self, Rate.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Your tasks, newest first.")
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var dataLocation: MemoryLocation

        func run() async throws {
            let store = try TaskStore(directory: dataLocation.directory)
            let tasks = try await store.list(owner: CurrentUser.principal.name)
            if json {
                print(JSONValue.array(tasks.map(TasksCommand.summary)).jsonText)
                return
            }
            guard !tasks.isEmpty else {
                print("No tasks yet. Start one with `anima do \"goal\"`.")
                return
            }
            for task in tasks {
                let rating = task.rating.map { $0 > 0 ? " +1" : " -1" } ?? ""
                print(
                    "\(task.id)  \(task.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))\(rating)  \(task.goal.prefix(70))"
                )
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A task's graph, each subtask's state and outcome, and its report.")
        @Argument(help: "The task's id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var dataLocation: MemoryLocation

        func run() async throws {
            let store = try TaskStore(directory: dataLocation.directory)
            let task = try await store.task(id, owner: CurrentUser.principal.name)
            if json {
                print(TasksCommand.detail(task).jsonText)
                return
            }
            print("\(task.id)  \(task.state.rawValue)  \(task.goal)")
            for node in task.nodes {
                let inputs = task.graph?[node.id]?.inputs ?? []
                let from = inputs.isEmpty ? "" : " ← \(inputs.joined(separator: ", "))"
                var line = "  \(node.id) (\(node.role.rawValue))\(from): \(node.state.rawValue), \(node.attempts) attempt(s)"
                if let passed = node.outcome?["tests_passed"]?.numberValue, let total = node.outcome?["tests_total"]?.numberValue {
                    line += ", tests \(Int(passed))/\(Int(total))"
                }
                if let error = node.error { line += "\n      \(error.prefix(300))" }
                print(line)
            }
            if let report = task.report { print("report: \(report.prefix(4000))") }
        }
    }

    struct Rate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether a task's result was good (up) or not (down).")
        @Argument(help: "The task's id.") var id: String
        @Argument(help: "up or down.") var verdict: String
        @OptionGroup var dataLocation: MemoryLocation

        func run() async throws {
            guard verdict == "up" || verdict == "down" else { throw ValidationError("the verdict must be up or down, not \(verdict)") }
            let store = try TaskStore(directory: dataLocation.directory)
            try await store.rate(id, owner: CurrentUser.principal.name, up: verdict == "up")
            print("rated \(id) \(verdict)")
        }
    }

    static func summary(_ task: TaskRecord) -> JSONValue {
        [
            "id": .string(task.id), "goal": .string(task.goal), "state": .string(task.state.rawValue),
            "rating": task.rating.map { .number(Double($0)) } ?? .null,
            "created": .string(ISO8601DateFormatter().string(from: task.created)),
        ]
    }

    static func detail(_ task: TaskRecord) -> JSONValue {
        var out = summary(task).objectValue ?? JSONObject()
        out["graph"] = task.graph?.json ?? .null
        out["report"] = task.report.map { .string($0) } ?? .null
        out["nodes"] = .array(
            task.nodes.map { node in
                [
                    "id": .string(node.id), "role": .string(node.role.rawValue), "state": .string(node.state.rawValue),
                    "attempts": .number(Double(node.attempts)), "output": node.output ?? .null, "outcome": node.outcome ?? .null,
                    "error": node.error.map { .string($0) } ?? .null, "rating": node.rating.map { .number(Double($0)) } ?? .null,
                ]
            })
        return .object(out)
    }
}
