import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    /// `retention from S [returning R] [every day|week|month] [periods N] [by DIM]`: cohorts by the period of each
    /// customer's first S; the share of each cohort with an R event (any event by default) after that first S in
    /// period k after it (calendar periods).
    public func retention(_ q: QueryPlan.Retention) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        let tables = StepTest.Tables()
        defer { withExtendedLifetime(tables) {} }   // the compiled tests point into it
        let start = StepTest(try compile(q.start.predicate), tables: tables)
        let returning = try q.returning.map { StepTest(try compile($0.predicate), tables: tables) }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        let period = q.period
        let n = q.periods
        let grouped = try q.by.map(grouping)
        let dim = grouped?.events
        // A customer attribute's values as dense codes (names kept for the rows).
        let (attrCode, attrNames) = grouped?.denseValues ?? ([], [])
        let end = seq.times.max() ?? 0
        let endPeriod = period.index(end)
        let parts = scanPartCount
        var tallies = [RetentionTally](repeating: RetentionTally(periods: n), count: parts)
        var errors = [Error?](repeating: nil, count: parts)
        seq.withView { v in
            tallies.withUnsafeMutableBufferPointer { out in
                errors.withUnsafeMutableBufferPointer { errs in
                    DispatchQueue.concurrentPerform(iterations: parts) { p in
                        var tally = RetentionTally(periods: n)
                        var seen = [Bool](repeating: false, count: n)
                        var clock = PeriodClock(period)
                        do {
                            for c in customerRange(p, of: parts) {
                                try checkCancel(c)
                                if let j = filter.journeys, !j[c] { continue }
                                let lo = Int(v.offsets[c]), hi = Int(v.offsets[c + 1])
                                var b = lo
                                while b < hi && !((eventFilter?.matches(v, b) ?? true) && start.matches(v, b)) { b += 1 }
                                guard b < hi else { continue }
                                let birth = clock.index(v.times[b])
                                for k in 0..<n { seen[k] = false }
                                var i = b + 1
                                while i < hi {
                                    if (eventFilter?.matches(v, i) ?? true) && (returning?.matches(v, i) ?? true) {
                                        let k = clock.index(v.times[i]) - birth
                                        if k >= n { break }
                                        if k >= 0 { seen[k] = true }
                                    }
                                    i += 1
                                }
                                let key = dim.map { Int($0.code(v, b)) } ?? (q.by != nil ? attrCode[c] : birth)
                                let r = tally.row(key)
                                tally.size[r] += 1
                                for k in 0..<n where birth + k <= endPeriod {
                                    tally.eligible[r * n + k] += 1
                                    if k == 0 || seen[k] { tally.retained[r * n + k] += 1 }
                                }
                            }
                        } catch { errs[p] = error }
                        out[p] = tally
                    }
                }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
        var all = RetentionTally(periods: n)
        for t in tallies {
            for (key, r) in zip(t.keys, t.keys.indices) {
                let g = all.row(key)
                all.size[g] += t.size[r]
                for k in 0..<n { all.eligible[g * n + k] += t.eligible[r * n + k]; all.retained[g * n + k] += t.retained[r * n + k] }
            }
        }
        func name(_ key: Int) -> String { dim.map { $0.name(key) } ?? (q.by != nil ? attrNames[key] : period.label(key)) }
        let rows = all.keys.indices.map { r in
            RetentionAggregate.Row(label: name(all.keys[r]), period: all.keys[r], size: all.size[r],
                                   retained: Array(all.retained[(r * n)..<(r * n + n)]), eligible: Array(all.eligible[(r * n)..<(r * n + n)]))
        }
        return ResultBuilder.retention(q, RetentionAggregate(rows: rows, end: end), filterNotes: filter.description)
    }
}

/// One core's cohorts: a row per key (cohort period, event-field code or attribute code), its size and per
/// period the retained and eligible customers, in flat arrays.
struct RetentionTally {
    let periods: Int
    var rowOf: [Int: Int] = [:]
    var keys: [Int] = [], size: [Int] = [], retained: [Int] = [], eligible: [Int] = []
    init(periods: Int) { self.periods = periods }

    mutating func row(_ key: Int) -> Int {
        if let r = rowOf[key] { return r }
        let r = keys.count
        rowOf[key] = r; keys.append(key); size.append(0)
        retained += [Int](repeating: 0, count: periods); eligible += [Int](repeating: 0, count: periods)
        return r
    }
}

/// `RetentionPeriod.index` for times that mostly fall in the period asked last (a customer's events are in
/// time order): the calendar is consulted only when a time leaves the current period.
struct PeriodClock {
    let period: RetentionPeriod
    var low = Int64.max, high = Int64.min, current = 0
    init(_ period: RetentionPeriod) { self.period = period }

    @inline(__always) mutating func index(_ t: Int64) -> Int {
        if t >= low && t < high { return current }
        current = period.index(t); low = period.start(current); high = period.start(current + 1)
        return current
    }
}
