import CLlama

/// Closing a constrained structure before the token budget runs out.
///
/// A grammar bounds a call's shape, not the length of its strings: a small model that
/// repeats itself inside an argument reaches `maxTokens` mid-string, and the call is lost
/// as malformed text. In the last `reserve` tokens of a call or a JSON answer, the next
/// token is the likeliest one the grammar allows that only closes (quotes, braces,
/// brackets, the end of the turn), or when none does the likeliest it allows that is not
/// only blanks (SmolLM2 pads a call with spaces, which would spend the reserve); required
/// properties still come, since the grammar demands them. The output is then a complete
/// value; when a choice differed from the model's own, the generation reports `length`,
/// so nobody mistakes a shortened argument for the model's whole one.
enum WrapUp {
    /// Tokens set aside to close a structure: enough for the closing marks, the required
    /// properties of a tool's arguments not yet written, and the tag.
    static func reserve(maxTokens: Int) -> Int { min(32, maxTokens / 4) }

    /// What a token does for closing a structure.
    enum Kind: Int {
        /// Its text, blanks aside, is made of `"`, `}` and `]`; or it ends the turn.
        case closes
        /// Only blanks (or nothing).
        case blank
        case other
    }

    /// The `Kind` of each token of `model`'s vocabulary.
    static func kinds(_ model: LlamaModel) -> [Kind] {
        let closing: Set<UInt8> = [UInt8(ascii: "\""), UInt8(ascii: "}"), UInt8(ascii: "]")]
        let blank: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        return (0..<model.vocabularySize).map { token in
            if model.isEndOfGeneration(token) { return .closes }
            let marks = model.piece(token).filter { !blank.contains($0) }
            return marks.isEmpty ? .blank : marks.allSatisfy(closing.contains) ? .closes : .other
        }
    }

    /// The next token from `logits` under `grammar` (which is applied here, not advanced),
    /// and whether it differs from the likeliest token the grammar allows. Nil when the
    /// grammar allows nothing.
    static func pick(
        logits: UnsafePointer<Float>, grammar: UnsafeMutablePointer<llama_sampler>, kinds: [Kind],
        excluding excluded: (llama_token) -> Bool
    ) -> (token: llama_token, steered: Bool)? {
        var candidates = (0..<kinds.count).map { llama_token_data(id: llama_token($0), logit: logits[$0], p: 0) }
        candidates.withUnsafeMutableBufferPointer { buffer in
            var array = llama_token_data_array(data: buffer.baseAddress, size: buffer.count, selected: -1, sorted: false)
            llama_sampler_apply(grammar, &array)
        }
        var likeliest: llama_token_data?
        var best = [llama_token_data?](repeating: nil, count: 3)  // by `Kind`
        for candidate in candidates where candidate.logit > -Float.infinity && !excluded(candidate.id) {
            if likeliest == nil || candidate.logit > likeliest!.logit { likeliest = candidate }
            let kind = kinds[Int(candidate.id)].rawValue
            if best[kind] == nil || candidate.logit > best[kind]!.logit { best[kind] = candidate }
        }
        guard let likeliest else { return nil }
        let chosen = best[Kind.closes.rawValue] ?? best[Kind.other.rawValue] ?? likeliest
        return (chosen.id, chosen.id != likeliest.id)
    }
}
