import AnimaLlama
import AnimaProcessor
import Foundation
import Testing

@Suite struct LlamaEmbedderTests {
    struct Reference: Decodable {
        var sentences: [String]
        var token_ids: [[Int]]
        var embeddings: [[Float]]
    }

    @Test func matchesTheSentenceTransformersReferenceComputedFromTheSafetensors() async throws {
        let embedder = try await TestEmbedder.embedder()
        let data = try Data(contentsOf: URL(fileURLWithPath: TestEmbedder.referencePath))
        let reference = try JSONDecoder().decode(Reference.self, from: data)
        #expect(embedder.dimensions == 384)
        let vectors = try await embedder.embed(reference.sentences)
        for (i, sentence) in reference.sentences.enumerated() {
            #expect(embedder.countTokens(sentence) == reference.token_ids[i].count, "tokens of \(sentence)")
            let similarity = cosineSimilarity(vectors[i], reference.embeddings[i])
            #expect(similarity > 0.999, "\(sentence): cosine \(similarity) to the numpy reference")
        }
    }

    @Test func paraphrasesScoreHigherThanUnrelatedSentences() async throws {
        let embedder = try await TestEmbedder.embedder()
        let pairs: [(String, String, String)] = [
            ("My flight to Lisbon leaves on Friday morning.", "I fly to Lisbon early on Friday.", "The soup needs more salt."),
            ("How do I reset my password?", "I forgot my password and need to change it.", "Penguins live in the southern hemisphere."),
            ("The cat is sleeping on the sofa.", "A cat naps on the couch.", "Quarterly revenue grew by eight percent."),
            ("She is allergic to penicillin.", "Penicillin gives her an allergic reaction.", "The train to Zurich was late again."),
        ]
        for (a, paraphrase, unrelated) in pairs {
            let v = try await embedder.embed([a, paraphrase, unrelated])
            let close = cosineSimilarity(v[0], v[1])
            let far = cosineSimilarity(v[0], v[2])
            #expect(close > far + 0.3, "\(a): paraphrase \(close), unrelated \(far)")
        }
    }

    @Test func batchedVectorsAreUnitLengthAndEqualToOneAtATime() async throws {
        let embedder = try await TestEmbedder.embedder()
        let texts = (0..<40).map { "Sentence number \($0) talks about item \($0 * 7 % 13) in some detail." } + [""]
        let batched = try await embedder.embed(texts)
        #expect(batched.count == texts.count)
        for (i, text) in texts.enumerated() where i % 8 == 0 {
            let alone = try await embedder.embed(text)
            #expect(cosineSimilarity(alone, batched[i]) > 0.9999)
        }
        for v in batched {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
        }
        #expect(try await embedder.embed([]).isEmpty)
    }

    @Test func concurrentCallersShareTheEncoderAndGetTheirOwnResults() async throws {
        let embedder = try await TestEmbedder.embedder()
        let texts = (0..<16).map { "Caller \($0) asks about the weather in city \($0)." }
        let expected = try await embedder.embed(texts)
        let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (i, text) in texts.enumerated() { group.addTask { (i, try await embedder.embed(text)) } }
            var out: [Int: [Float]] = [:]
            for try await (i, v) in group { out[i] = v }
            return out
        }
        for i in texts.indices { #expect(cosineSimilarity(results[i]!, expected[i]) > 0.9999) }
    }

    @Test func longTextsAreTruncatedNotRejected() async throws {
        let embedder = try await TestEmbedder.embedder()
        let long = String(repeating: "memory paging keeps agents coherent ", count: 400)
        let v = try await embedder.embed(long)
        #expect(v.count == 384)
    }

    @Test func aMissingModelIsAClearError() async {
        await #expect(throws: ProcessorError.modelNotFound(path: "/nonexistent/model.gguf")) {
            _ = try await LlamaEmbedder.load(.init(modelPath: "/nonexistent/model.gguf"))
        }
    }
}
