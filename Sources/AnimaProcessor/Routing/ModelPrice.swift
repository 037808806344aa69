import AnimaCore
import Foundation

/// What a model charges, in US dollars per million tokens.
public struct ModelPrice: Sendable, Hashable, Codable, CustomStringConvertible {
    public var inputPerMillion: Double
    public var outputPerMillion: Double

    public init(inputPerMillion: Double, outputPerMillion: Double) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
    }

    /// Local models, and servers the user runs: no charge per token.
    public static let free = ModelPrice(inputPerMillion: 0, outputPerMillion: 0)

    public var isFree: Bool { inputPerMillion == 0 && outputPerMillion == 0 }

    /// The charge for a generation that used `usage`.
    public func cost(of usage: Usage) -> Double {
        cost(promptTokens: usage.promptTokens, completionTokens: usage.completionTokens)
    }

    /// The charge for this many prompt and answer tokens.
    public func cost(promptTokens: Int, completionTokens: Int) -> Double {
        (Double(promptTokens) * inputPerMillion + Double(completionTokens) * outputPerMillion) / 1_000_000
    }

    public var description: String {
        isFree ? "free" : "$\(Self.format(inputPerMillion)) in / $\(Self.format(outputPerMillion)) out per 1M tokens"
    }

    static func format(_ dollars: Double) -> String {
        let cents = dollars * 100
        return cents == cents.rounded() ? String(format: "%.2f", dollars) : String(format: "%g", dollars)
    }
}
