import JourneyCore
import JourneyLanguage
import JourneyPlanner

extension Executor {
    /// `pauses longer than D [resumed|open]`: gaps between consecutive touches longer than D.
    ///
    /// A resumed pause is a gap inside a journey (a touch came after it); an open pause is a journey whose last
    /// touch lies more than D before the store's last event — customers to follow up. Without `resumed` or
    /// `open`: a summary of both and where journeys resumed (the stage of the first touch after the pause).
    public func pauses(_ q: QueryPlan.Pauses, keys: ([Int64]) throws -> [String]) throws -> [ResultTable] {
        let d = q.longer, shown = q.limit
        let filter = try compile(q.filter)
        let limit = d.milliseconds
        let end = seq.times.max() ?? 0
        // Resumed pauses keyed by the stage codes before and after (named only for the rows).
        struct Resumed { var customers = 0; var lengths: [Double] = []; var events: [UInt32: Int] = [:]; var stamp = -1 }
        var byStages: [Int: Resumed] = [:]
        var pauseCount = 0, customersWithPause = 0
        var open: [(customer: Int, last: Int, silent: Int64, touches: Int)] = []
        let tables = StepTest.Tables()
        defer { withExtendedLifetime(tables) {} }   // the compiled tests point into it
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                var prev = -1, touches = 0, paused = false
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    if let f = eventFilter, !f.matches(v, i) { continue }
                    touches += 1
                    if prev >= 0 && v.times[i] - v.times[prev] > limit {
                        pauseCount += 1; paused = true
                        let key = Int(v.stages[prev]) << 8 | Int(v.stages[i])
                        var r = byStages.removeValue(forKey: key) ?? Resumed()
                        r.lengths.append(Double(v.times[i] - v.times[prev]))
                        r.events[v.events[i], default: 0] += 1
                        if r.stamp != c { r.stamp = c; r.customers += 1 }
                        byStages[key] = r
                    }
                    prev = i
                }
                if paused { customersWithPause += 1 }
                if prev >= 0 && end - v.times[prev] > limit { open.append((c, prev, end - v.times[prev], touches)) }
            }
        }
        let byStage = Dictionary(uniqueKeysWithValues: byStages.map { key, r in
            ("\(labelName(.stage, UInt32(key >> 8))) → \(labelName(.stage, UInt32(key & 255)))", r)
        })
        var notes = filter.description
        notes.append("a pause is a gap between two consecutive touches longer than \(d.text); open = no touch in the last \(d.text) before the store's last event (\(UTC.format(ms: end, dateOnly: true)))")
        func resumedTable() -> ResultTable {
            let rows: [[Value]] = byStage.sorted { $0.value.lengths.count != $1.value.lengths.count ? $0.value.lengths.count > $1.value.lengths.count : $0.key < $1.key }.map { (k, r) in
                let first = r.events.map { (labelName(.event, $0.key), $0.value) }
                    .max { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 > $1.0 }?.0 ?? ""
                var lengths = r.lengths
                return [.text(k), .int(r.lengths.count), .int(r.customers), .duration(quantile(selecting: &lengths, 0.5)), .text(first)]
            }
            return ResultTable(title: "resumed pauses longer than \(d.text)", columns: ["stage before → after", "pauses", "customers", "median pause", "most common touch after"],
                               rows: rows, notes: notes, chart: .bars(label: 0, value: 1))
        }
        func openTable() throws -> ResultTable {
            // The 50 silent longest: only those at or above the 50th longest silence are sorted.
            var silences = open.map(\.silent)
            let cut = silences.count > 50 ? { select(&silences, silences.count - 50); return silences[silences.count - 50] }() : Int64.min
            let shown = open.filter { $0.silent >= cut }
                .sorted { $0.silent != $1.silent ? $0.silent > $1.silent : $0.customer < $1.customer }.prefix(shown ?? 50)
            let ids = shown.map { seq.customerIDs[$0.customer] }
            let names = try keys(ids)
            let rows: [[Value]] = try seq.withView { v in
                try zip(shown, names).map { (o, name) in
                    try checkCancel(0)
                    return [.text(name), .text(label(.event, v, o.last)), .text(label(.channel, v, o.last)), .text(label(.stage, v, o.last)),
                            .text(UTC.format(ms: v.times[o.last], dateOnly: true)), .duration(Double(o.silent)), .int(o.touches)]
                }
            }
            var n = notes
            n.append("\(open.count.grouped) customers with an open pause; the \(rows.count) silent longest are listed")
            return ResultTable(title: "open pauses longer than \(d.text)", columns: ["customer", "last touch", "channel", "stage", "last touch on", "silent for", "touches"],
                               rows: rows, notes: n)
        }
        switch q.which {
        case .resumed: return [resumedTable()]
        case .open: return [try openTable()]
        case .both:
            var lengths = byStage.values.flatMap(\.lengths)
            let summary = ResultTable(title: "pauses longer than \(d.text)", columns: ["measure", "value"], rows: [
                [.text("resumed pauses"), .int(pauseCount)], [.text("customers who paused and came back"), .int(customersWithPause)],
                [.text("median resumed pause"), .duration(quantile(selecting: &lengths, 0.5))], [.text("customers with an open pause"), .int(open.count)]],
                notes: notes)
            return [summary, resumedTable()]
        }
    }
}
