import Foundation
import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test func retriesRateLimitsServerErrorsAndTimeoutsOnly() {
        for status in [408, 429, 500, 502, 503, 529] { #expect(RetryPolicy.isRetryable(status: status), "\(status)") }
        for status in [200, 400, 401, 403, 404, 422] { #expect(!RetryPolicy.isRetryable(status: status), "\(status)") }
    }

    /// Waits double per attempt up to the cap, with "equal jitter": between half and all
    /// of the exponential wait.
    @Test func backsOffExponentiallyWithJitter() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 0.5, maxDelay: 8)
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 0) == 0.25)
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 1) == 0.5)
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 0) == 1)
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 1) == 2)
        #expect(policy.delay(afterAttempt: 10, retryAfter: nil, random: 0) == 4)
        #expect(policy.delay(afterAttempt: 10, retryAfter: nil, random: 1) == 8)
    }

    @Test func honoursRetryAfterUpToTheCap() {
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: 0.5, maxDelay: 8)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 0, random: 1) == 0)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 3, random: 1) == 3)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 120, random: 1) == 8)
        #expect(RetryPolicy.retryAfter(milliseconds: "250", header: "7") == 0.25)
        #expect(RetryPolicy.retryAfter(milliseconds: nil, header: "7") == 7)
        let now = Date(timeIntervalSince1970: 1_745_000_000)
        let date = "Fri, 18 Apr 2025 18:13:25 GMT"  // now + 5 s
        #expect(RetryPolicy.retryAfter(milliseconds: nil, header: date, now: now) == 5)
        #expect(RetryPolicy.retryAfter(milliseconds: nil, header: "soon") == nil)
    }

    @Test func refusesNonsense() {
        #expect(RetryPolicy(maxAttempts: 0).problem != nil)
        #expect(RetryPolicy(baseDelay: -1).problem != nil)
        #expect(RetryPolicy().problem == nil)
    }
}
