import AnimaAutomation
import AnimaCore
import AnimaStore
import Foundation

/// The skills of installed skill packages, for the skill library that `anima do` retrieves
/// from: each package verified as before any load, its files with role `skill` (without
/// roles, its `.json` files) read as skill documents, the form `anima skills export` writes:
/// an object, or an array of objects, with `description`, `module`, `code` and optionally
/// `tests` (file name → source).
package enum PackagedSkills {
    /// The skills, and why any package or file was left out (with what to do).
    package static func load(store: PackageStore) -> (skills: [Skill], problems: [String]) {
        let (packages, problems) = store.skills()
        var skills: [Skill] = []
        var all = problems
        for package in packages {
            let marked = package.files(role: "skill")
            let files = marked.isEmpty ? package.files(suffix: ".json") : marked
            for file in files {
                do {
                    let found = try documents(file, package: package)
                    skills += found
                } catch {
                    all.append(
                        "package \(package.record.name): \(file.lastPathComponent) is left out: \(error); ask its publisher for a fixed release"
                    )
                }
            }
        }
        return (skills, all)
    }

    /// The skills of the packages installed in a data directory (`<data>/store`).
    package static func load(dataDirectory: URL) -> (skills: [Skill], problems: [String]) {
        do {
            return load(store: try InstalledStore.at(dataDirectory))
        } catch {
            return ([], ["the installed skill packages are left out: \(error)"])
        }
    }

    /// Offers the data directory's installed skills to `library`; problems go to standard error.
    package static func offer(to library: SkillLibrary, dataDirectory: URL) async throws {
        let (skills, problems) = load(dataDirectory: dataDirectory)
        for problem in problems { Terminal.error("warning: \(problem)\n") }
        try await library.offer(skills)
    }

    struct NotASkill: Error, CustomStringConvertible {
        var description: String
    }

    static func documents(_ file: URL, package: InstalledContent) throws -> [Skill] {
        let data = try Data(contentsOf: file)
        guard data.count <= 4 << 20 else { throw NotASkill(description: "it is over 4 MiB") }
        let json: JSONValue
        do { json = try JSONValue(parsing: String(decoding: data, as: UTF8.self)) } catch {
            throw NotASkill(description: "it is not JSON (\(error))")
        }
        let objects = json.arrayValue ?? [json]
        return try objects.enumerated().map { i, object in
            func text(_ key: String) throws -> String {
                guard let value = object[key]?.stringValue, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw NotASkill(description: "skill \(i + 1) has no \(key) (a non-empty string)")
                }
                return value
            }
            var tests: [String: String] = [:]
            for (name, source) in object["tests"]?.objectValue ?? JSONObject() {
                guard let source = source.stringValue else { throw NotASkill(description: "skill \(i + 1): test \(name) is not a string") }
                tests[name] = source
            }
            let r = package.record
            return Skill(
                id: "pkg-\(r.name)-\(i + 1)", owner: "package:\(r.name)", description: try text("description"), module: try text("module"),
                code: try text("code"), tests: tests,
                provenance: "package \(r.name) \(r.version) by \(r.publisher), root digest \(r.rootDigest.prefix(16))",
                created: r.installedAt)
        }
    }
}
