import AnimaCore
import CSandbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads, writes, lists and searches files in the agent's workspace, and nowhere else.
///
/// It runs in Anima's process (no sandbox is needed to read a file) while sandboxed
/// processes change the same folder, so it never opens by host path: every path is
/// resolved beneath the workspace's open root (`WorkspaceDirectory`), `..`, absolute
/// paths and symbolic links anywhere in a path are refused, and only regular files are
/// read or written (a named pipe would block forever).
public struct FilesTool: Tool {
    /// The most bytes one read returns and one write accepts.
    public var maxBytes = 1 << 20
    /// The most matches a search returns.
    public var maxMatches = 200

    public init() {}

    public let name = "files"
    public let description = """
        Files in your workspace. Actions: read {path}, write {path, content} (creates folders), \
        list {path?}, search {pattern, path?} (plain text, line by line). Paths are relative to \
        the workspace; "..", absolute paths and symbolic links are refused. Example: {"action":"write","path":"notes/a.txt","content":"hi"}
        """
    public let parameters = JSONSchema.literal(
        """
        {"type":"object","properties":{
        "action":{"type":"string","enum":["read","write","list","search"]},
        "path":{"type":"string","maxLength":4096,"description":"Relative to the workspace"},
        "content":{"type":"string","description":"For write"},
        "pattern":{"type":"string","minLength":1,"maxLength":1000,"description":"For search"}},
        "required":["action"],"additionalProperties":false}
        """)
    public let effect = ToolEffect.write
    public var outputSource: ProvenanceSource { .file }
    public let needs: Set<ToolNeed> = [.workspace]

    /// Resolve paths without openat2, as on kernels before 5.6 (tests cover both ways).
    var resolvesByWalking = false

    public func perform(_ arguments: JSONValue, in context: ToolContext) async throws -> ToolResult {
        let directory = try WorkspaceDirectory(context.workspace, walk: resolvesByWalking)
        let path = arguments["path"]?.stringValue ?? ""
        switch arguments["action"]?.stringValue {
        case "read":
            guard !path.isEmpty else { throw ToolError.invalidArgument("read needs a path") }
            let fd = try directory.open(path, flags: O_RDONLY | O_NONBLOCK | O_NOCTTY)
            defer { close(fd) }
            let data = try readFile(fd, relative: path)
            return ToolResult(
                text: String(decoding: data, as: UTF8.self), value: ["path": .string(path), "bytes": .number(Double(data.count))])
        case "write":
            guard !path.isEmpty else { throw ToolError.invalidArgument("write needs a path") }
            guard let content = arguments["content"]?.stringValue else { throw ToolError.invalidArgument("write needs content") }
            guard content.utf8.count <= maxBytes else { throw ToolError.invalidArgument("content is over \(maxBytes) bytes") }
            let parent = try directory.parent(of: path, create: true)
            defer { close(parent.fd) }
            // No O_TRUNC until the file is known to be a regular file; O_NONBLOCK so a named pipe cannot hang the open.
            let fd = try directory.open(
                parent.name, beneath: parent.fd, flags: O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY, mode: 0o644, for: path)
            defer { close(fd) }
            try writeFile(fd, content: content, relative: path)
            directory.adopt(fd)
            return ToolResult(
                text: "wrote \(content.utf8.count) bytes to \(path)",
                value: ["path": .string(path), "bytes": .number(Double(content.utf8.count))])
        case "list":
            let fd = try directory.open(path, flags: O_RDONLY | O_DIRECTORY | O_NONBLOCK)
            var lines: [String] = []
            var entries: [JSONValue] = []
            for (entry, info) in try self.entries(of: fd, relative: path.isEmpty ? "." : path) {
                let kind = Self.kind(info)
                lines.append(
                    kind == "dir"
                        ? entry + "/"
                        : kind == "link" ? entry + "@" : kind == "special" ? entry + " (special file)" : "\(entry) (\(info.st_size) bytes)")
                entries.append(["name": .string(entry), "type": .string(kind), "size": .number(Double(info.st_size))])
            }
            return ToolResult(text: lines.isEmpty ? "(empty)" : lines.joined(separator: "\n"), value: ["entries": .array(entries)])
        case "search":
            guard let pattern = arguments["pattern"]?.stringValue else { throw ToolError.invalidArgument("search needs a pattern") }
            let fd = try directory.open(path, flags: O_RDONLY | O_NONBLOCK | O_NOCTTY)
            var matches: [String] = []
            let start = try WorkspaceDirectory.components(of: path).joined(separator: "/")
            search(fd, relative: start, pattern: pattern, directory: directory, depth: 0, into: &matches)
            let text = matches.isEmpty ? "no matches for \"\(pattern)\"" : matches.joined(separator: "\n")
            return ToolResult(text: text, value: ["matches": .array(matches.map { .string($0) })])
        default:
            throw ToolError.invalidArgument("action must be read, write, list or search")
        }
    }

    /// How a listing names a file's type; `special` is a named pipe, socket or device.
    static func kind(_ info: stat) -> String {
        switch info.st_mode & S_IFMT {
        case S_IFDIR: "dir"
        case S_IFLNK: "link"
        case S_IFREG: "file"
        default: "special"
        }
    }

    /// Reads an open file, refused unless it is a regular file within the size limit.
    private func readFile(_ fd: Int32, relative: String) throws(ToolError) -> [UInt8] {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .failed("could not read \(relative): \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw Self.notRegular(info, relative) }
        guard info.st_size <= maxBytes else {
            throw .failed("\(relative) is \(info.st_size) bytes; the limit is \(maxBytes). Use search, or the shell (head, tail)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var count = 0
        while count < bytes.count {
            let n = bytes[count...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .failed("could not read \(relative): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            count += n
        }
        return Array(bytes[..<count])
    }

    /// Replaces the content of an open file, refused unless it is a regular file.
    private func writeFile(_ fd: Int32, content: String, relative: String) throws(ToolError) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .failed("could not write \(relative): \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw Self.notRegular(info, relative) }
        guard ftruncate(fd, 0) == 0 else { throw .failed("could not write \(relative): \(String(cString: strerror(errno)))") }
        let bytes = Array(content.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .failed("could not write \(relative): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    private static func notRegular(_ info: stat, _ relative: String) -> ToolError {
        switch info.st_mode & S_IFMT {
        case S_IFDIR: .path("\(relative) is a folder, not a file; use list")
        case S_IFIFO: .path("\(relative) is a named pipe (FIFO), not a regular file; the files tool reads and writes only regular files")
        case S_IFSOCK: .path("\(relative) is a socket, not a regular file; the files tool reads and writes only regular files")
        default:
            .path("\(relative) is a device or other special file, not a regular file; the files tool reads and writes only regular files")
        }
    }

    /// The entries of the open folder `fd` (which this closes), sorted, each with its
    /// own `lstat`-style information, read relative to the folder.
    private func entries(of fd: Int32, relative: String) throws(ToolError) -> [(String, stat)] {
        guard let stream = fdopendir(fd) else {
            let code = errno
            close(fd)
            throw code == ENOTDIR
                ? .path("\(relative) is not a folder") : .failed("could not list \(relative): \(String(cString: strerror(code)))")
        }
        defer { closedir(stream) }
        var result: [(String, stat)] = []
        while let entry = readdir(stream) {
            var raw = entry.pointee.d_name
            let name = withUnsafePointer(to: &raw) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            guard name != ".", name != ".." else { continue }
            var info = stat()
            guard fstatat(dirfd(stream), name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            result.append((name, info))
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// Searches the open file or folder `fd` (which this closes), descending through
    /// folders by descriptor; symbolic links and special files are skipped.
    private func search(
        _ fd: Int32, relative: String, pattern: String, directory: WorkspaceDirectory, depth: Int, into matches: inout [String]
    ) {
        var info = stat()
        guard matches.count < maxMatches, depth < 64, fstat(fd, &info) == 0 else {
            close(fd)
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            let again = dup(fd)
            defer { if again >= 0 { close(again) } }
            guard again >= 0 else {
                close(fd)
                return
            }
            guard let children = try? entries(of: fd, relative: relative) else { return }
            for (name, child) in children where matches.count < maxMatches {
                let kind = child.st_mode & S_IFMT
                guard kind == S_IFDIR || kind == S_IFREG else { continue }
                let path = relative.isEmpty ? name : relative + "/" + name
                guard let opened = try? directory.open(name, beneath: again, flags: O_RDONLY | O_NONBLOCK | O_NOCTTY, for: path) else {
                    continue
                }
                search(opened, relative: path, pattern: pattern, directory: directory, depth: depth + 1, into: &matches)
            }
        case S_IFREG where info.st_size <= maxBytes:
            defer { close(fd) }
            guard let bytes = try? readFile(fd, relative: relative) else { return }
            for (number, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                .enumerated()
            where line.contains(pattern) {
                matches.append("\(relative):\(number + 1): \(line.prefix(300))")
                if matches.count >= maxMatches { return }
            }
        default:
            close(fd)
        }
    }
}
