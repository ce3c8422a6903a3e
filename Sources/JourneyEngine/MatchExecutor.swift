import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    /// For `explain`: the steps every match needs, and the customers (with their events) that have them all and
    /// so are run through the automaton; the others are skipped after one pass over their events.
    public func matchScanned(_ q: QueryPlan.Matching) throws -> (matcher: PatternMatcher, customers: Int, events: Int) {
        let filter = try compile(q.filter)
        let m = try matcher(q)
        let eventFilter = filter.events.map { StepTest($0, tables: m.tables) }
        var cs = 0, es = 0
        var seen = [Bool](repeating: false, count: m.required.count)
        seq.withView { v in
            for c in 0..<seq.customerCount {
                if let j = filter.journeys, !j[c] { continue }
                for k in seen.indices { seen[k] = false }
                var n = 0
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) where eventFilter?.matches(v, i) ?? true {
                    n += 1
                    for k in seen.indices where !seen[k] && m.required[k].matches(v, i) { seen[k] = true }
                }
                if n > 0 && !seen.contains(false) { cs += 1; es += n }
            }
        }
        return (m, cs, es)
    }

    /// Compiles the statement's pattern.
    func matcher(_ q: QueryPlan.Matching) throws -> PatternMatcher {
        let tables = StepTest.Tables()
        return try PatternMatcher(q.pattern, within: q.within, tables: tables) { s in StepTest(try compile(s.predicate), tables: tables) }
    }

    /// Per customer (index, in order), the matches of the pattern among the events passing the event-level filter.
    /// Customers are split over the cores; `visit` runs afterwards on the calling thread.
    func forEachMatch(_ q: QueryPlan.Matching, _ visit: (_ c: Int, _ v: UnsafePackedView, _ matches: [(Int, Int)]) -> Void) throws -> CompiledFilter {
        let filter = try compile(q.filter)
        let m = try matcher(q)
        let eventFilter = filter.events.map { StepTest($0, tables: m.tables) }
        let required = m.required
        // Ties together (as the funnel's default): events at one time are read in tie order, by the first step of
        // the pattern (as written) they match, events matching none last, then import order.
        let tieTests = try q.pattern.steps.map { StepTest(try compile($0.predicate), tables: m.tables) }
        let parts = scanPartCount
        var found = [[(c: Int, matches: [(Int, Int)])]](repeating: [], count: parts)
        var errors = [Error?](repeating: nil, count: parts)
        seq.withView { v in
            found.withUnsafeMutableBufferPointer { out in
                errors.withUnsafeMutableBufferPointer { errs in
                    DispatchQueue.concurrentPerform(iterations: parts) { p in
                        let scratch = m.scratch()
                        var positions: [Int] = [], ms: [(Int, Int)] = []
                        var seen = [Bool](repeating: false, count: required.count)
                        do {
                            for c in customerRange(p, of: parts) {
                                try checkCancel(c)
                                if let j = filter.journeys, !j[c] { continue }
                                positions.removeAll(keepingCapacity: true)
                                for k in 0..<seen.count { seen[k] = false }
                                var missing = required.count
                                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) where eventFilter?.matches(v, i) ?? true {
                                    positions.append(i)
                                    if missing > 0 {
                                        for (k, r) in required.enumerated() where !seen[k] && r.matches(v, i) { seen[k] = true; missing -= 1 }
                                    }
                                }
                                if positions.isEmpty || missing > 0 { continue }
                                FunnelMatcher.sortTies(&positions, v, tieTests)
                                positions.withUnsafeBufferPointer { m.matches(v, $0, scratch, into: &ms) }
                                if !ms.isEmpty { out[p].append((c, ms)) }
                            }
                        } catch { errs[p] = error }
                    }
                }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
        seq.withView { v in for part in found { for (c, ms) in part { visit(c, v, ms) } } }
        return filter
    }

    /// `customers matching PATTERN`: who has a match, how many, the first and the latest.
    public func customersMatching(_ q: QueryPlan.Matching, keys: ([Int64]) throws -> [String]) throws -> [ResultTable] {
        let (aggregate, filter) = try customersMatchingAggregate(q, keys: keys)
        return ResultBuilder.customersMatching(q, aggregate, filterNotes: filter.description)
    }

    /// What `customers matching` shows, before it is laid out (the ClickHouse backend runs this on the customers
    /// the server picked).
    public func customersMatchingAggregate(_ q: QueryPlan.Matching, keys: ([Int64]) throws -> [String]) throws -> (MatchListAggregate, CompiledFilter) {
        var hits: [(c: Int, n: Int, first: (Int, Int), last: (Int, Int))] = []
        var total = 0
        let filter = try forEachMatch(q) { c, _, ms in
            hits.append((c, ms.count, ms[0], ms[ms.count - 1])); total += ms.count
        }
        let shown = hits.sorted { seq.times[$0.last.1] != seq.times[$1.last.1] ? seq.times[$0.last.1] > seq.times[$1.last.1] : $0.c < $1.c }.prefix(q.limit)
        let names = try keys(shown.map { seq.customerIDs[$0.c] })
        let chosen: [MatchListAggregate.Customer] = seq.withView { v in
            zip(shown, names).map { h, name in
                .init(key: name, matches: h.n, firstStart: v.times[h.first.0], firstEnd: v.times[h.first.1], lastEnd: v.times[h.last.1],
                      lastEvent: label(.event, v, h.last.1))
            }
        }
        return (MatchListAggregate(customers: hits.count, matches: total, storeCustomers: seq.customerCount, shown: chosen), filter)
    }

    /// `count matching PATTERN [by DIM]`: customers with a match and matches, per group.
    public func countMatching(_ q: QueryPlan.Matching) throws -> [ResultTable] {
        let (aggregate, filter) = try countMatchingAggregate(q)
        return ResultBuilder.countMatching(q, aggregate, filterNotes: filter.description)
    }

    /// What `count matching` shows, before it is laid out; a group's share is of the store's customers, or of
    /// those with that attribute value (counted here over the customers in `data`).
    public func countMatchingAggregate(_ q: QueryPlan.Matching) throws -> (MatchCountAggregate, CompiledFilter) {
        let grouped = try q.by.map(grouping)
        let dim = grouped?.events, attr = grouped?.values
        var groups: [String: (customers: Int, matches: Int)] = [:]
        var size: [String: Int] = [:]
        if let attr { for (c, a) in attr.enumerated() where seq.offsets[c + 1] > seq.offsets[c] { size[a, default: 0] += 1 } }
        var customers = 0, matches = 0
        let filter = try forEachMatch(q) { c, v, ms in
            let g = dim?.label(v, ms[0].0) ?? attr?[c] ?? "all"
            groups[g, default: (0, 0)].customers += 1
            groups[g, default: (0, 0)].matches += ms.count
            customers += 1; matches += ms.count
        }
        let aggregate = MatchCountAggregate(groups: groups.map { k, x in
            .init(label: k, customers: x.customers, matches: x.matches, base: q.by == nil || dim != nil ? seq.customerCount : size[k] ?? 0)
        }, customers: customers, matches: matches, storeCustomers: seq.customerCount)
        return (aggregate, filter)
    }
}
