import JourneyCore
import JourneyPlanner

/// What any backend computes for `retention`: per cohort (or group), its size and per period k the customers
/// retained and the customers for whom period k had begun by the data's end.
public struct RetentionAggregate: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var label: String
        /// The cohort's period index (cohorts sort by it; groups by size).
        public var period: Int
        public var size: Int
        public var retained: [Int], eligible: [Int]
        public init(label: String, period: Int, size: Int, retained: [Int], eligible: [Int]) {
            self.label = label; self.period = period; self.size = size; self.retained = retained; self.eligible = eligible
        }
    }
    public var rows: [Row]
    public var end: Int64
    public init(rows: [Row], end: Int64) { self.rows = rows; self.end = end }
}

extension ResultBuilder {
    public static func retention(_ q: QueryPlan.Retention, _ a: RetentionAggregate, filterNotes: [String]) -> [ResultTable] {
        let n = q.periods
        let byCohort = q.by == nil
        let sorted = a.rows.sorted { byCohort ? $0.period < $1.period : ($0.size != $1.size ? $0.size > $1.size : $0.label < $1.label) }
        let out: [[Value]] = sorted.map { r in
            [.text(r.label), .int(r.size)] + (0..<n).map { k in
                r.eligible[k] > 0 ? .percent(Double(r.retained[k]) / Double(r.eligible[k])) : .null
            }
        }
        let unit = q.period.rawValue
        let notes = ["cohort = the \(byCohort ? unit : q.by!.display) of each customer's first \(q.start.text); column k = share of the cohort with \(q.returning.map(\.text) ?? "any event") after it in the \(unit) k \(unit)s later (calendar \(unit)s, UTC\(unit == "week" ? ", from Monday" : "")); column 0 is the cohort itself (100%)",
                     "a cell is empty when that \(unit) had not begun by the data's end (\(UTC.format(ms: a.end, dateOnly: true))); its share counts only the customers whose \(unit) k had begun"] + filterNotes
        return [ResultTable(title: "retention every \(unit)", columns: [byCohort ? "cohort" : q.by!.display, "customers"] + (0..<n).map { "\(unit) \($0)" },
                            rows: out, notes: notes, chart: .cohortGrid(label: 0, first: 2))]
    }
}
