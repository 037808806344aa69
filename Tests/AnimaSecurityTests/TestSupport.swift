import AnimaCore
import Foundation

/// A fresh directory under the system's temporary directory, removed by the caller.
func temporaryDirectory(_ name: String = #function) -> String {
    let path = NSTemporaryDirectory() + "anima-security-\(name.filter(\.isLetter))-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

let auditor = Principal(name: "ana", groups: ["users", "logs"])
let outsider = Principal(name: "eve", groups: ["users"])
