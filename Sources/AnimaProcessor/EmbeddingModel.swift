/// A model that turns text into vectors whose cosine similarity tracks similarity of
/// meaning: the memory layer's way of finding what a query is about.
public protocol EmbeddingModel: Sendable {
    /// A short name, such as the GGUF file name without its extension.
    var name: String { get }
    /// Width of every vector this model returns.
    var dimensions: Int { get }

    /// One unit-length vector per text, in order. Texts longer than the model's context
    /// are truncated to it.
    func embed(_ texts: [String]) async throws -> [[Float]]

    /// The number of tokens `text` costs this model, or nil when it cannot say cheaply
    /// (callers then estimate).
    func tokenCount(of text: String) -> Int?
}

extension EmbeddingModel {
    public func tokenCount(of text: String) -> Int? { nil }

    /// The unit-length vector of one text.
    public func embed(_ text: String) async throws -> [Float] {
        try await embed([text])[0]
    }
}

/// Cosine similarity of two vectors of equal width (the dot product, for unit vectors).
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "vectors of different widths")
    var dot: Float = 0, na: Float = 0, nb: Float = 0
    for i in a.indices {
        dot += a[i] * b[i]
        na += a[i] * a[i]
        nb += b[i] * b[i]
    }
    return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
}
