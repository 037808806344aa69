import AnimaCore
import AnimaProcessor
import Foundation

/// When and how often a provider request is tried again: on HTTP 429 (rate limited), on
/// 5xx answers (including Anthropic's 529, overloaded) and on connections that failed
/// before any answer. Waits grow exponentially with random jitter, and a server's
/// `Retry-After` (or `retry-after-ms`) is honoured up to `maxDelay`.
///
/// Retries happen only before a response starts: once a stream has begun, a failure is
/// reported instead, because repeating the request would repeat the answer.
public struct RetryPolicy: Sendable, Hashable, Codable {
    /// Attempts in all, the first one included. Default 3.
    public var maxAttempts: Int
    /// The wait before the second attempt, in seconds. Default 0.5.
    public var baseDelay: Double
    /// The longest wait between attempts, in seconds. Default 8.
    public var maxDelay: Double

    public init(maxAttempts: Int = 3, baseDelay: Double = 0.5, maxDelay: Double = 8) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// One attempt, no retries.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// Whether an answer with this status is worth another attempt.
    public static func isRetryable(status: Int) -> Bool {
        status == 408 || status == 429 || (500...599).contains(status)
    }

    /// The wait before attempt `attempt + 1` (attempts count from 1), given what the
    /// server asked for, if anything.
    public func delay(afterAttempt attempt: Int, retryAfter: Double?, random: Double = Double.random(in: 0...1)) -> Double {
        if let retryAfter, retryAfter >= 0 { return min(retryAfter, maxDelay) }
        let exponential = baseDelay * pow(2, Double(max(0, attempt - 1)))
        // "Equal jitter": at least half the exponential wait, so retries still back off.
        let capped = min(exponential, maxDelay)
        return capped / 2 + capped / 2 * random
    }

    /// Reads `retry-after-ms` (milliseconds) or `Retry-After` (seconds, or an HTTP date).
    static func retryAfter(milliseconds: String?, header: String?, now: Date = Date()) -> Double? {
        if let ms = milliseconds.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }), ms >= 0 { return ms / 1000 }
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { return nil }
        if let seconds = Double(header) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: header) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    var problem: String? {
        if maxAttempts < 1 { return "retry attempts must be at least 1" }
        if !(baseDelay >= 0) || !(maxDelay >= 0) { return "retry delays cannot be negative" }
        return nil
    }
}
