import Testing

@testable import AnimaLlama
@testable import AnimaProcessor

@Suite("TokenCache")
struct TokenCacheTests {
    typealias Key = TokenCache.Key

    @Test func keysDifferByTextAndFlags() {
        var cache = TokenCache()
        cache.insert([1, 2], for: Key(text: "<|im_start|>", addSpecial: false, parseSpecial: true))
        #expect(cache.tokens(for: Key(text: "<|im_start|>", addSpecial: false, parseSpecial: true)) == [1, 2])
        // The same text read as content (special tokens stay text) is another entry.
        #expect(cache.tokens(for: Key(text: "<|im_start|>", addSpecial: false, parseSpecial: false)) == nil)
        #expect(cache.tokens(for: Key(text: "<|im_start|>", addSpecial: true, parseSpecial: true)) == nil)
    }

    @Test func memoryIsBoundedAndRecentlyUsedEntriesSurvive() {
        var cache = TokenCache(byteLimit: 1000)
        let kept = Key(text: "the system prefix", addSpecial: true, parseSpecial: false)
        cache.insert([7], for: kept)
        for i in 0..<500 {
            cache.insert([Int32(i)], for: Key(text: "message \(i) of a long conversation", addSpecial: false, parseSpecial: false))
            // Used on every request, as a system prefix is.
            #expect(cache.tokens(for: kept) == [7])
        }
        #expect(cache.tokens(for: Key(text: "message 0 of a long conversation", addSpecial: false, parseSpecial: false)) == nil)
        #expect(cache.tokens(for: Key(text: "message 499 of a long conversation", addSpecial: false, parseSpecial: false)) == [499])
    }

    @Test func longTextsAreNotKept() {
        var cache = TokenCache()
        let long = Key(text: String(repeating: "x", count: TokenCache.longestText + 1), addSpecial: false, parseSpecial: false)
        cache.insert([1], for: long)
        #expect(cache.tokens(for: long) == nil)
    }
}
