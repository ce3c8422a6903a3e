import JourneyCore
import JourneyLanguage

/// The funnel plan: bound steps, windows, order, entry rule and exclusions.
public struct FunnelPlan {
    public var steps: [BoundPredicate]
    public var stepWithin: [Int64?]
    public var within: Int64?
    public var order: FunnelOrder
    public var entry: FunnelEntry
    public var eventFilter: BoundPredicate?
    /// An event matching `predicate` after step `from`'s event and before step `to`'s (0-based) drops the entry.
    public var exclusions: [(predicate: BoundPredicate, from: Int, to: Int)] = []

    public init(steps: [BoundPredicate], stepWithin: [Int64?], within: Int64?, order: FunnelOrder, entry: FunnelEntry,
                eventFilter: BoundPredicate?, exclusions: [(predicate: BoundPredicate, from: Int, to: Int)] = []) {
        self.steps = steps; self.stepWithin = stepWithin; self.within = within; self.order = order; self.entry = entry
        self.eventFilter = eventFilter; self.exclusions = exclusions
    }
}

/// How far one customer got: the level reached (0 = never entered) and the index of each matched event.
public struct FunnelMatch { public var level: Int; public var eventIndex: [Int] }

public enum FunnelMatcher {
    /// Matches one customer's events `lo..<hi`. Sequential: each step is the first matching event after the
    /// previous step's event (equal timestamps allowed, import order kept); strict: the very next counted event.
    /// Any order: from the entry, each counted event in the window takes the first unmatched step it matches;
    /// the level is the longest prefix of steps all matched. Entry `first`: the first step-1 event (any order:
    /// the first event matching any step) starts the window; `best`: the start that reaches furthest.
    /// An entry with an excluded event between its exclusion steps reaches level 0.
    public static func match(_ plan: FunnelPlan, _ v: UnsafePackedView, _ lo: Int, _ hi: Int, scratch: inout [Int]) -> FunnelMatch {
        var best = FunnelMatch(level: 0, eventIndex: [])
        var i = lo
        while i < hi {
            if let f = plan.eventFilter, !f.matches(v, i) { i += 1; continue }
            let isEntry = plan.order == .any ? plan.steps.contains { $0.matches(v, i) } : plan.steps[0].matches(v, i)
            if isEntry {
                scratch.removeAll(keepingCapacity: true)
                var (level, last) = plan.order == .any ? extendAnyOrder(plan, v, i, hi, &scratch) : extend(plan, v, i, hi, &scratch)
                if level > 0 && excluded(plan, v, scratch, level: level, lastConsidered: last) { level = 0 }
                if level > best.level { best = FunnelMatch(level: level, eventIndex: scratch) }
                if plan.entry == .first || level == plan.steps.count { return best }
            }
            i += 1
        }
        return best
    }

    /// Sequential and strict matching from the entry at `start`; returns the level and the last event looked at.
    static func extend(_ plan: FunnelPlan, _ v: UnsafePackedView, _ start: Int, _ hi: Int, _ idx: inout [Int]) -> (Int, Int) {
        idx.append(start)
        let t0 = v.times[start]
        var level = 1
        var j = start + 1
        var last = start
        while level < plan.steps.count && j < hi {
            if let f = plan.eventFilter, !f.matches(v, j) { j += 1; continue }
            let t = v.times[j]
            if let w = plan.within, t - t0 > w { break }
            if let w = plan.stepWithin[level], t - v.times[idx[level - 1]] > w { break }
            last = j
            if plan.steps[level].matches(v, j) {
                idx.append(j); level += 1
            } else if plan.order == .strict {
                break
            }
            j += 1
        }
        if level == plan.steps.count { last = idx[level - 1] }
        return (level, last)
    }

    /// Any order: each event in the window takes the first still unmatched step it matches.
    static func extendAnyOrder(_ plan: FunnelPlan, _ v: UnsafePackedView, _ start: Int, _ hi: Int, _ idx: inout [Int]) -> (Int, Int) {
        let n = plan.steps.count
        for _ in 0..<n { idx.append(-1) }
        let t0 = v.times[start]
        var j = start, last = start, matched = 0
        while j < hi && matched < n {
            if let f = plan.eventFilter, !f.matches(v, j) { j += 1; continue }
            if let w = plan.within, v.times[j] - t0 > w { break }
            last = j
            for k in 0..<n where idx[k] < 0 && plan.steps[k].matches(v, j) { idx[k] = j; matched += 1; break }
            j += 1
        }
        var level = 0
        while level < n && idx[level] >= 0 { level += 1 }
        idx.removeLast(n - level)
        return (level, last)
    }

    /// True when an exclusion event lies between its two steps: after step `from`'s event and before step `to`'s
    /// event, or, when `to` was not reached, up to the last event the match looked at.
    static func excluded(_ plan: FunnelPlan, _ v: UnsafePackedView, _ idx: [Int], level: Int, lastConsidered: Int) -> Bool {
        for x in plan.exclusions where x.from < level {
            let a = idx[x.from]
            let b = x.to < level ? idx[x.to] : lastConsidered + 1
            var e = min(a, b) + 1
            while e < max(a, b) {
                if plan.eventFilter?.matches(v, e) ?? true, x.predicate.matches(v, e) { return true }
                e += 1
            }
        }
        return false
    }
}
