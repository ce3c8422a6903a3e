import Foundation
import JourneyCore
import JourneyPlanner

/// What any backend computes for `dropoff`: who reached the step, who never moved on, and for those by their last
/// touchpoint (event, channel, stage) how many, how long silent (to the store's last event) and how many came
/// back after a pause over 30 days.
public struct DropoffAggregate: Sendable, Equatable {
    public struct Last: Sendable, Equatable {
        public var event: String, channel: String, stage: String
        public var customers: Int
        public var since: [Double]
        public var resumed: Int
        public init(event: String, channel: String, stage: String, customers: Int, since: [Double], resumed: Int) {
            self.event = event; self.channel = channel; self.stage = stage; self.customers = customers; self.since = since; self.resumed = resumed
        }
    }
    public var reached: Int, dropped: Int
    public var lasts: [Last]
    /// The store's last event time (ms).
    public var end: Int64
    public init(reached: Int, dropped: Int, lasts: [Last], end: Int64) {
        self.reached = reached; self.dropped = dropped; self.lasts = lasts; self.end = end
    }
}

extension ResultBuilder {
    public static func dropoff(_ q: QueryPlan.Dropoff, _ a: DropoffAggregate, filterNotes: [String]) -> [ResultTable] {
        let rows: [[Value]] = a.lasts.sorted {
            $0.customers != $1.customers ? $0.customers > $1.customers
                : [$0.event, $0.channel, $0.stage].joined(separator: "\t") < [$1.event, $1.channel, $1.stage].joined(separator: "\t")
        }.prefix(20).map { l in
            var since = l.since
            return [.text(l.event), .text(l.channel), .text(l.stage), .int(l.customers), .percent(Double(l.customers) / Double(max(a.dropped, 1))),
                    .duration(quantile(selecting: &since, 0.5)), .int(l.resumed)]
        }
        let notes = ["\(a.reached.grouped) reached \(q.after.text); \(a.dropped.grouped) (\(String(format: "%.1f", Double(a.dropped) * 100 / Double(max(a.reached, 1))))%) never reached \(q.nextText)",
                     "time since last touch is measured to the store's last event (\(UTC.format(ms: a.end, dateOnly: true))); resumed = came back after a pause over 30d"] + filterNotes
        return [ResultTable(title: "dropoff after \(q.after.text)", columns: ["last touchpoint", "channel", "stage", "customers", "share", "median since last touch", "resumed after pause"],
                            rows: rows, notes: notes, chart: .bars(label: 0, value: 3))]
    }
}
