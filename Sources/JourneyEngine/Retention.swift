import Foundation
import JourneyCore
import JourneyLanguage

/// Calendar periods for retention: day, ISO week (from Monday) or month, in UTC.
public enum RetentionPeriod: String, Sendable {
    case day, week, month
    static let dayMs: Int64 = 86_400_000

    /// The index of the period holding `ms` (days, weeks or months since 1970-01, counted on the calendar).
    public func index(_ ms: Int64) -> Int {
        let days = Int((ms >= 0 ? ms : ms - Self.dayMs + 1) / Self.dayMs)
        switch self {
        case .day: return days
        case .week: return Int((Double(days + 3) / 7).rounded(.down))   // 1970-01-01 was a Thursday; weeks start Monday
        case .month: let c = UTC.civil(fromDays: days); return (c.year - 1970) * 12 + c.month - 1
        }
    }

    /// The first millisecond of period `i`.
    public func start(_ i: Int) -> Int64 {
        switch self {
        case .day: return Int64(i) * Self.dayMs
        case .week: return Int64(i * 7 - 3) * Self.dayMs
        case .month: return Int64(UTC.daysFromCivil(1970 + i / 12, i % 12 + 1, 1)) * Self.dayMs
        }
    }

    public func label(_ i: Int) -> String {
        switch self {
        case .day: return UTC.format(ms: start(i), dateOnly: true)
        case .week: return "week of " + UTC.format(ms: start(i), dateOnly: true)
        case .month: return String(UTC.format(ms: start(i), dateOnly: true).prefix(7))
        }
    }
}

extension Executor {
    /// `retention from S [returning R] [every day|week|month] [periods N] [by DIM]`: cohorts by the period of each
    /// customer's first S; the share of each cohort with an R event (any event by default) after that first S in
    /// period k after it (calendar periods).
    public func retention(_ q: RetentionQuery, binder: inout Binder) throws -> [ResultTable] {
        let filter = try binder.bindFilter(q.filter, data: data)
        let tables = StepTest.Tables()
        let start = StepTest(try binder.bindEvent(q.start), tables: tables)
        let returning = try q.returning.map { StepTest(try binder.bindEvent($0), tables: tables) }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        guard let period = RetentionPeriod(rawValue: q.period) else { throw QueryError("retention periods are day, week or month") }
        let n = q.periods
        let dim = q.by.flatMap(Self.eventDimension)
        let attr = try q.by.flatMap { Self.eventDimension($0) == nil ? try attributeColumn($0) : nil }
        let end = seq.times.max() ?? 0
        let endPeriod = period.index(end)
        // Per row key: cohort size, and per period k: retained and eligible (period k has begun by the data's end).
        var rows: [String: (size: Int, retained: [Int], eligible: [Int], order: Int)] = [:]
        var seen = [Bool](repeating: false, count: n)
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                let lo = Int(v.offsets[c]), hi = Int(v.offsets[c + 1])
                guard let b = (lo..<hi).first(where: { (eventFilter?.matches(v, $0) ?? true) && start.matches(v, $0) }) else { continue }
                let birth = period.index(v.times[b])
                for k in 0..<n { seen[k] = false }
                for i in (b + 1)..<max(b + 1, hi) where (eventFilter?.matches(v, i) ?? true) && (returning?.matches(v, i) ?? true) {
                    let k = period.index(v.times[i]) - birth
                    if k >= n { break }
                    if k >= 0 { seen[k] = true }
                }
                let key = dim.map { label($0, v, b) } ?? attr?[c] ?? period.label(birth)
                var r = rows[key] ?? (0, [Int](repeating: 0, count: n), [Int](repeating: 0, count: n), dim == nil && attr == nil ? birth : 0)
                r.size += 1
                for k in 0..<n where birth + k <= endPeriod {
                    r.eligible[k] += 1
                    if k == 0 || seen[k] { r.retained[k] += 1 }
                }
                rows[key] = r
            }
        }
        let byCohort = q.by == nil
        let sorted = rows.sorted { byCohort ? $0.value.order < $1.value.order : ($0.value.size != $1.value.size ? $0.value.size > $1.value.size : $0.key < $1.key) }
        let out: [[Value]] = sorted.map { k, r in
            [.text(k), .int(r.size)] + (0..<n).map { i in r.eligible[i] > 0 ? .percent(Double(r.retained[i]) / Double(r.eligible[i])) : .null }
        }
        let unit = q.period
        let notes = ["cohort = the \(byCohort ? unit : q.by!.field.display) of each customer's first \(describe(q.start)); column k = share of the cohort with \(q.returning.map(describe) ?? "any event") after it in the \(unit) k \(unit)s later (calendar \(unit)s, UTC\(unit == "week" ? ", from Monday" : "")); column 0 is the cohort itself (100%)",
                     "a cell is empty when that \(unit) had not begun by the data's end (\(UTC.format(ms: end, dateOnly: true))); its share counts only the customers whose \(unit) k had begun"] + filter.description
        return [ResultTable(title: "retention every \(unit)", columns: [byCohort ? "cohort" : q.by!.field.display, "customers"] + (0..<n).map { "\(unit) \($0)" },
                            rows: out, notes: notes, chart: .cohortGrid(label: 0, first: 2))]
    }
}
