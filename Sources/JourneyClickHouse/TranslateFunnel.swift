import JourneyCore
import JourneyLanguage
import JourneyPlanner

/// The funnel in ClickHouse SQL. Per customer the events that matter are one array sorted in tie order
/// (`(ts, tie, seq, mask, gcode, held)`: bit k of `mask` = step k+1, the bits after the steps = the exclusions);
/// each entry's chain is then found with `arrayFirstIndex`, one step at a time. The plain funnel (sequential, no
/// optional step, no exclusion) finds step k from step k−1 directly; the general one carries the matcher's state
/// (level, last matched position and time) through one subquery per step, as `FunnelMatcher.extend` does.
extension Translator {
    /// One row per group: the group, the customers at each step, then per step k ≥ 2 the times from step k−1
    /// (in any order: from the entry).
    public func funnel(_ q: QueryPlan.Funnel) throws -> String {
        if q.unit == .accounts && !accountLevel {
            var t = self, c = q
            t.accountLevel = true; c.unit = .customers
            return try t.funnel(c)
        }
        if let t = try carrying(q.by) { return try t.funnel(q) }
        if q.order == .sequential && q.exclusions.isEmpty && !q.steps.contains(where: \.optional) { return try plainFunnel(q) }
        return try generalFunnel(q)
    }

    /// The group column of the funnel's events (`gcode`), and how a customer's group is named from it.
    func funnelGroup(_ q: QueryPlan.Funnel) throws -> (column: String, key: (String) -> String, join: String) {
        switch try group(q.by) {
        case .none: return ("0", { _ in "''" }, "")
        case .column(let expr, let f):
            // `pos`: the position of the event at the group's step (0: not reached).
            // A value, a property's text ("\u{1}": not reached), or a code.
            if f == nil && expr == "value" { return (expr, { pos in "if(\(pos) = 0, -1e308, ev[\(pos)].5)" }, "") }
            if f == nil && expr == "pv" { return (expr, { pos in "if(\(pos) = 0, \(SQL.string("\u{1}")), ev[\(pos)].5)" }, "") }
            return (expr, { pos in "if(\(pos) = 0, -1, toInt64(ev[\(pos)].5))" }, "")
        case .attribute(let a, let month): return ("0", { _ in "''" }, attributeJoin(a, month: month))
        }
    }

    /// Per customer the events passing the filters, in tie order; `all` keeps events matching no step too
    /// (strict order: they end a chain).
    func funnelEvents(_ q: QueryPlan.Funnel, groupColumn: String, all: Bool) throws -> String {
        let n = q.steps.count
        let steps = try q.steps.enumerated().map { k, s in "if(\(try predicate(s.step.predicate)), \(UInt64(1) << UInt64(k)), 0)" }
        let excluded = try q.exclusions.enumerated().map { x, e in "if(\(try predicate(e.step.predicate)), \(UInt64(1) << UInt64(n + x)), 0)" }
        let mask = (steps + excluded).joined(separator: " + ")
        // Ties together: an event's tie key is the lowest step it matches (exclusion bits lie above the steps'),
        // events matching none last.
        let tie = q.ties == .together ? "if(mask = 0, 18446744073709551615, bitAnd(mask, bitNot(mask) + 1))" : "0"
        return """
            SELECT customer, arraySort(x -> (x.1, x.2, x.3), groupArray((ts, tie, seq, mask, gcode, held))) AS ev
            FROM (SELECT customer, ts, seq, mask, \(tie) AS tie, gcode, held
                  FROM (SELECT customer, ts, seq, toUInt64(\(mask)) AS mask, \(groupColumn) AS gcode, toUInt32(\(q.same?.rawValue ?? "0")) AS held
                        FROM \(events) WHERE \(try conditions(q.filter)))
                  \(all ? "" : "WHERE mask != 0"))
            GROUP BY customer
            """
    }

    /// The last query of every funnel: per group the customers at each step (`i1…in` > 0) and the step times
    /// (`d2…dn`), from one row per customer.
    func funnelTotals(_ perCustomer: String, n: Int, join: String) -> String {
        let key = join.isEmpty ? "g" : "gattr"
        var outs = [key]
        for k in 1...n { outs.append("countIf(i\(k) > 0)") }
        for k in stride(from: 2, through: n, by: 1) { outs.append("groupArrayIf(d\(k), i\(k) > 0)") }
        return "SELECT \(outs.joined(separator: ", "))\nFROM (\(perCustomer)) AS l \(join)\nWHERE i1 > 0\nGROUP BY \(key)"
    }

    /// Entry best: of a customer's entries (a row each) the furthest level, then the latest entry time, then
    /// the earliest entry of that time (as `FunnelMatcher.matchEach`).
    func bestEntry(_ perEntry: String, n: Int) -> String {
        let fields = (1...n).map { "i\($0)" } + (2...max(2, n)).filter { $0 <= n }.map { "d\($0)" } + ["g"]
        let best = "SELECT customer, argMax(tuple(\(fields.joined(separator: ", "))), tuple(level, t0, -toInt64(e))) AS best FROM (\(perEntry)) GROUP BY customer"
        return "SELECT customer, " + fields.enumerated().map { "best.\($0.offset + 1) AS \($0.element)" }.joined(separator: ", ") + " FROM (\(best))"
    }

    func plainFunnel(_ q: QueryPlan.Funnel) throws -> String {
        let n = q.steps.count
        let (groupColumn, groupKey, join) = try funnelGroup(q)
        let events = try funnelEvents(q, groupColumn: groupColumn, all: false)
        let window = q.within.map { " AND x.1 <= t1 + \($0.milliseconds)" } ?? ""
        // Entry first: the first step-1 event. Entry best: every step-1 event is an entry (a row each, ARRAY JOIN),
        // its chain found the same way.
        var steps = q.entry == .first ? ["arrayFirstIndex(x -> bitAnd(x.4, 1) != 0, ev) AS i1", "if(i1 = 0, 0, ev[i1].1) AS t1"]
            : ["e AS i1", "ev[i1].1 AS t1"]
        for k in 2...max(2, n) where k <= n {
            let later = q.ties == .strictlyLater ? " AND x.1 > t\(k - 1)" : ""
            // `within D` after a step: at most D after the previous step's event.
            let stepWindow = q.steps[k - 1].within.map { " AND x.1 <= t\(k - 1) + \($0.milliseconds)" } ?? ""
            // `same P`: the entry's value, and no value matches none (as SQL's NULL).
            let same = q.same == nil ? "" : " AND ev[i1].6 != 0 AND x.6 = ev[i1].6"
            steps.append("if(i\(k - 1) = 0, 0, arrayFirstIndex((x, j) -> j > i\(k - 1) AND bitAnd(x.4, \(1 << (k - 1))) != 0\(window)\(stepWindow)\(later)\(same), ev, arrayEnumerate(ev))) AS i\(k)")
            steps.append("if(i\(k) = 0, 0, ev[i\(k)].1) AS t\(k)")
            steps.append("t\(k) - t\(k - 1) AS d\(k)")
        }
        let g = "\(groupKey("i\(q.groupStep + 1)")) AS g"
        if q.entry == .first {
            return funnelTotals("SELECT customer, \(steps.joined(separator: ", ")), \(g) FROM (\(events))", n: n, join: join)
        }
        let entries = "SELECT customer, ev, arrayFilter(j -> bitAnd(ev[j].4, 1) != 0, arrayEnumerate(ev)) AS entries FROM (\(events))"
        let level = (1...n).map { "(i\($0) > 0)" }.joined(separator: " + ")
        let perEntry = "SELECT customer, e, \(steps.joined(separator: ", ")), t1 AS t0, \(g), \(level) AS level FROM (\(entries)) ARRAY JOIN entries AS e"
        return funnelTotals(bestEntry(perEntry, n: n), n: n, join: join)
    }

    /// Strict and any order, optional steps and exclusions.
    func generalFunnel(_ q: QueryPlan.Funnel) throws -> String {
        let n = q.steps.count, stepBits = (UInt64(1) << UInt64(n)) - 1
        if n + q.exclusions.count > 62 { throw Untranslatable("a funnel of more than 62 steps and exclusions") }
        let (groupColumn, groupKey, join) = try funnelGroup(q)
        let events = try funnelEvents(q, groupColumn: groupColumn, all: q.order == .strict)
        let isEntry = { (x: String) in q.order == .any ? "bitAnd(\(x).4, \(stepBits)) != 0" : "bitAnd(\(x).4, 1) != 0" }
        var sql = q.entry == .first
            ? "SELECT customer, ev, arrayFirstIndex(x -> \(isEntry("x")), ev) AS e FROM (\(events)) WHERE e > 0"
            : "SELECT customer, ev, e FROM (\(events)) ARRAY JOIN arrayFilter(j -> \(isEntry("ev[j]")), arrayEnumerate(ev)) AS e"
        sql = "SELECT *, ev[e].1 AS t0, ev[e].6 AS held FROM (\(sql))"
        let huge: Int64 = 1_000_000_000_000_000_000
        let window = "toInt64(\(q.within?.milliseconds ?? huge))"
        let same = { (x: String) in q.same == nil ? "1" : "(held != 0 AND \(x).6 = held)" }
        // 18.16 does not count a column a lambda captures as needed from the subquery below: every column a
        // layer adds is named once more in `ignore(…)` at the top, so each is passed up.
        var named = ["e", "t0", "held"]
        func layer(_ columns: [String]) {
            sql = "SELECT *, \(columns.joined(separator: ", ")) FROM (\(sql))"
            named += columns.compactMap { c in c.range(of: " AS ", options: .backwards).map { String(c[$0.upperBound...]) } }
        }
        // Per step (0-based) its event's position `s0…` (0: not matched), the level, and where an unreached
        // exclusion ends: `lastT` (by time, ties together) or `lastP` (by position, otherwise).
        if q.order == .any {
            for k in 0..<n {
                // The first event from the entry in the window that matches step k and no earlier step still open.
                let earlier = (0..<k).map { " AND (bitAnd(x.4, \(UInt64(1) << UInt64($0))) = 0 OR (s\($0) > 0 AND s\($0) < j))" }.joined()
                layer(["arrayFirstIndex((x, j) -> j >= e AND bitAnd(x.4, \(UInt64(1) << UInt64(k))) != 0 AND x.1 <= t0 + \(window) AND (j = e OR \(same("x")))\(earlier), ev, arrayEnumerate(ev)) AS s\(k)"])
            }
            let all = "[" + (0..<n).map { "s\($0)" }.joined(separator: ", ") + "]"
            layer(["arrayFirstIndex(v -> v = 0, \(all)) AS open", "toUInt32(if(open = 0, \(n), open - 1)) AS L",
                   "arrayReduce('max', \(all)) AS lastAll", "if(open = 0, ev[lastAll].1, t0 + \(window)) AS lastT",
                   "if(open = 0, lastAll, arrayFirstIndex((x, j) -> x.1 > t0 + \(window), ev, arrayEnumerate(ev))) AS lastCut",
                   "toInt64(if(open = 0, toInt64(lastAll), if(lastCut = 0, toInt64(length(ev)), toInt64(lastCut) - 1))) AS lastP",
                   // Times run from the earliest event of the matched prefix.
                   "ev[arrayReduce('min', arrayFilter(v -> v > 0, arraySlice(\(all), 1, L)))].1 AS base"])
        } else {
            // The run of steps an event may take when waiting for step L (0-based): L and, past optional steps, up
            // to the first required one; the window of step L from the previous matched step.
            let runs = (0...n).map { l -> UInt64 in
                guard l < n else { return 0 }
                var r = UInt64(1) << UInt64(l), k = l
                while k + 1 < n && q.steps[k].optional { k += 1; r |= 1 << UInt64(k) }
                return r
            }
            let stepWindows = (0...n).map { l in l < n ? q.steps[l].within?.milliseconds ?? huge : huge }
            let runArray = "[" + runs.map { "toUInt64(\($0))" }.joined(separator: ", ") + "]"
            let windowArray = "[" + stepWindows.map { "toInt64(\($0))" }.joined(separator: ", ") + "]"
            layer(["toUInt32(1) AS L1", "e AS P1", "t0 AS T1"])
            let later = q.ties == .strictlyLater
            let strictTogether = q.order == .strict && q.ties == .together
            /// The scan from state m: its bound, the candidate (`k`), the next time (strict, ties together) and
            /// the event taken (`c`: 0 when none).
            func scan(_ m: Int, _ suffix: String) -> [String] {
                var cols = ["\(runArray)[L\(m) + 1] AS r\(suffix)",
                            "least(t0 + \(window), T\(m) + \(windowArray)[L\(m) + 1]) AS b\(suffix)"]
                let guardOpen = "L\(m) < \(n)"
                let takes = { (x: String) in "bitAnd(\(x).4, r\(suffix)) != 0 AND \(same(x))" }
                if q.order == .sequential {
                    cols.append("if(\(guardOpen), arrayFirstIndex((x, j) -> j > P\(m) AND \(takes("x")) AND x.1 <= b\(suffix)\(later ? " AND x.1 > T\(m)" : ""), ev, arrayEnumerate(ev)), 0) AS c\(suffix)")
                } else if !strictTogether {
                    // The very next counted event (strictly later: the next at a later time) must be the step.
                    cols.append("if(\(guardOpen), arrayFirstIndex((x, j) -> j > P\(m)\(later ? " AND x.1 > T\(m)" : ""), ev, arrayEnumerate(ev)), 0) AS k\(suffix)")
                    cols.append("if(k\(suffix) > 0 AND ev[k\(suffix)].1 <= b\(suffix) AND \(takes("ev[k\(suffix)]")), k\(suffix), 0) AS c\(suffix)")
                } else {
                    // The step stands at the previous step's time or at the first time after it (in the window).
                    cols.append("if(\(guardOpen), arrayFirstIndex((x, j) -> j > P\(m) AND x.1 > T\(m), ev, arrayEnumerate(ev)), 0) AS k\(suffix)")
                    cols.append("if(k\(suffix) > 0 AND ev[k\(suffix)].1 <= b\(suffix), ev[k\(suffix)].1, T\(m)) AS nt\(suffix)")
                    cols.append("if(\(guardOpen), arrayFirstIndex((x, j) -> j > P\(m) AND x.1 <= nt\(suffix) AND \(takes("x")), ev, arrayEnumerate(ev)), 0) AS c\(suffix)")
                }
                return cols
            }
            for m in stride(from: 2, through: n, by: 1) {
                layer(scan(m - 1, "\(m)"))
                let low = "bitAnd(ev[c\(m)].4, r\(m))"
                layer(["if(c\(m) > 0, toUInt32(round(log2(greatest(bitAnd(\(low), bitNot(\(low)) + 1), 1)))), 0) AS g\(m)",
                       "if(c\(m) > 0, g\(m) + 1, L\(m - 1)) AS L\(m)", "if(c\(m) > 0, c\(m), P\(m - 1)) AS P\(m)",
                       "if(c\(m) > 0, ev[c\(m)].1, T\(m - 1)) AS T\(m)"])
            }
            // Where the final state's scan stopped (the last event it looked at), for unreached exclusions.
            layer(scan(n, "F") + ["L\(n) AS L"])
            var cols = ["e AS s0"]
            for k in stride(from: 1, to: n, by: 1) {
                let taken = (2...max(2, n)).filter { $0 <= n }.map { "c\($0) > 0 AND g\($0) = \(k), c\($0)" }
                cols.append("multiIf(\(taken.joined(separator: ", ")), 0) AS s\(k)")
            }
            let done = "L = \(n)"
            switch (q.order, strictTogether) {
            case (.sequential, _):
                cols += ["if(\(done), T\(n), bF) AS lastT", "arrayFirstIndex((x, j) -> j > P\(n) AND x.1 > bF, ev, arrayEnumerate(ev)) AS cutF",
                         "if(\(done), toInt64(P\(n)), if(cutF = 0, toInt64(length(ev)), toInt64(cutF) - 1)) AS lastP"]
            case (_, true):
                cols += ["if(\(done), T\(n), ntF) AS lastT", "toInt64(P\(n)) AS lastP"]
            default:
                cols += ["if(\(done), T\(n), bF) AS lastT",
                         "if(\(done), toInt64(P\(n)), if(kF = 0, toInt64(length(ev)), if(ev[kF].1 <= bF, toInt64(kF), toInt64(kF) - 1))) AS lastP"]
            }
            layer(cols)
        }
        // An exclusion between steps f and t: an excluded event strictly after step f's and strictly before
        // step t's, or (t not reached) up to the last event the match looked at; by time with ties together.
        var excluded = ["0"]
        for (x, ex) in q.exclusions.enumerated() {
            let bit = UInt64(1) << UInt64(n + x)
            let (f, t) = (ex.from, ex.to)
            let reached = "(L > \(t) AND s\(t) > 0)"
            let test: String
            if q.ties == .together {
                let ta = "ev[s\(f)].1", tb = "if(\(reached), ev[s\(t)].1, lastT)"
                test = "x.1 > least(\(ta), \(tb)) AND if(\(reached), x.1 < greatest(\(ta), \(tb)), x.1 <= greatest(\(ta), \(tb)))"
            } else {
                let b = "if(\(reached), s\(t), lastP + 1)"
                test = "j > least(s\(f), \(b)) AND j < greatest(s\(f), \(b))"
            }
            excluded.append("(L > \(f) AND s\(f) > 0 AND arrayExists((x, j) -> bitAnd(x.4, \(bit)) != 0 AND \(test), ev, arrayEnumerate(ev)))")
        }
        var cols = ["if(\(excluded.joined(separator: " OR ")), 0, L) + ignore(\(named.joined(separator: ", "))) AS level"]
        for k in 1...n { cols.append("if(level > \(k - 1), s\(k - 1), 0) AS i\(k)") }
        for k in stride(from: 2, through: n, by: 1) {
            if q.order == .any {
                cols.append("if(i\(k) > 0, ev[i\(k)].1 - base, 0) AS d\(k)")
            } else {
                // From the nearest matched step before (optional steps may be skipped).
                let prev = (0..<(k - 1)).reversed().map { "s\($0) > 0, ev[s\($0)].1" }.joined(separator: ", ")
                cols.append("if(i\(k) > 0, ev[i\(k)].1 - multiIf(\(prev), 0), 0) AS d\(k)")
            }
        }
        cols.append("\(groupKey("if(level > \(q.groupStep), s\(q.groupStep), 0)")) AS g")
        let perEntry = "SELECT customer, e, t0, \(cols.joined(separator: ", ")) FROM (\(sql))"
        return funnelTotals(q.entry == .first ? perEntry : bestEntry(perEntry, n: n), n: n, join: join)
    }
}
