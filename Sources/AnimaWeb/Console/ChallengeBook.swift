import Foundation

/// Challenges the console handed out and not yet answered: each can be taken once,
/// before it expires. Bounded, so a flood of option requests cannot grow memory.
public actor ChallengeBook {
    /// What a challenge was issued for.
    public enum Purpose: Sendable, Equatable {
        /// Registering a passkey with the enrollment code that allowed it.
        case registration(code: String, userHandle: [UInt8])
        case signIn
    }

    struct Entry {
        let purpose: Purpose
        let expires: Date
    }

    public let lifetime: TimeInterval
    public let capacity: Int
    private var entries: [[UInt8]: Entry] = [:]
    private var order: [[UInt8]] = []
    private let now: @Sendable () -> Date

    public init(lifetime: TimeInterval = 300, capacity: Int = 10_000, now: @escaping @Sendable () -> Date = { Date() }) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.now = now
    }

    /// A new 32-byte random challenge for `purpose`.
    public func issue(_ purpose: Purpose) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let challenge = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let now = now()
        order.removeAll { entries[$0].map { $0.expires <= now } ?? true }
        while order.count >= capacity { entries[order.removeFirst()] = nil }
        entries[challenge] = Entry(purpose: purpose, expires: now.addingTimeInterval(lifetime))
        order.append(challenge)
        return challenge
    }

    /// Takes `challenge` out of the book: its purpose if it was issued and has not expired
    /// or been taken before, else nil.
    public func take(_ challenge: [UInt8]) -> Purpose? {
        guard let entry = entries.removeValue(forKey: challenge) else { return nil }
        order.removeAll { $0 == challenge }
        return entry.expires > now() ? entry.purpose : nil
    }
}
