import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

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
        let resumed = byStages.map { key, r in
            PausesAggregate.Resumed(stages: "\(labelName(.stage, UInt32(key >> 8))) → \(labelName(.stage, UInt32(key & 255)))", lengths: r.lengths,
                                    customers: r.customers, after: Dictionary(r.events.map { (labelName(.event, $0.key), $0.value) }, uniquingKeysWith: +))
        }
        // The open pauses shown: the silent longest (only those at or above the Nth longest silence are sorted).
        var openShown: [PausesAggregate.Open] = []
        if q.which != .resumed {
            let limit = shown ?? 50
            var silences = open.map(\.silent)
            let cut = silences.count > limit ? { select(&silences, silences.count - limit); return silences[silences.count - limit] }() : Int64.min
            let chosen = open.filter { $0.silent >= cut }
                .sorted { $0.silent != $1.silent ? $0.silent > $1.silent : $0.customer < $1.customer }.prefix(limit)
            let names = try keys(chosen.map { seq.customerIDs[$0.customer] })
            openShown = try seq.withView { v in
                try zip(chosen, names).map { o, name in
                    try checkCancel(0)
                    return PausesAggregate.Open(customer: name, event: label(.event, v, o.last), channel: label(.channel, v, o.last), stage: label(.stage, v, o.last),
                                                lastTouch: v.times[o.last], silent: o.silent, touches: o.touches)
                }
            }
        }
        return ResultBuilder.pauses(q, PausesAggregate(resumed: resumed, pauseCount: pauseCount, customersWithPause: customersWithPause,
                                                       openCount: open.count, openShown: openShown, end: end), filterNotes: filter.description)
    }
}
