import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    /// `compare A with B [won S]`: each side's customers (journey-level conditions, compiled to a flag per
    /// customer) and, over their events passing the filter, conversion, time to it, revenue, touches and touchpoints.
    public func compare(_ q: QueryPlan.Compare) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        let sides = try [q.a, q.b].map { j -> [Bool] in
            var f = BoundFilter(); f.journeys = j
            return try compile(f).journeys ?? [Bool](repeating: true, count: seq.customerCount)
        }
        let tables = StepTest.Tables()
        defer { withExtendedLifetime(tables) {} }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        var out = [CompareAggregate.Side(), CompareAggregate.Side()]
        // Touchpoints counted once per customer by code: the last customer that counted each code, and the
        // customer's distinct codes (a set of strings per customer cost ~0.7 s on 12M events).
        let codes = max(catalog.events.count, 1)
        var stamp = [Int](repeating: -1, count: codes), seen: [Int] = []
        var byCode = [[Int]](repeating: [Int](repeating: 0, count: codes), count: 2)
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                guard sides[0][c] || sides[1][c] else { continue }
                var first: Int64?, converted: Int64?, touches = 0, revenue = 0.0
                seen.removeAll(keepingCapacity: true)
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    if let f = eventFilter, !f.matches(v, i) { continue }
                    if first == nil { first = v.times[i] }
                    if converted == nil && v.stages[i] >= q.won { converted = v.times[i] }
                    touches += 1
                    let x = v.values[i]
                    if !x.isNaN { revenue += x }
                    let e = Int(v.events[i])
                    if e < codes, stamp[e] != c { stamp[e] = c; seen.append(e) }
                }
                guard let first else { continue }
                for s in 0..<2 where sides[s][c] {
                    out[s].customers += 1; out[s].touches += touches; out[s].revenue += revenue
                    if let converted { out[s].converted += 1; out[s].toConvert.append(Double(converted - first)) }
                    for e in seen { byCode[s][e] += 1 }
                }
            }
        }
        for s in 0..<2 { for e in 0..<codes where byCode[s][e] > 0 { out[s].byTouchpoint[labelName(.event, UInt32(e)), default: 0] += byCode[s][e] } }
        return ResultBuilder.compare(q, CompareAggregate(sides: out), filterNotes: filter.description)
    }
}
