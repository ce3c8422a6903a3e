import JourneyCore
import JourneyLanguage

extension Executor {
    /// `pauses longer than D [resumed|open]`: gaps between consecutive touches longer than D.
    ///
    /// A resumed pause is a gap inside a journey (a touch came after it); an open pause is a journey whose last
    /// touch lies more than D before the store's last event — customers to follow up. Without `resumed` or
    /// `open`: a summary of both and where journeys resumed (the stage of the first touch after the pause).
    public func pauses(longer d: TimeSpan, which: String?, filter f: Expr?, binder: inout Binder, keys: ([Int64]) throws -> [String]) throws -> [ResultTable] {
        let filter = try binder.bindFilter(f, data: data)
        let limit = d.milliseconds
        let end = seq.times.max() ?? 0
        struct Resumed { var customers = 0; var lengths: [Double] = []; var events: [String: Int] = [:] }
        var byStage: [String: Resumed] = [:]
        var pauseCount = 0, customersWithPause = 0
        var open: [(customer: Int, last: Int, silent: Int64, touches: Int)] = []
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                var prev = -1, touches = 0
                var seenStages = Set<String>()
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) where filter.events?.matches(v, i) ?? true {
                    touches += 1
                    if prev >= 0 && v.times[i] - v.times[prev] > limit {
                        pauseCount += 1
                        let key = "\(label(.stage, v, prev)) → \(label(.stage, v, i))"
                        byStage[key, default: Resumed()].lengths.append(Double(v.times[i] - v.times[prev]))
                        byStage[key]!.events[label(.event, v, i), default: 0] += 1
                        if seenStages.insert(key).inserted { byStage[key]!.customers += 1 }
                    }
                    prev = i
                }
                if !seenStages.isEmpty { customersWithPause += 1 }
                if prev >= 0 && end - v.times[prev] > limit { open.append((c, prev, end - v.times[prev], touches)) }
            }
        }
        var notes = filter.description
        notes.append("a pause is a gap between two consecutive touches longer than \(d.text); open = no touch in the last \(d.text) before the store's last event (\(UTC.format(ms: end, dateOnly: true)))")
        func resumedTable() -> ResultTable {
            let rows: [[Value]] = byStage.sorted { $0.value.lengths.count != $1.value.lengths.count ? $0.value.lengths.count > $1.value.lengths.count : $0.key < $1.key }.map { (k, r) in
                let first = r.events.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? ""
                return [.text(k), .int(r.lengths.count), .int(r.customers), .duration(quantile(r.lengths.sorted(), 0.5)), .text(first)]
            }
            return ResultTable(title: "resumed pauses longer than \(d.text)", columns: ["stage before → after", "pauses", "customers", "median pause", "most common touch after"],
                               rows: rows, notes: notes, chart: .bars(label: 0, value: 1))
        }
        func openTable() throws -> ResultTable {
            let shown = open.sorted { $0.silent != $1.silent ? $0.silent > $1.silent : $0.customer < $1.customer }.prefix(50)
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
        switch which {
        case "resumed"?: return [resumedTable()]
        case "open"?: return [try openTable()]
        default:
            let lengths = byStage.values.flatMap(\.lengths).sorted()
            let summary = ResultTable(title: "pauses longer than \(d.text)", columns: ["measure", "value"], rows: [
                [.text("resumed pauses"), .int(pauseCount)], [.text("customers who paused and came back"), .int(customersWithPause)],
                [.text("median resumed pause"), .duration(quantile(lengths, 0.5))], [.text("customers with an open pause"), .int(open.count)]],
                notes: notes)
            return [summary, resumedTable()]
        }
    }
}
