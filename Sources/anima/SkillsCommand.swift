import AnimaAutomation
import AnimaCommandSupport
import AnimaCore
import ArgumentParser
import Foundation

struct SkillsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skills",
        abstract: "Verified solutions kept from earlier tasks: list, show, forget, export.",
        discussion: """
            A coding subtask whose acceptance tests passed is kept as a skill. A later
            task whose requirement is close to its description (by meaning, with the
            embedding model setup installs, and by words) is shown it from its first
            retry on, and its code is put beside theirs in the sandbox as
            skill_<function>.py, a module it may import. A skill that fails more often
            than it helps is demoted and no longer offered.

            Examples:
              anima skills list
              anima skills show s-1a2b3c4d5e6f
              anima skills forget s-1a2b3c4d5e6f
              anima skills export > skills.json
            """,
        subcommands: [List.self, Show.self, Forget.self, Export.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Your skills, newest first.")
        @OptionGroup var dataLocation: MemoryLocation

        func run() async throws {
            let skills = try await SkillLibrary(directory: dataLocation.directory).list(owner: CurrentUser.principal.name)
            guard !skills.isEmpty else {
                print("No skills yet: they are kept from `anima do` subtasks that pass their tests.")
                return
            }
            for skill in skills {
                let mark = skill.isDemoted ? " (demoted)" : ""
                print("\(skill.id)  +\(skill.successes)/-\(skill.failures)\(mark)  \(skill.description.prefix(70))")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A skill's description, code, tests and provenance.")
        @Argument(help: "The skill's id.") var id: String
        @OptionGroup var dataLocation: MemoryLocation

        func run() async throws {
            let skill = try await SkillLibrary(directory: dataLocation.directory).skill(id, owner: CurrentUser.principal.name)
            print("\(skill.id): \(skill.description)\nfrom: \(skill.provenance)\nuses: +\(skill.successes)/-\(skill.failures)")
            print("--- \(skill.module)\n\(skill.code)")
            for (name, text) in skill.tests.sorted(by: { $0.key < $1.key }) { print("--- \(name)\n\(text)") }
        }
    }

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a skill for good.")
        @Argument(help: "The skill's id.") var id: String
        @OptionGroup var dataLocation: MemoryLocation

        func run() async throws {
            try await SkillLibrary(directory: dataLocation.directory).forget(id, owner: CurrentUser.principal.name)
            print("forgot \(id)")
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print all your skills as JSON.")
        @OptionGroup var dataLocation: MemoryLocation

        func run() async throws {
            print(try await SkillLibrary(directory: dataLocation.directory).export(owner: CurrentUser.principal.name).jsonText)
        }
    }
}
