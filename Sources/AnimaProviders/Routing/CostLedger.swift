import AnimaCore
import AnimaProcessor

/// Spending against the router's budget. The estimated cost of a request is reserved
/// when it is routed, so that many requests at once cannot overrun the budget together;
/// the reservation is replaced by the actual cost when the provider reports usage.
struct CostLedger: Sendable {
    var limit: Double?
    private(set) var spent: Double = 0
    private(set) var reserved: Double = 0
    private var reservations: [UInt64: Double] = [:]

    init(limit: Double?) { self.limit = limit }

    /// Whether `cost` more fits in the budget.
    func allows(_ cost: Double) -> Bool {
        guard let limit else { return true }
        return spent + reserved + cost <= limit
    }

    mutating func reserve(_ cost: Double, for decision: UInt64) {
        guard cost > 0 else { return }
        reservations[decision, default: 0] += cost
        reserved += cost
    }

    /// Replaces the reservation of `decision` with what it actually cost.
    mutating func settle(_ decision: UInt64, actual: Double) {
        if let held = reservations.removeValue(forKey: decision) { reserved = max(0, reserved - held) }
        spent += max(0, actual)
    }

    mutating func reset() {
        spent = 0
    }
}
