import Foundation

/// Calendar arithmetic on UTC milliseconds, without Foundation's slow date formatters in hot paths.
public enum UTC {
    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    @inline(__always)
    public static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public static func civil(fromDays z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    public static let msPerDay: Int64 = 86_400_000

    /// `2024-03-01T10:00:00Z`, or `2024-03-01` when `dateOnly`.
    public static func format(ms: Int64, dateOnly: Bool = false) -> String {
        let days = Int(ms >= 0 ? ms / msPerDay : (ms - msPerDay + 1) / msPerDay)
        let rem = Int(ms - Int64(days) * msPerDay) / 1000
        let (y, m, d) = civil(fromDays: days)
        let date = String(format: "%04d-%02d-%02d", y, m, d)
        if dateOnly { return date }
        return date + String(format: "T%02d:%02d:%02dZ", rem / 3600, rem / 60 % 60, rem % 60)
    }

    /// Start of the month containing `ms`, as `YYYY-MM`.
    public static func monthLabel(ms: Int64) -> String {
        let days = Int(ms >= 0 ? ms / msPerDay : (ms - msPerDay + 1) / msPerDay)
        let (y, m, _) = civil(fromDays: days)
        return String(format: "%04d-%02d", y, m)
    }
}

/// Human-readable durations: `3d 4h`, `45m`, `12s`.
public func formatDuration(ms: Double) -> String {
    if ms.isNaN { return "–" }
    let s = abs(ms) / 1000
    let sign = ms < 0 ? "-" : ""
    if s < 60 { return sign + (s < 10 && s != s.rounded() ? String(format: "%.1fs", s) : "\(Int(s.rounded()))s") }
    let m = Int(s / 60)
    if m < 60 { let r = Int(s) % 60; return sign + (r == 0 ? "\(m)m" : "\(m)m \(r)s") }
    let h = m / 60
    if h < 24 { let r = m % 60; return sign + (r == 0 ? "\(h)h" : "\(h)h \(r)m") }
    let d = h / 24
    let r = h % 24
    return sign + (r == 0 ? "\(d)d" : "\(d)d \(r)h")
}
