import Foundation

/// The moments memory accepts: when a record happened, and the bounds of a time filter.
///
/// A date outside years 1 to 9999 (or NaN, or infinite) cannot be written as an ISO 8601
/// date, sorts nonsensically and is always a mistake (a timestamp in the wrong unit, an
/// overflow): it is refused with a message that says so, rather than stored.
public enum MemoryTime {
    /// 0001-01-01T00:00:00Z.
    public static let earliest = Date(timeIntervalSince1970: -62_135_596_800)
    /// 9999-12-31T23:59:59Z.
    public static let latest = Date(timeIntervalSince1970: 253_402_300_799)

    /// Why `date` is not a moment memory can keep (`what` names it), or nil when it is.
    public static func problem(with date: Date, what: String) -> String? {
        let seconds = date.timeIntervalSince1970
        guard !seconds.isFinite || date < earliest || date > latest else { return nil }
        return "\(what) must be a date between the years 1 and 9999 (seconds since 1970 between "
            + "\(Int(earliest.timeIntervalSince1970)) and \(Int(latest.timeIntervalSince1970))), not \(seconds)"
    }
}
