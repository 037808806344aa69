import AnimaCore
import Foundation
import Testing

@Suite("Reading /proc files whole")
struct ProcFileTests {
    /// The test process maps dozens of libraries: its maps run past the first page, which is
    /// all `String(contentsOfFile:)` returned, and the stack's mapping comes near the end.
    @Test func theMapsOfThisProcessComeWhole() throws {
        let maps = try #require(ProcFile.read("/proc/self/maps"))
        #expect(maps.utf8.count > 4096)
        #expect(maps.contains("[stack]"))
        #expect(maps.hasSuffix("\n"))
    }

    @Test func aMissingFileIsNil() {
        #expect(ProcFile.read("/proc/self/no-such-file") == nil)
    }
}
