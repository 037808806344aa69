import AnimaCore
import Foundation
import Testing

@testable import AnimaTools

#if canImport(Glibc)
import Glibc
#endif

/// A sandboxed process changes the workspace while the files tool (running as Anima, as
/// root) works in it. Swapping a folder with a symbolic link to a root-only host folder,
/// as fast as the kernel allows, must never let a read return the host's file or a write
/// land in the host's folder.
@Suite("Files tool race", .serialized)
struct FilesToolRaceTests {
    @Test(arguments: [false, true])
    func swappingAFolderForALinkNeverLeadsOutside(walking: Bool) async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let context = try fixture.context()
        let root = context.workspace.root
        let host = fixture.base + "/host"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try "HOST SECRET".write(toFile: host + "/secret.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root + "/d", withIntermediateDirectories: false)
        try "inside".write(toFile: root + "/d/secret.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/l", withDestinationPath: host)

        // renameat2(RENAME_EXCHANGE) in a loop: `d` is a folder one instant, a link to `host` the next.
        let swapper = Process()
        swapper.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        swapper.arguments = [
            "-c",
            """
            import ctypes, sys
            libc = ctypes.CDLL(None, use_errno=True)
            a, b = sys.argv[1].encode(), sys.argv[2].encode()
            while True:
                libc.renameat2(-100, a, -100, b, 2)
            """,
            root + "/d", root + "/l",
        ]
        try swapper.run()
        defer {
            // SIGKILL: Foundation starts children with SIGTERM blocked.
            kill(swapper.processIdentifier, SIGKILL)
            swapper.waitUntilExit()
        }

        var files = FilesTool()
        files.resolvesByWalking = walking
        var readsInside = 0
        var escapedReads = 0
        var writesInside = 0
        for attempt in 0..<1500 {
            let read = await files.call(["action": "read", "path": "d/secret.txt"], in: context)
            if read.text.contains("HOST SECRET") { escapedReads += 1 }
            if !read.isError, read.text == "inside" { readsInside += 1 }
            let name = "w\(attempt % 50).txt"
            let write = await files.call(["action": "write", "path": .string("d/\(name)"), "content": "planted"], in: context)
            if !write.isError { writesInside += 1 }
        }
        #expect(swapper.isRunning, "the swapping process stopped early, so the race was not run")
        let landed = try FileManager.default.contentsOfDirectory(atPath: host).filter { $0 != "secret.txt" }
        #expect(escapedReads == 0, "\(escapedReads) of 1500 reads returned the host's file")
        #expect(landed.isEmpty, "\(landed.count) writes landed in the host folder: \(landed.prefix(5))")
        // The tool still works between swaps: the race was real, not refused wholesale.
        #expect(readsInside > 0 && writesInside > 0, "reads \(readsInside), writes \(writesInside)")
    }
}
