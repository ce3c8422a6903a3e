import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    /// `customers who COND and COND … [where …] [limit N]`: the customers every condition holds for, most recently
    /// active first — the list to act on (a stalled deal, a lead gone quiet).
    public func customers(_ q: QueryPlan.Customers, keys: ([Int64]) throws -> [String]) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        enum Test { case reached(StepTest, Bool), silent(Int64) }
        let tables = StepTest.Tables()
        defer { withExtendedLifetime(tables) {} }   // the compiled tests point into it
        let tests: [Test] = try q.conditions.map { c in
            switch c {
            case .reached(let e, let negated): return .reached(StepTest(try compile(e.predicate), tables: tables), negated)
            case .silentFor(let d): return .silent(d.milliseconds)
            }
        }
        let end = seq.times.max() ?? 0
        // The conditions split once: step tests with whether each must or must not be reached, and the silences.
        var steps: [StepTest] = [], negated: [Bool] = [], silences: [Int64] = []
        for t in tests {
            switch t {
            case .reached(let s, let n): steps.append(s); negated.append(n)
            case .silent(let d): silences.append(d)
            }
        }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        var hits: [(c: Int, first: Int, last: Int, touches: Int)] = []
        var reached = [Bool](repeating: false, count: steps.count)
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                var first = -1, last = -1, touches = 0
                for k in 0..<steps.count { reached[k] = false }
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    if let f = eventFilter, !f.matches(v, i) { continue }
                    if first < 0 { first = i }
                    last = i; touches += 1
                    for k in 0..<steps.count where !reached[k] && steps[k].matches(v, i) { reached[k] = true }
                }
                guard last >= 0 else { continue }
                var ok = true
                for k in 0..<steps.count where reached[k] == negated[k] { ok = false; break }
                for d in silences where !(end - v.times[last] > d) { ok = false; break }
                if ok { hits.append((c, first, last, touches)) }
            }
        }
        let shown = firstK(q.limit, of: hits) { seq.times[$0.last] != seq.times[$1.last] ? seq.times[$0.last] > seq.times[$1.last] : $0.c < $1.c }
        let names = try keys(shown.map { seq.customerIDs[$0.c] })
        let chosen: [CustomerListAggregate.Customer] = seq.withView { v in
            zip(shown, names).map { h, name in
                .init(key: name, firstTouch: v.times[h.first], lastTouch: v.times[h.last], event: label(.event, v, h.last),
                      channel: label(.channel, v, h.last), stage: label(.stage, v, h.last), touches: h.touches)
            }
        }
        return ResultBuilder.customers(q, CustomerListAggregate(total: hits.count, shown: chosen, end: end), filterNotes: filter.description)
    }
}
