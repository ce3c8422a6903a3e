import JourneyCore

/// Entry best for sequential plans the tight scan does not take (exclusions, `same`, optional steps, per-step
/// windows, `strictly later`), linear in a customer's events for any number of entries.
///
/// Trying every entry and following it forward (`FunnelMatcher.extend`) costs entries × window. Here each
/// entry's chain is the same greedy chain — step k is the first counted event after step k−1's (in the tie
/// order) that is step k, or a later step past optional ones — but every "first event after" is a lookup:
/// per step, the next matching position after each position (with `same`: per step and value, the sorted
/// positions, searched by halving). Exclusions are counted with prefix sums, `last event looked at` is found by
/// halving the times. An entry then costs its steps, whatever the customer's length.
struct IndexedEntryBest {
    let plan: FunnelPlan
    let v: UnsafePackedView
    let ord: UnsafeBufferPointer<Int>
    let m: Int
    /// Per step (index 1…n−1, without `same`): `next[k][p]` = the first counted position after p matching step k, or m.
    var next: [[Int]] = []
    /// Per step (with `same`): value → the counted positions matching step k with that value, ascending.
    var byValue: [[UInt32: [Int]]] = []
    /// Per position: the last counted position at or before it (-1: none).
    var lastCounted: [Int]
    /// Per exclusion: counted positions before p matching it.
    var excludedBefore: [[Int]]
    /// Per position: the first position after its tie group (events at one time).
    var groupEnd: [Int]

    init(_ plan: FunnelPlan, _ v: UnsafePackedView, _ ord: UnsafeBufferPointer<Int>) {
        self.plan = plan; self.v = v; self.ord = ord
        let m = ord.count
        self.m = m
        let n = plan.tests.count
        let counted = (0..<m).map { plan.filterTest?.matches(v, ord[$0]) ?? true }
        lastCounted = [Int](repeating: -1, count: m)
        var lc = -1
        for p in 0..<m { if counted[p] { lc = p }; lastCounted[p] = lc }
        groupEnd = [Int](repeating: m, count: m)
        var p = m - 1
        while p >= 0 {
            let t = v.times[ord[p]]
            var g = p
            while g > 0 && v.times[ord[g - 1]] == t { g -= 1 }
            for q in g...p { groupEnd[q] = p + 1 }
            p = g - 1
        }
        if let same = plan.same {
            byValue = [[UInt32: [Int]]](repeating: [:], count: n)
            for k in 0..<n {
                for p in 0..<m where counted[p] && plan.tests[k].matches(v, ord[p]) { byValue[k][same.value(v, ord[p]), default: []].append(p) }
            }
        } else {
            next = [[Int]](repeating: [], count: n)
            for k in 0..<n {
                var row = [Int](repeating: m, count: m)
                var current = m
                var q = m - 1
                while q >= 0 {
                    row[q] = current
                    if counted[q] && plan.tests[k].matches(v, ord[q]) { current = q }
                    q -= 1
                }
                next[k] = row
            }
        }
        excludedBefore = plan.exclusions.map { x in
            var sums = [Int](repeating: 0, count: m + 1)
            for p in 0..<m { sums[p + 1] = sums[p] + (counted[p] && x.predicate.matches(v, ord[p]) ? 1 : 0) }
            return sums
        }
    }

    /// The first counted position after `p` matching step `k`, with the value `held` under `same`; m if none.
    func first(_ k: Int, after p: Int, held: UInt32?) -> Int {
        guard let held else { return p + 1 < m ? next[k][p] : m }
        guard held != 0, let list = byValue[k][held] else { return m }   // no value matches none
        var a = 0, b = list.count
        while a < b { let mid = (a + b) / 2; if list[mid] > p { b = mid } else { a = mid + 1 } }
        return a < list.count ? list[a] : m
    }

    /// A bound on the level the entry at `p` can reach in any order or strict order: the steps, from the first,
    /// each with a counted event (of the entry's value under `same`) from the entry to the window's end.
    func upperBound(from p: Int) -> Int {
        let t0 = v.times[ord[p]]
        let end = plan.within.map { t0 > Int64.max - $0 ? Int64.max : t0 + $0 } ?? .max
        let held = plan.same?.value(v, ord[p])
        var level = 0
        for k in 0..<plan.tests.count {
            // The entry itself counts whatever its value; others need the held one (and a value at all).
            let q = plan.tests[k].matches(v, ord[p]) && (plan.filterTest?.matches(v, ord[p]) ?? true) ? p
                : first(k, after: p, held: held.map { $0 == 0 ? UInt32.max : $0 })
            // An optional step may be skipped: it never lowers the bound.
            guard (q < m && v.times[ord[q]] <= end) || (plan.optional.indices.contains(k) && plan.optional[k]) else { break }
            level += 1
        }
        return level
    }

    /// The first position whose time is after `t` (m if none).
    func firstAfter(time t: Int64) -> Int {
        var a = 0, b = m
        while a < b { let mid = (a + b) / 2; if v.times[ord[mid]] > t { b = mid } else { a = mid + 1 } }
        return a
    }

    /// The chain of the entry at position `start` into `idx` (positions; -1 for a skipped optional step), as
    /// `FunnelMatcher.extend` builds it for sequential order; returns the level and the last position looked at.
    func chain(from start: Int, _ idx: UnsafeMutablePointer<Int>) -> (Int, Int) {
        let n = plan.tests.count
        let t0 = v.times[ord[start]]
        let held = plan.same?.value(v, ord[start])
        idx[0] = start
        var level = 1, prev = start
        while level < n {
            // Where the search starts: after the previous step's event, or past its whole time (strictly later).
            let from = plan.ties == .strictlyLater ? groupEnd[prev] - 1 : prev
            var bestQ = m, bestTarget = level
            var k = level
            while true {
                let q = first(k, after: from, held: held)
                if q < bestQ { bestQ = q; bestTarget = k }
                guard k < n - 1 && plan.optional.indices.contains(k) && plan.optional[k] else { break }
                k += 1
            }
            let tPrev = v.times[ord[prev]]
            // The time bound of this search: the window from the entry and this step's own window.
            var bound = Int64.max
            if let w = plan.within { bound = t0 > Int64.max - w ? .max : t0 + w }
            if let w = plan.stepWithin[level] { bound = min(bound, tPrev > Int64.max - w ? .max : tPrev + w) }
            if bestQ == m || v.times[ord[bestQ]] > bound {
                let end = bound == .max ? m : firstAfter(time: bound)
                return (level, max(prev, end > 0 ? lastCounted[end - 1] : -1))
            }
            for s in level..<bestTarget { idx[s] = -1 }
            idx[bestTarget] = bestQ
            level = bestTarget + 1
            prev = bestQ
        }
        return (level, prev)
    }

    /// Whether an exclusion lies between its steps (the rule of `FunnelMatcher.excluded`, counted by prefix sums).
    func excluded(_ idx: UnsafeMutablePointer<Int>, level: Int, last: Int) -> Bool {
        for (e, x) in plan.exclusions.enumerated() where x.from < level && idx[x.from] >= 0 {
            let reached = x.to < level && idx[x.to] >= 0
            let sums = excludedBefore[e]
            let lo: Int, hi: Int   // positions lo..<hi are between
            if plan.ties == .together {
                let ta = v.times[ord[idx[x.from]]], tb = reached ? v.times[ord[idx[x.to]]] : v.times[ord[last]]
                lo = firstAfter(time: min(ta, tb))
                hi = reached ? firstAfter(time: max(ta, tb) - 1) : firstAfter(time: max(ta, tb))
            } else {
                let a = idx[x.from], b = reached ? idx[x.to] : last + 1
                lo = min(a, b) + 1; hi = max(a, b)
            }
            if hi > lo && sums[hi] - sums[lo] > 0 { return true }
        }
        return false
    }

    /// Entry best: every entry's chain; the furthest level, with the events of the latest entry reaching it
    /// (ties in time: the earlier), as `FunnelMatcher.match`.
    func best(scratch: UnsafeMutablePointer<Int>, matched: UnsafeMutablePointer<Int>) -> Int {
        var bestLevel = 0, bestTime = Int64.min
        for p in 0..<m {
            let i = ord[p]
            if let f = plan.filterTest, !f.matches(v, i) { continue }
            guard plan.tests[0].matches(v, i) else { continue }
            var (level, last) = chain(from: p, scratch)
            if level > 0 && !plan.exclusions.isEmpty && excluded(scratch, level: level, last: last) { level = 0 }
            if level > bestLevel || (level == bestLevel && level > 0 && v.times[i] > bestTime) {
                bestLevel = level; bestTime = v.times[i]
                for k in 0..<level { matched[k] = scratch[k] < 0 ? -1 : ord[scratch[k]] }
            }
        }
        return bestLevel
    }
}
