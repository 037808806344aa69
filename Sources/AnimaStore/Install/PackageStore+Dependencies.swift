import AnimaCore
import Foundation

extension PackageStore {
    /// The entries to install for `name`, its dependencies first: every package it needs
    /// (through any number of steps) that is not installed at the version asked for, each
    /// the newest the same signed index offers.
    ///
    /// - Throws: `StoreError.dependency` naming the chain of a cycle, a dependency the
    ///   registry does not offer, or one it offers only older than needed.
    public func installPlan(_ name: String, in index: RegistryIndex) throws(StoreError) -> [RegistryIndex.Entry] {
        guard let root = index.latest(name) else { throw .notFound(name) }
        var plan: [RegistryIndex.Entry] = []
        var done = Set<String>()
        var path: [String] = []
        func visit(_ entry: RegistryIndex.Entry) throws(StoreError) {
            if done.contains(entry.name) { return }
            if let start = path.firstIndex(of: entry.name) {
                throw .dependency(
                    "\((path[start...] + [entry.name]).joined(separator: " → ")) is a cycle; the publisher must break it")
            }
            path.append(entry.name)
            for requirement in entry.dependencies ?? [] {
                let minimum = requirement.minimumVersion.flatMap(PackageVersion.init)
                if let have = try installed(requirement.name), let version = PackageVersion(have.version),
                    version >= minimum ?? version
                {
                    continue
                }
                let wanted = "\(requirement.name)\(minimum.map { " \($0) or newer" } ?? "")"
                guard let offered = index.latest(requirement.name) else {
                    throw .dependency("\(wanted), needed by \(entry.name), is not in the registry")
                }
                if let minimum, let version = PackageVersion(offered.version), version < minimum {
                    throw .dependency(
                        "\(entry.name) needs \(wanted), but the registry's newest is \(offered.version); ask its publisher for a newer release"
                    )
                }
                try visit(offered)
            }
            path.removeLast()
            done.insert(entry.name)
            plan.append(entry)
        }
        try visit(root)
        return plan
    }

    /// Installs `name` from `source` with every dependency it lacks, dependencies first
    /// (each verified and granted like any install); returns what was installed, in order.
    /// A failure stops there: what was installed before it stays, verified and usable.
    public func installResolving(
        _ name: String, from source: RegistrySource, grant: Grant,
        progress: (RegistryIndex.Entry, Int64, Int64) -> Void = { _, _, _ in }, now: Date = Date()
    ) async throws(StoreError) -> [InstalledPackage] {
        let index = try await self.index(from: source, now: now)
        return try await installResolving(name, in: index, from: source, grant: grant, progress: progress, now: now)
    }

    /// Installs (or updates to) the newest release of `name` in an index already fetched and
    /// verified, with every dependency that release needs and this machine lacks, dependencies
    /// first: how `anima store update` brings in what a new version newly depends on.
    public func installResolving(
        _ name: String, in index: RegistryIndex, from source: RegistrySource, grant: Grant,
        progress: (RegistryIndex.Entry, Int64, Int64) -> Void = { _, _, _ in }, now: Date = Date()
    ) async throws(StoreError) -> [InstalledPackage] {
        let plan: [RegistryIndex.Entry]
        do {
            plan = try installPlan(name, in: index)
        } catch {
            audit?.refused(name, error)
            throw error
        }
        var installed: [InstalledPackage] = []
        for entry in plan {
            installed.append(try await install(entry, from: source, grant: grant, progress: { progress(entry, $0, $1) }, now: now))
        }
        return installed
    }
}
