import AnimaAutomation
import AnimaCore
import AnimaKernel
import AnimaStore
import Foundation

/// Workflow packages join the workflows of the data directory that holds the store: an
/// install or update adds each definition the package carries (as `anima workflow add`
/// would, owned by the installing user), a removal takes them away again.
///
/// Which workflows came from which package is kept in `<store>/workflows.json`, so a package
/// never replaces a workflow someone added by hand, and its update drops the definitions its
/// new release no longer carries.
enum StoreWorkflows {
    typealias Registered = [String: [String]]

    /// Why a package's workflows could not be added, and what to do.
    struct Problem: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func file(_ store: PackageStore) -> URL { store.directory.appendingPathComponent("workflows.json") }

    static func registered(_ store: PackageStore) -> Registered {
        guard let data = try? DurableFile.read(file(store)) else { return [:] }
        return (try? JSONDecoder().decode(Registered.self, from: data)) ?? [:]
    }

    static func save(_ registered: Registered, _ store: PackageStore) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try DurableFile.write(try encoder.encode(registered), to: file(store), mode: 0o600)
    }

    /// The workflows of the data directory that holds `store`.
    static func location(_ store: PackageStore) throws -> WorkflowLocation {
        try WorkflowLocation.parse(["--data-dir", store.directory.deletingLastPathComponent().path])
    }

    /// Registers the workflows of every workflow package among `installed`. A package that
    /// was not installed before (its name not in `before`) whose workflows cannot be
    /// registered (a definition that is not valid, a name taken by a workflow added by hand)
    /// is removed again, so nothing is half installed; the error says what to do.
    static func registerAll(_ installed: some Sequence<InstalledPackage>, store: PackageStore, before: Set<String>? = nil)
        async throws
    {
        for record in installed where record.kind == PackageManifest.Kind.workflow.rawValue {
            do {
                for (name, secret) in try await register(record.name, store: store) {
                    print("added workflow \(name) (from package \(record.name))")
                    if let secret {
                        print("webhook signing secret of \(name) (shown once here; keep it with the sender): \(secret)")
                    }
                }
            } catch {
                if let before, !before.contains(record.name) {
                    _ = try? await unregister(record.name, store: store)
                    try? store.remove(record.name)
                    throw Problem(
                        "\(record.name) was not installed: its workflows could not be added: \(error)")
                }
                throw error
            }
        }
    }

    /// Adds the verified package's definitions; returns each name with its webhook secret, if any.
    static func register(_ package: String, store: PackageStore) async throws -> [(String, String?)] {
        // Verified as before any load; a package that fails is named with its problem.
        let (packages, problems) = store.workflows()
        guard let content = packages.first(where: { $0.record.name == package }) else {
            throw Problem(problems.first { $0.hasPrefix("package \(package):") } ?? "package \(package) is not installed")
        }
        let location = try location(store)
        let workflows = try location.store()
        let engine = WorkflowEngine(store: workflows, actions: KernelStepActions(kernel: nil))
        let owner = try location.security.caller()
        var all = registered(store)
        let mine = Set(all[package] ?? [])
        // Parse everything before adding anything: one bad file adds none.
        var parsed: [(Workflow, String)] = []
        for file in content.workflowFiles {
            let text = try String(contentsOf: file, encoding: .utf8)
            let workflow: Workflow
            do { workflow = try Workflow(parsing: text) } catch {
                throw Problem("\(file.lastPathComponent) of package \(package) is not a valid workflow: \(error)")
            }
            if !mine.contains(workflow.name), try await workflows.workflow(named: workflow.name) != nil {
                let owner = all.first { $0.value.contains(workflow.name) }.map { "package \($0.key)" } ?? "`anima workflow add`"
                throw Problem(
                    "package \(package) carries workflow \(workflow.name), a name already taken (added by \(owner)); remove that workflow first (`anima workflow remove \(workflow.name)`)"
                )
            }
            parsed.append((workflow, text))
        }
        var added: [(String, String?)] = []
        for (workflow, text) in parsed {
            let (_, secret) = try await engine.add(text, owner: owner)
            added.append((workflow.name, secret))
        }
        // Definitions the previous release carried and this one does not are taken away.
        for gone in mine.subtracting(added.map(\.0)) { try? await engine.remove(gone, caller: owner) }
        all[package] = added.map(\.0).sorted()
        try save(all, store)
        return added
    }

    /// Removes the workflows `package` registered; returns their names.
    static func unregister(_ package: String, store: PackageStore) async throws -> [String] {
        var all = registered(store)
        guard let names = all[package], !names.isEmpty else { return [] }
        let location = try location(store)
        let engine = WorkflowEngine(store: try location.store(), actions: KernelStepActions(kernel: nil))
        let owner = try location.security.caller()
        for name in names {
            do {
                try await engine.remove(name, caller: owner)
            } catch {
                // Removed by hand already: nothing to take away.
                if case WorkflowError.unknownWorkflow = error {} else { throw error }
            }
        }
        all[package] = nil
        try save(all, store)
        return names
    }
}
