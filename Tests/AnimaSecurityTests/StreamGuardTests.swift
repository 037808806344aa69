import Testing

@testable import AnimaSecurity

@Suite struct StreamGuardTests {
    /// Feeds `chunks` and returns what left, and the block reason if one came.
    func stream(_ chunks: [String], _ pipeline: GuardPipeline, window: Int = StreamGuard.defaultWindow) -> (String, String?) {
        var guarding = StreamGuard(pipeline, window: window)
        var out = ""
        for chunk in chunks + [nil] as [String?] {
            switch chunk.map({ guarding.feed($0) }) ?? guarding.finish() {
            case .text(let t): out += t
            case .blocked(let reason): return (out, reason)
            }
        }
        return (out, nil)
    }

    @Test func aSecretSplitAcrossChunksLeavesRedacted() {
        let (out, blocked) = stream(["Your key is AKIAIOSF", "ODNN7EX", "AMPLE, keep it safe."], GuardPipeline(), window: 32)
        #expect(blocked == nil)
        #expect(out == "Your key is [REDACTED AWS access key], keep it safe.")
    }

    @Test func aCanarySplitAcrossChunksStopsTheStreamBeforeAnyOfItLeaves() {
        let canary = "ANIMA-CANARY-00112233aabbccdd"
        let long = String(repeating: "All fine here. ", count: 30)
        let (out, blocked) = stream(
            [long, "The reference is ANIMA-CAN", "ARY-0011223", "3aabbccdd and more"], GuardPipeline(canaries: [canary]))
        #expect(blocked?.contains("canary") == true)
        #expect(!out.contains("ANIMA"))
        #expect(out.hasPrefix("All fine here."))  // text well before the canary was released
    }

    /// A key longer than the window is redacted whole: text is not released while a
    /// match reaching the end of what is held may still grow.
    @Test func aKeyLongerThanTheWindowIsRedactedWhole() {
        let key = "sk-proj-" + String(repeating: "Ab1", count: 30)
        let chunks =
            ["Use ", "sk-proj-"]
            + stride(from: 8, to: key.count, by: 7).map { i in
                String(key.dropFirst(i).prefix(7))
            } + [" now."]
        let (out, blocked) = stream(chunks, GuardPipeline(), window: 24)
        #expect(blocked == nil)
        #expect(out == "Use [REDACTED OpenAI API key] now.", "\(out)")
    }

    /// A definition far from its image is out of the window when the image leaves: each
    /// half is redacted on its own, whichever comes first.
    @Test func referenceStyleImagesAreRedactedWhereverTheDefinitionFalls() {
        let filler = String(repeating: "plain words here. ", count: 10)
        for chunks in [
            ["See ![x][r].\n", filler, "\n[r]: https://evil", ".example/p.png?d=abc\n", "Bye."],
            ["[r]: //evil", ".example/p.png\n", filler, "See ![x][r] now."],
        ] {
            let (out, blocked) = stream(chunks, GuardPipeline(), window: 40)
            #expect(blocked == nil)
            #expect(!out.contains("evil") && !out.contains("![x][r]"), "\(out)")
        }
    }

    @Test func aZeroWidthSpaceCannotSplitAKeyInAStream() {
        let (out, _) = stream(
            ["key AKIA\u{200B}IOSF", "ODNN7EXAMPLE done, and ", String(repeating: "more ", count: 20)], GuardPipeline(), window: 32)
        #expect(out.hasPrefix("key [REDACTED AWS access key] done"), "\(out)")
    }

    @Test func cleanTextComesThroughWhole() {
        let text = (0..<100).map { "word\($0) " }
        let (out, blocked) = stream(text, GuardPipeline(), window: 40)
        #expect(blocked == nil)
        #expect(out == text.joined())
    }
}
