import Foundation
import JourneyCore
import JourneyPlanner

/// What any backend computes for `time`: per group, the durations from A to B (milliseconds).
public struct TimeAggregate: Sendable, Equatable {
    public var groups: [String: [Double]]
    public init(groups: [String: [Double]]) { self.groups = groups }
}

/// What any backend computes for `top`: per label, events, customers and events in each of the 12 months up to
/// the store's last month; and all events counted.
public struct TopAggregate: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var label: String
        public var events: Int
        public var customers: Int
        public var trend: [Double]
        public init(label: String, events: Int, customers: Int, trend: [Double]) {
            self.label = label; self.events = events; self.customers = customers; self.trend = trend
        }
    }
    public var rows: [Row]
    public var totalEvents: Int
    /// The first and last of the 12 months (period indexes, `RetentionPeriod.month`).
    public var firstMonth: Int, lastMonth: Int
    public init(rows: [Row], totalEvents: Int, firstMonth: Int, lastMonth: Int) {
        self.rows = rows; self.totalEvents = totalEvents; self.firstMonth = firstMonth; self.lastMonth = lastMonth
    }
}

extension ResultBuilder {
    public static func time(_ q: QueryPlan.Time, _ a: TimeAggregate, filterNotes: [String]) -> [ResultTable] {
        let by = q.by
        let groups = a.groups
        let cols = (by.map { [$0.display] } ?? []) + ["customers", "min", "p25", "median", "p75", "p90", "max"]
        var rows: [[Value]] = []
        let order = by?.isMonths == true ? monthsInOrder(Array(groups.keys))
            : groups.sorted(by: { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }).map(\.key)
        for g in order {
            let s = (groups[g] ?? []).sorted()
            rows.append((by == nil ? [] : [.text(g)]) + [.int(s.count), .duration(s.first ?? .nan), .duration(quantile(s, 0.25)),
                        .duration(quantile(s, 0.5)), .duration(quantile(s, 0.75)), .duration(quantile(s, 0.9)), .duration(s.last ?? .nan)])
        }
        var tables = [ResultTable(title: "time from \(q.from.text) to \(q.to.text)", columns: cols, rows: rows, notes: filterNotes)]
        // Histogram over all durations: day buckets on a doubling scale.
        let all = groups.values.flatMap { $0 }.sorted()
        if !all.isEmpty {
            let edges: [Double] = [0, 1, 2, 4, 7, 14, 30, 60, 90, 180, 365].map { $0 * 86_400_000 }
            var hist: [[Value]] = []
            for (i, lo) in edges.enumerated() {
                let hi = i + 1 < edges.count ? edges[i + 1] : .infinity
                let n = all.filter { $0 >= lo && $0 < hi }.count
                let name = hi.isInfinite ? "≥ \(formatDuration(ms: lo))" : "\(formatDuration(ms: lo)) – \(formatDuration(ms: hi))"
                hist.append([.text(i == 0 ? "< 1d" : name), .int(n), .percent(Double(n) / Double(all.count))])
            }
            tables.append(ResultTable(title: "distribution", columns: ["duration", "customers", "share"], rows: hist, chart: .histogram(label: 0, value: 1)))
        }
        return tables
    }

    public static func top(_ q: QueryPlan.Top, _ a: TopAggregate, filterNotes: [String]) -> [ResultTable] {
        let ranked = a.rows.filter { $0.events > 0 }.sorted { $0.events != $1.events ? $0.events > $1.events : $0.label < $1.label }
        let rows: [[Value]] = ranked.prefix(q.n).map { r in
            [.text(r.label), .int(r.events), .percent(Double(r.events) / Double(max(a.totalEvents, 1))), .int(r.customers), .series(r.trend)]
        }
        let title = q.campaigns ? "campaign" : q.what.rawValue
        let span = "\(RetentionPeriod.month.label(a.firstMonth)) … \(RetentionPeriod.month.label(a.lastMonth))"
        return [ResultTable(title: "top \(title)s", columns: [title, "events", "share of events", "customers", "by month"], rows: rows,
                            notes: filterNotes + ["by month: events per month, \(span), each row scaled to its own range"],
                            chart: .bars(label: 0, value: 1))]
    }
}
