import AnimaCore
import Foundation
import Testing

@testable import AnimaTools

@Suite("Files tool")
struct FilesToolTests {
    @Test func writeReadListAndSearchInTheWorkspace() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let context = try fixture.context()
        let files = FilesTool()
        let wrote = await files.call(["action": "write", "path": "notes/todo.txt", "content": "buy milk\ncall bob\n"], in: context)
        #expect(!wrote.isError, "\(wrote.text)")
        #expect(try String(contentsOfFile: context.workspace.root + "/notes/todo.txt", encoding: .utf8) == "buy milk\ncall bob\n")
        let read = await files.call(["action": "read", "path": "notes/todo.txt"], in: context)
        #expect(read.text == "buy milk\ncall bob\n")
        let list = await files.call(["action": "list"], in: context)
        #expect(list.text == "notes/")
        let search = await files.call(["action": "search", "pattern": "bob"], in: context)
        #expect(search.text == "notes/todo.txt:2: call bob")
    }

    @Test func pathsOutsideTheWorkspaceAreRefused() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let context = try fixture.context()
        let other = try fixture.workspace("agent-b")
        try "b's secret".write(toFile: other.root + "/secret.txt", atomically: true, encoding: .utf8)
        let files = FilesTool()
        let attempts: [(JSONValue, String)] = [
            (["action": "read", "path": "../agent-b/secret.txt"], "\"..\""),
            (["action": "read", "path": "/etc/passwd"], "absolute"),
            (["action": "write", "path": "../escape.txt", "content": "x"], "\"..\""),
            (["action": "write", "path": "/tmp/escape.txt", "content": "x"], "absolute"),
            (["action": "list", "path": ".."], "\"..\""),
            (["action": "search", "pattern": "secret", "path": "a/../../agent-b"], "\"..\""),
        ]
        for (arguments, message) in attempts {
            let result = await files.call(arguments, in: context)
            #expect(result.isError, "\(arguments.jsonText)")
            #expect(result.text.contains(message), "\(result.text)")
            #expect(!result.text.contains("b's secret"))
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.base + "/escape.txt"))
    }

    @Test func symbolicLinksLeadingOutAreRefused() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let context = try fixture.context()
        let root = context.workspace.root
        let other = try fixture.workspace("agent-b")
        try "b's secret".write(toFile: other.root + "/secret.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/etc", withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: root + "/b", withDestinationPath: other.root + "/secret.txt")
        try FileManager.default.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: fixture.base + "/planted.txt")
        try "inside".write(toFile: root + "/real.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/alias", withDestinationPath: "real.txt")
        let files = FilesTool()
        let readEtc = await files.call(["action": "read", "path": "etc/hostname"], in: context)
        #expect(readEtc.isError)
        #expect(readEtc.text.contains("symbolic link"))
        let readB = await files.call(["action": "read", "path": "b"], in: context)
        #expect(readB.isError)
        #expect(!readB.text.contains("b's secret"))
        let writeThrough = await files.call(["action": "write", "path": "dangling", "content": "planted"], in: context)
        #expect(writeThrough.isError)
        #expect(!FileManager.default.fileExists(atPath: fixture.base + "/planted.txt"))
        let writeInto = await files.call(["action": "write", "path": "etc/evil.conf", "content": "x"], in: context)
        #expect(writeInto.isError)
        // Even a link that stays inside is refused: a link is what a race swaps in.
        let alias = await files.call(["action": "read", "path": "alias"], in: context)
        #expect(alias.isError)
        #expect(alias.text.contains("symbolic link"), "\(alias.text)")
    }

    @Test func badArgumentsAreErrorsForTheAgent() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let context = try fixture.context()
        let files = FilesTool()
        let unknown = await files.call(["action": "delete", "path": "x"], in: context)
        #expect(unknown.isError)
        #expect(unknown.text.contains("invalid arguments"))
        let noContent = await files.call(["action": "write", "path": "x.txt"], in: context)
        #expect(noContent.text.contains("write needs content"))
        let missing = await files.call(["action": "read", "path": "nope.txt"], in: context)
        #expect(missing.text.contains("does not exist"))
    }

    @Test func namedPipesAreRefusedAtOnceInsteadOfHanging() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let context = try fixture.context()
        let root = context.workspace.root
        #expect(mkfifo(root + "/pipe", 0o666) == 0)
        try "needle\n".write(toFile: root + "/plain.txt", atomically: true, encoding: .utf8)
        let files = FilesTool()
        let calls: [(JSONValue, String)] = [
            (["action": "read", "path": "pipe"], "named pipe"),
            (["action": "write", "path": "pipe", "content": "x"], "special file"),
            (["action": "search", "pattern": "needle"], "plain.txt:1: needle"),
            (["action": "list"], "pipe (special file)"),
        ]
        for (arguments, expected) in calls {
            // Opening a FIFO by the old route blocked until a writer came, forever.
            let result = await within(seconds: 20) { await files.call(arguments, in: context) }
            #expect(result != nil, "\(arguments.jsonText) did not return within 20 s")
            #expect(result?.text.contains(expected) == true, "\(arguments.jsonText): \(result?.text ?? "")")
        }
    }
}

/// `body`'s result, or nil when it has not finished after `seconds` (it is left running).
func within<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async -> T) async -> T? {
    let box = FirstResult<T>()
    return await withCheckedContinuation { continuation in
        box.continuation = continuation
        Task.detached { box.finish(await body()) }
        Task.detached {
            try? await Task.sleep(for: .seconds(seconds))
            box.finish(nil)
        }
    }
}

private final class FirstResult<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    var continuation: CheckedContinuation<T?, Never>?

    func finish(_ value: T?) {
        lock.lock()
        defer { lock.unlock() }
        guard !done, let continuation else { return }
        done = true
        continuation.resume(returning: value)
    }
}
