import AnimaCore
import Testing

@Suite("Clipping text a caller chose")
struct ClippedTests {
    @Test func shortTextIsWholeAndLongTextEndsInAnEllipsisAtTheLimit() {
        #expect("tool".clipped(120) == "tool")
        #expect(String(repeating: "a", count: 120).clipped(120).count == 120)
        let long = String(repeating: "é", count: 100_000).clipped(120)
        #expect(long.count == 120)
        #expect(long.hasSuffix("...") && long.hasPrefix("ééé"))
        // Characters, not bytes: 120 emoji are whole.
        #expect(String(repeating: "🦙", count: 120).clipped(120).count == 120)
        #expect(String(repeating: "🦙", count: 121).clipped(120).hasSuffix("🦙..."))
    }

    @Test func aLimitBelowTheEllipsisStillEnds() {
        #expect("abcdef".clipped(2) == "...")
        #expect("abcdef".clipped(0) == "...")
    }
}
