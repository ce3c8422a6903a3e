import JourneyCore

/// Calendar periods for retention: day, ISO week (from Monday), month or quarter, in UTC.
public enum RetentionPeriod: String, Sendable {
    case day, week, month, quarter
    static let dayMs: Int64 = 86_400_000

    /// The index of the period holding `ms` (days, weeks or months since 1970-01, counted on the calendar).
    public func index(_ ms: Int64) -> Int {
        let days = Int((ms >= 0 ? ms : ms - Self.dayMs + 1) / Self.dayMs)
        switch self {
        case .day: return days
        case .week: return Int((Double(days + 3) / 7).rounded(.down))   // 1970-01-01 was a Thursday; weeks start Monday
        case .month: let c = UTC.civil(fromDays: days); return (c.year - 1970) * 12 + c.month - 1
        case .quarter: return Int((Double(RetentionPeriod.month.index(ms)) / 3).rounded(.down))
        }
    }

    /// The first millisecond of period `i`.
    public func start(_ i: Int) -> Int64 {
        switch self {
        case .day: return Int64(i) * Self.dayMs
        case .week: return Int64(i * 7 - 3) * Self.dayMs
        case .month: return Int64(UTC.daysFromCivil(1970 + Int((Double(i) / 12).rounded(.down)), ((i % 12) + 12) % 12 + 1, 1)) * Self.dayMs
        case .quarter: return RetentionPeriod.month.start(i * 3)
        }
    }

    public func label(_ i: Int) -> String {
        switch self {
        case .day: return UTC.format(ms: start(i), dateOnly: true)
        case .week: return "week of " + UTC.format(ms: start(i), dateOnly: true)
        case .month: return String(UTC.format(ms: start(i), dateOnly: true).prefix(7))
        case .quarter: return String(UTC.format(ms: start(i), dateOnly: true).prefix(4)) + "-Q\((((i % 4) + 4) % 4) + 1)"
        }
    }
}
