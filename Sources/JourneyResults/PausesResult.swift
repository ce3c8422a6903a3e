import JourneyCore
import JourneyPlanner

/// What any backend computes for `pauses`: resumed pauses by the stages before and after (lengths, customers,
/// the events right after), the counts, and the open pauses (how many, and the silent longest, already chosen).
public struct PausesAggregate: Sendable, Equatable {
    public struct Resumed: Sendable, Equatable {
        /// "consideration → intent"
        public var stages: String
        public var lengths: [Double]
        public var customers: Int
        /// Per event name, how often it came right after such a pause.
        public var after: [String: Int]
        public init(stages: String, lengths: [Double], customers: Int, after: [String: Int]) {
            self.stages = stages; self.lengths = lengths; self.customers = customers; self.after = after
        }
    }
    public struct Open: Sendable, Equatable {
        public var customer: String, event: String, channel: String, stage: String
        public var lastTouch: Int64, silent: Int64, touches: Int
        public init(customer: String, event: String, channel: String, stage: String, lastTouch: Int64, silent: Int64, touches: Int) {
            self.customer = customer; self.event = event; self.channel = channel; self.stage = stage
            self.lastTouch = lastTouch; self.silent = silent; self.touches = touches
        }
    }
    public var resumed: [Resumed]
    public var pauseCount: Int, customersWithPause: Int
    public var openCount: Int
    /// The silent longest, longest first.
    public var openShown: [Open]
    public var end: Int64
    public init(resumed: [Resumed], pauseCount: Int, customersWithPause: Int, openCount: Int, openShown: [Open], end: Int64) {
        self.resumed = resumed; self.pauseCount = pauseCount; self.customersWithPause = customersWithPause
        self.openCount = openCount; self.openShown = openShown; self.end = end
    }
}

extension ResultBuilder {
    public static func pauses(_ q: QueryPlan.Pauses, _ a: PausesAggregate, filterNotes: [String]) -> [ResultTable] {
        let d = q.longer
        var notes = filterNotes
        notes.append("a pause is a gap between two consecutive touches longer than \(d.text); open = no touch in the last \(d.text) before the store's last event (\(UTC.format(ms: a.end, dateOnly: true)))")
        func resumedTable() -> ResultTable {
            let rows: [[Value]] = a.resumed.sorted { $0.lengths.count != $1.lengths.count ? $0.lengths.count > $1.lengths.count : $0.stages < $1.stages }.map { r in
                let first = r.after.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? ""
                var lengths = r.lengths
                return [.text(r.stages), .int(r.lengths.count), .int(r.customers), .duration(quantile(selecting: &lengths, 0.5)), .text(first)]
            }
            return ResultTable(title: "resumed pauses longer than \(d.text)", columns: ["stage before → after", "pauses", "customers", "median pause", "most common touch after"],
                               rows: rows, notes: notes, chart: .bars(label: 0, value: 1))
        }
        func openTable() -> ResultTable {
            let rows: [[Value]] = a.openShown.map { o in
                [.text(o.customer), .text(o.event), .text(o.channel), .text(o.stage), .text(UTC.format(ms: o.lastTouch, dateOnly: true)),
                 .duration(Double(o.silent)), .int(o.touches)]
            }
            var n = notes
            n.append("\(a.openCount.grouped) customers with an open pause; the \(rows.count) silent longest are listed")
            return ResultTable(title: "open pauses longer than \(d.text)", columns: ["customer", "last touch", "channel", "stage", "last touch on", "silent for", "touches"],
                               rows: rows, notes: n)
        }
        switch q.which {
        case .resumed: return [resumedTable()]
        case .open: return [openTable()]
        case .both:
            var lengths = a.resumed.flatMap(\.lengths)
            let summary = ResultTable(title: "pauses longer than \(d.text)", columns: ["measure", "value"], rows: [
                [.text("resumed pauses"), .int(a.pauseCount)], [.text("customers who paused and came back"), .int(a.customersWithPause)],
                [.text("median resumed pause"), .duration(quantile(selecting: &lengths, 0.5))], [.text("customers with an open pause"), .int(a.openCount)]],
                notes: notes)
            return [summary, resumedTable()]
        }
    }
}
