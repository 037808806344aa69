import Foundation

/// A five-field cron schedule (minute hour day-of-month month day-of-week), with lists, ranges,
/// steps, month and day names, and the @hourly/@daily/@weekly/@monthly/@yearly shorthands.
///
/// As in Vixie cron, when both day fields are restricted a day matches either. Times are wall
/// clock in the trigger's time zone: a time skipped by a daylight-saving change does not fire,
/// and a repeated one fires once.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public let minutes: Set<Int>
    public let hours: Set<Int>
    public let days: Set<Int>
    public let months: Set<Int>
    /// 0 is Sunday (7 is read as Sunday too).
    public let weekdays: Set<Int>
    let daysRestricted: Bool
    let weekdaysRestricted: Bool
    public let description: String

    public init(parsing text: String) throws(ParseError) {
        let shorthands = [
            "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
            "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
        ]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expanded = shorthands[trimmed.lowercased()] ?? trimmed
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String($0).lowercased() }
        guard fields.count == 5 else {
            throw ParseError(
                description:
                    "`\(text)` has \(fields.count) fields; a schedule has five: minute hour day month weekday (e.g. `30 7 * * 1-5`)")
        }
        let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        minutes = try Self.field(fields[0], "minute", 0...59, names: [:])
        hours = try Self.field(fields[1], "hour", 0...23, names: [:])
        days = try Self.field(fields[2], "day of month", 1...31, names: [:])
        months = try Self.field(
            fields[3], "month", 1...12, names: Dictionary(uniqueKeysWithValues: monthNames.enumerated().map { ($1, $0 + 1) }))
        let weekdays = try Self.field(
            fields[4], "weekday", 0...7, names: Dictionary(uniqueKeysWithValues: dayNames.enumerated().map { ($1, $0) }))
        self.weekdays = Set(weekdays.map { $0 == 7 ? 0 : $0 })
        daysRestricted = !fields[2].hasPrefix("*")
        weekdaysRestricted = !fields[4].hasPrefix("*")
        description = trimmed
    }

    static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String: Int]) throws(ParseError) -> Set<Int> {
        var values = Set<Int>()
        func number(_ s: Substring) throws(ParseError) -> Int {
            if let n = Int(s), range.contains(n) { return n }
            if let n = names[String(s)] { return n }
            throw ParseError(description: "\(name) `\(s)` is not in \(range.lowerBound)-\(range.upperBound)")
        }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, !pieces[0].isEmpty else {
                throw ParseError(description: "\(name) `\(part)` is not a value, range or step")
            }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s >= 1, s <= range.upperBound + 1 else {
                    throw ParseError(description: "\(name) step `\(pieces[1])` must be a number from 1 to \(range.upperBound + 1)")
                }
                step = s
            }
            let lower: Int
            let upper: Int
            if pieces[0] == "*" {
                (lower, upper) = (range.lowerBound, range.upperBound)
            } else if let dash = pieces[0].firstIndex(of: "-") {
                lower = try number(pieces[0][..<dash])
                upper = try number(pieces[0][pieces[0].index(after: dash)...])
                guard lower <= upper else { throw ParseError(description: "\(name) range `\(pieces[0])` runs backwards") }
            } else {
                lower = try number(pieces[0])
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            values.formUnion(stride(from: lower, through: upper, by: step))
        }
        return values
    }

    func matches(day: Int, weekday: Int) -> Bool {
        switch (daysRestricted, weekdaysRestricted) {
        case (true, true): days.contains(day) || weekdays.contains(weekday)
        case (true, false): days.contains(day)
        case (false, true): weekdays.contains(weekday)
        case (false, false): true
        }
    }

    /// The first time strictly after `date` that the schedule fires in `timeZone`; nil if none
    /// within eight years (a schedule such as `0 0 31 2 *` never fires).
    public func next(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.startOfDay(for: date)
        for offset in 0..<(8 * 366) {
            guard let dayStart = calendar.date(byAdding: .day, value: offset, to: start) else { return nil }
            let c = calendar.dateComponents([.year, .month, .day, .weekday], from: dayStart)
            guard let year = c.year, let month = c.month, let day = c.day, let weekday = c.weekday else { continue }
            guard months.contains(month), matches(day: day, weekday: weekday - 1) else { continue }
            for hour in hours.sorted() {
                for minute in minutes.sorted() {
                    let wanted = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute)
                    guard let candidate = calendar.date(from: wanted), candidate > date else { continue }
                    // A wall-clock time that a daylight-saving jump skips does not exist: no firing.
                    let back = calendar.dateComponents([.day, .hour, .minute], from: candidate)
                    guard back.day == day, back.hour == hour, back.minute == minute else { continue }
                    return candidate
                }
            }
        }
        return nil
    }
}
