/// Why the calculator refused an expression, with where and what to do.
public struct CalculatorError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// The character offset in the expression, when the error has a place.
    public var offset: Int?

    init(_ message: String, at offset: Int? = nil) {
        self.message = message
        self.offset = offset
    }

    public var description: String {
        offset.map { "\(message) (at character \($0 + 1))" } ?? message
    }
}
