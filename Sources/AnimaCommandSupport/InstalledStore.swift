import AnimaStore
import Foundation

/// The package store of a data directory, as every command that uses installed packages
/// opens it: `<data>/store`, recording its changes and refusals in `<data>/audit.log`.
package enum InstalledStore {
    package static func at(_ directory: URL) throws -> PackageStore {
        PackageStore(
            directory: directory.appendingPathComponent("store"),
            audit: try StoreAudit(dataDirectory: directory.path, owner: CurrentUser.principal.name))
    }
}
