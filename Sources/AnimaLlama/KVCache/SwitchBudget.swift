/// How much of the decode thread's time preemptions may take.
///
/// A context switch saves one generation's KV state and restores another's: tens of
/// megabytes at a 1k-token context, 10–40 ms here, during which every slot waits. Round
/// robin with a 32-token slice over 8 slots then spent about a tenth of a loaded server's
/// time switching (64 clients on a shared 1k-token system prompt). Like an operating
/// system that keeps its time slice far above its switch cost, the engine lets a
/// generation that the policy would take off its slot (its slice run out, or a higher
/// priority waiting) keep it until the switches so far fit within `share` of the time spent
/// decoding; a cheap switch (a short context) is never held back. Suspensions the kernel
/// asks for are not held back either.
///
/// Credit accrues with decoding time, up to `cap` (so an idle spell does not pay for a long
/// burst of switches later), and each switch spends what it measured.
struct SwitchBudget {
    let share: Double
    let cap: Double
    /// Nanoseconds of switching still allowed; negative while over budget.
    private(set) var credit: Double

    init(share: Double = 0.02, cap: Duration = .milliseconds(200)) {
        self.share = share
        self.cap = Double(cap.components.seconds) * 1e9 + Double(cap.components.attoseconds) / 1e9
        credit = self.cap
    }

    /// A preemption may happen now.
    var allowsPreemption: Bool { credit >= 0 }

    /// The decode thread decoded for `nanoseconds`.
    mutating func decoded(_ nanoseconds: UInt64) {
        credit = min(cap, credit + share * Double(nanoseconds))
    }

    /// A context switch (a save or a restore) took `nanoseconds`.
    mutating func switched(_ nanoseconds: UInt64) {
        credit -= Double(nanoseconds)
    }
}
