import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    /// The first event other than `s` at `s`'s time or later that passes `test`: the events tied with `s` (at its
    /// time, before or after it in the store), then the later ones — the funnel's default tie rule for two steps.
    @inline(__always)
    static func firstAtOrAfter(_ s: Int, lo: Int, hi: Int, _ v: UnsafePackedView, where test: (Int) -> Bool) -> Int? {
        let t = v.times[s]
        var g = s
        while g > lo && v.times[g - 1] == t { g -= 1 }
        var i = g
        while i < hi {
            if i != s && test(i) { return i }
            i += 1
        }
        return nil
    }

    // MARK: time

    public func time(_ q: QueryPlan.Time) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        let a = try compile(q.from.predicate), b = try compile(q.to.predicate)
        let by = q.by
        let grouped = try by.map(grouping)
        let eventDim = grouped?.events, attr = grouped?.values
        var groups: [String: [Double]] = [:]
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                let lo = Int(v.offsets[c]), hi = Int(v.offsets[c + 1])
                guard let start = (lo..<hi).first(where: { (filter.events?.matches(v, $0) ?? true) && a.matches(v, $0) }) else { continue }
                // The first B at A's time or later (ties together: one at A's time counts wherever it stands).
                guard let i = Self.firstAtOrAfter(start, lo: lo, hi: hi, v, where: { (filter.events?.matches(v, $0) ?? true) && b.matches(v, $0) })
                else { continue }
                let d = Double(v.times[i] - v.times[start])
                let g = eventDim?.label(v, start) ?? attr?[c] ?? "all"
                groups[g, default: []].append(d)
            }
        }
        return ResultBuilder.time(q, TimeAggregate(groups: groups), filterNotes: filter.description)
    }

    // MARK: dropoff

    /// Customers who reached S and never the next stage (or `to` step) after it: where they stopped.
    public func dropoff(_ q: QueryPlan.Dropoff) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        let a = try compile(q.after.predicate), nextPred = try compile(q.next)
        let end = seq.times.max() ?? 0
        let tables = StepTest.Tables()
        defer { withExtendedLifetime(tables) {} }   // the compiled tests point into it
        let afterTest = StepTest(a, tables: tables), nextTest = StepTest(nextPred, tables: tables)
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        // The last touchpoint as codes (event, channel, stage) in one integer; named only for the rows.
        var byLast: [UInt64: (n: Int, since: [Double], resumed: Int)] = [:]
        var reached = 0, dropped = 0
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                let lo = Int(v.offsets[c]), hi = Int(v.offsets[c + 1])
                var s = lo
                while s < hi && !((eventFilter?.matches(v, s) ?? true) && afterTest.matches(v, s)) { s += 1 }
                guard s < hi else { continue }
                reached += 1
                // Moved on: an event of the next step at S's time or later (ties together, as the funnel).
                if Self.firstAtOrAfter(s, lo: lo, hi: hi, v, where: { nextTest.matches(v, $0) }) != nil { continue }
                dropped += 1
                let last = hi - 1
                var resumed = false
                var k = s + 1
                while k < hi { if v.times[k] - v.times[k - 1] > 30 * 86_400_000 { resumed = true; break }; k += 1 }
                let key = UInt64(v.events[last]) << 24 | UInt64(v.channels[last]) << 8 | UInt64(v.stages[last])
                var entry = byLast.removeValue(forKey: key) ?? (0, [], 0)
                entry.n += 1; entry.since.append(Double(end - v.times[last]))
                if resumed { entry.resumed += 1 }
                byLast[key] = entry
            }
        }
        let lasts = byLast.map { key, value in
            DropoffAggregate.Last(event: labelName(.event, UInt32(key >> 24)), channel: labelName(.channel, UInt32((key >> 8) & 0xFFFF)),
                                  stage: labelName(.stage, UInt32(key & 0xFF)), customers: value.n, since: value.since, resumed: value.resumed)
        }
        return ResultBuilder.dropoff(q, DropoffAggregate(reached: reached, dropped: dropped, lasts: lasts, end: end), filterNotes: filter.description)
    }
}
