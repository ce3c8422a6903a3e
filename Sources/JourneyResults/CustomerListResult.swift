import JourneyCore
import JourneyPlanner

/// What any backend computes for `customers who …`: how many customers qualify, and the ones shown (most
/// recently active first, already chosen and named).
public struct CustomerListAggregate: Sendable, Equatable {
    public struct Customer: Sendable, Equatable {
        public var key: String
        public var firstTouch: Int64, lastTouch: Int64
        public var event: String, channel: String, stage: String
        public var touches: Int
        public init(key: String, firstTouch: Int64, lastTouch: Int64, event: String, channel: String, stage: String, touches: Int) {
            self.key = key; self.firstTouch = firstTouch; self.lastTouch = lastTouch
            self.event = event; self.channel = channel; self.stage = stage; self.touches = touches
        }
    }
    public var total: Int
    public var shown: [Customer]
    public var end: Int64
    public init(total: Int, shown: [Customer], end: Int64) { self.total = total; self.shown = shown; self.end = end }
}

extension ResultBuilder {
    public static func customers(_ q: QueryPlan.Customers, _ a: CustomerListAggregate, filterNotes: [String]) -> [ResultTable] {
        let rows: [[Value]] = a.shown.map { h in
            [.text(h.key), .text(UTC.format(ms: h.firstTouch, dateOnly: true)), .text(UTC.format(ms: h.lastTouch, dateOnly: true)),
             .text(h.event), .text(h.channel), .text(h.stage), .duration(Double(a.end - h.lastTouch)), .int(h.touches)]
        }
        var notes = ["\(a.total.grouped) customers who \(q.conditions.map(\.text).joined(separator: " and ")); \(rows.count) shown, most recently active first"]
        notes.append("silence is measured to the store's last event (\(UTC.format(ms: a.end, dateOnly: true)))")
        notes += filterNotes
        return [ResultTable(title: "customers", columns: ["customer", "first touch", "last touch", "last event", "channel", "stage", "silent for", "touches"],
                            rows: rows, notes: notes)]
    }
}
