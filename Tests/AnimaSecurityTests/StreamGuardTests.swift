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

/// What leaves when: text in which no match can be under way leaves as it arrives (the
/// first word of an answer is not held back 256 characters), and only a possible start of
/// one is held until it is settled.
@Suite struct StreamGuardLatencyTests {
    func released(_ chunks: [String], _ pipeline: GuardPipeline = GuardPipeline()) -> [String] {
        var guarding = StreamGuard(pipeline)
        return chunks.map { chunk in
            switch guarding.feed(chunk) {
            case .text(let t): t
            case .blocked(let reason): "<blocked: \(reason)>"
            }
        }
    }

    @Test func plainWordsLeaveAsTheyArrive() {
        let words = ["The", " capital", " of", " France", " is", " Paris", ".", " It", " has", " 2.1", " million", " people", "."]
        #expect(released(words) == words)
    }

    @Test func aPossibleKeyIsHeldUntilSettled() {
        #expect(released(["Use AK", "ron", " today"]) == ["Use ", "AKron", " today"])
        #expect(released(["Use AK", "IAIOSFODNN7EX", "AMPLE now", "."]) == ["Use ", "", "[REDACTED AWS access key] now", "."])
        #expect(released(["token sk-", "proj-", "abc", " is short"]) == ["token ", "", "", "sk-proj-abc is short"])
    }

    @Test func aCanaryPrefixIsHeldAndTheCanaryBlocks() {
        let pipeline = GuardPipeline(canaries: ["ANIMA-CANARY-00112233aabbccdd"])
        let out = released(["ref ANIMA-", "CANARY-0011", "2233aabbccdd"], pipeline)
        #expect(out[0] == "ref " && out[1] == "" && out[2].hasPrefix("<blocked"), "\(out)")
        #expect(released(["ref ANIMA-", "CAT"], pipeline) == ["ref ", "ANIMA-CAT"])
    }

    /// A plain reference or the guard's own marker (`[REDACTED …]`) holds nothing back; an image
    /// reference and a link definition are held as long as the window (they are judged together).
    @Test func imageReferencesAndDefinitionsAreHeldPlainReferencesAreNot() {
        #expect(released(["See [1] and", " more."]) == ["See [1] and", " more."])
        let image = released(["See ![r] and", " more."])  // an image if a definition of r follows
        #expect(image == ["See ", ""], "\(image)")
        #expect(released(["See ![x][r] and"]) == ["See [REDACTED markdown image reference to a remote URL] and"])
    }

    @Test func anImageLinkIsHeldUntilItIsWhole() {
        let out = released(["See ![chart](", "https://evil.example/p.png?d=", "secret) ok", "."])
        #expect(out[0] == "See " && out[1] == "", "\(out)")
        #expect(!out.joined().contains("evil"), "\(out)")
    }

    /// What the policy lets through is not waited for: with secrets allowed on the way out,
    /// a key's first letters leave at once.
    @Test func onlyWhatThePolicyActsOnIsWaitedFor() {
        var policy = GuardPolicy.standard
        policy.output[.secret] = .allow
        #expect(released(["Use AK", "IA"], GuardPipeline(policy: policy)) == ["Use AK", "IA"])
    }

    /// A zero-width space inside a key's start does not hide it from the wait.
    @Test func anInvisibleCharacterDoesNotHideAStart() {
        let out = released(["key AK\u{200B}I", "AIOSFODNN7EXAMPLE", " done."])
        #expect(out[0] == "key ", "\(out)")
        #expect(!out.joined().contains("IOSF"), "\(out)")
    }

    /// A chunk far longer than the window (a remote provider may send large ones) is asked
    /// about its last window only: all of it but a possible start leaves at once.
    @Test func aLongChunkLeavesButItsPossibleStart() {
        let text = String(repeating: "Plain words and numbers 12 then more. ", count: 3_000)
        #expect(released([text + "Use AK"]) == [text + "Use "])
    }
}
