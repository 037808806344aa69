import Foundation

/// An installed package's verified contents, for the part of Anima that uses its kind:
/// the toolbox (tool packages), the workflow list (workflow packages), the skill library
/// (skill packages).
public struct InstalledContent: Sendable {
    public var record: InstalledPackage
    public var manifest: PackageManifest
    /// The package's folder; its files are verified as of the lookup.
    public var directory: URL

    /// The package's files whose manifest role is `role`, by absolute path, in manifest order.
    public func files(role: String) -> [URL] {
        manifest.files.filter { $0.role == role }.map { directory.appendingPathComponent($0.path) }
    }

    /// The package's files that end in `.suffix`, by absolute path, in manifest order.
    public func files(suffix: String) -> [URL] {
        manifest.files.filter { $0.path.hasSuffix(suffix) }.map { directory.appendingPathComponent($0.path) }
    }
}

extension PackageStore {
    /// The installed packages of `kind`, each verified as before a load; one that fails
    /// is left out and its problem returned (with what to do), so one damaged package
    /// costs its own entry, not the list.
    public func contents(of kind: PackageManifest.Kind, now: Date = Date()) -> (packages: [InstalledContent], problems: [String]) {
        let records: [InstalledPackage]
        do {
            records = try list().filter { $0.kind == kind.rawValue }
        } catch {
            return ([], ["the package store: \(error.description)"])
        }
        var packages: [InstalledContent] = []
        var problems: [String] = []
        for record in records {
            do {
                let (checked, verified) = try verifyForLoad(record.name, now: now)
                packages.append(InstalledContent(record: checked, manifest: verified.manifest, directory: verified.directory))
            } catch {
                problems.append("package \(record.name): \(error.description)")
            }
        }
        return (packages, problems)
    }

    /// Installed skill packages, verified: where the skill library finds the skills the
    /// store installed (their files with role `skill`, or all their files).
    public func skills(now: Date = Date()) -> (packages: [InstalledContent], problems: [String]) { contents(of: .skill, now: now) }

    /// Installed workflow packages, verified; each holds its definitions as files with role
    /// `workflow` (or, without roles, its `.json` files).
    public func workflows(now: Date = Date()) -> (packages: [InstalledContent], problems: [String]) {
        contents(of: .workflow, now: now)
    }
}

extension InstalledContent {
    /// A workflow package's definition files: those with role `workflow`, else its `.json` files.
    public var workflowFiles: [URL] {
        let marked = files(role: "workflow")
        return marked.isEmpty ? files(suffix: ".json") : marked
    }
}
