import Foundation

/// Reads a file under /proc whole. Such files report a size of 0, and Foundation's
/// `String(contentsOfFile:)` then returns what the kernel's first read gave, one page: a
/// process with many libraries or mounts lost the rest of /proc/self/maps or mountinfo.
public enum ProcFile {
    public static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data ?? Data(), as: UTF8.self)
    }
}
