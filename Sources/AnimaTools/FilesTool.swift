import AnimaCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads, writes, lists and searches files in the agent's workspace, and nowhere else.
///
/// It runs in Anima's process (no sandbox is needed to read a file), so every path goes
/// through `Workspace.resolve`, which refuses `..`, absolute paths and symbolic links
/// that lead outside, and files are opened without following a final symbolic link.
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
        the workspace; ".." and absolute paths are refused. Example: {"action":"write","path":"notes/a.txt","content":"hi"}
        """
    public let parameters = JSONSchema.literal("""
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

    public func perform(_ arguments: JSONValue, in context: ToolContext) async throws -> ToolResult {
        let workspace = context.workspace
        let path = arguments["path"]?.stringValue ?? ""
        switch arguments["action"]?.stringValue {
        case "read":
            guard !path.isEmpty else { throw ToolError.invalidArgument("read needs a path") }
            let file = try workspace.resolve(path, mustExist: true)
            let data = try readFile(file, relative: path)
            return ToolResult(text: String(decoding: data, as: UTF8.self), value: ["path": .string(path), "bytes": .number(Double(data.count))])
        case "write":
            guard !path.isEmpty else { throw ToolError.invalidArgument("write needs a path") }
            guard let content = arguments["content"]?.stringValue else { throw ToolError.invalidArgument("write needs content") }
            guard content.utf8.count <= maxBytes else { throw ToolError.invalidArgument("content is over \(maxBytes) bytes") }
            try createParents(of: path, in: workspace)
            let file = try workspace.resolve(path, mustExist: false)
            try writeFile(file, content: content, relative: path)
            workspace.adopt(file)
            return ToolResult(text: "wrote \(content.utf8.count) bytes to \(path)", value: ["path": .string(path), "bytes": .number(Double(content.utf8.count))])
        case "list":
            let directory = try workspace.resolve(path, mustExist: true)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            var lines: [String] = []
            var entries: [JSONValue] = []
            for entry in names.sorted() {
                var info = stat()
                guard lstat(directory + "/" + entry, &info) == 0 else { continue }
                let kind = (info.st_mode & S_IFMT) == S_IFDIR ? "dir" : (info.st_mode & S_IFMT) == S_IFLNK ? "link" : "file"
                lines.append(kind == "dir" ? entry + "/" : kind == "link" ? entry + "@" : "\(entry) (\(info.st_size) bytes)")
                entries.append(["name": .string(entry), "type": .string(kind), "size": .number(Double(info.st_size))])
            }
            return ToolResult(text: lines.isEmpty ? "(empty)" : lines.joined(separator: "\n"), value: ["entries": .array(entries)])
        case "search":
            guard let pattern = arguments["pattern"]?.stringValue else { throw ToolError.invalidArgument("search needs a pattern") }
            let start = try workspace.resolve(path, mustExist: true)
            var matches: [String] = []
            search(start, pattern: pattern, workspace: workspace, into: &matches)
            let text = matches.isEmpty ? "no matches for \"\(pattern)\"" : matches.joined(separator: "\n")
            return ToolResult(text: text, value: ["matches": .array(matches.map { .string($0) })])
        default:
            throw ToolError.invalidArgument("action must be read, write, list or search")
        }
    }

    private func readFile(_ file: String, relative: String) throws -> [UInt8] {
        let fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ToolError.failed("could not read \(relative): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw ToolError.failed("\(relative) is not a regular file") }
        guard info.st_size <= maxBytes else {
            throw ToolError.failed("\(relative) is \(info.st_size) bytes; the limit is \(maxBytes). Use search, or the shell (head, tail)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return Array(bytes[..<max(0, n)])
    }

    private func writeFile(_ file: String, content: String, relative: String) throws {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ToolError.failed("could not write \(relative): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(content.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw ToolError.failed("could not write \(relative): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    private func createParents(of relative: String, in workspace: Workspace) throws {
        let components = relative.split(separator: "/").dropLast()
        var prefix = ""
        for component in components {
            prefix += (prefix.isEmpty ? "" : "/") + component
            let directory = try workspace.resolve(prefix, mustExist: false)
            if mkdir(directory, 0o755) == 0 { workspace.adopt(directory) }
        }
    }

    private func search(_ path: String, pattern: String, workspace: Workspace, into matches: inout [String]) {
        var info = stat()
        guard matches.count < maxMatches, lstat(path, &info) == 0 else { return }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            for entry in ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() {
                search(path + "/" + entry, pattern: pattern, workspace: workspace, into: &matches)
            }
        case S_IFREG where info.st_size <= maxBytes:
            guard let bytes = try? readFile(path, relative: workspace.relative(path)) else { return }
            for (number, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains(pattern) {
                matches.append("\(workspace.relative(path)):\(number + 1): \(line.prefix(300))")
                if matches.count >= maxMatches { return }
            }
        default:
            return  // symbolic links and special files are not followed
        }
    }
}
