import JourneyCore
import JourneyLanguage

/// The funnel plan: bound steps, windows, order and entry rule.
public struct FunnelPlan {
    public var steps: [BoundPredicate]
    public var stepWithin: [Int64?]
    public var within: Int64?
    public var order: FunnelOrder
    public var entry: FunnelEntry
    public var eventFilter: BoundPredicate?
}

/// How far one customer got: the level reached (0 = never entered) and the index of each matched event.
public struct FunnelMatch { public var level: Int; public var eventIndex: [Int] }

public enum FunnelMatcher {
    /// Matches one customer's events `lo..<hi`. Sequential: each step is the first matching event after the
    /// previous step's event (equal timestamps allowed, import order kept); strict: the very next counted event.
    /// Entry `first`: the first step-1 event starts the window; `best`: the start that reaches furthest.
    public static func match(_ plan: FunnelPlan, _ v: UnsafePackedView, _ lo: Int, _ hi: Int, scratch: inout [Int]) -> FunnelMatch {
        var best = FunnelMatch(level: 0, eventIndex: [])
        var i = lo
        while i < hi {
            if let f = plan.eventFilter, !f.matches(v, i) { i += 1; continue }
            if plan.steps[0].matches(v, i) {
                scratch.removeAll(keepingCapacity: true)
                scratch.append(i)
                let level = extend(plan, v, i, hi, &scratch)
                if level > best.level { best = FunnelMatch(level: level, eventIndex: scratch) }
                if plan.entry == .first || level == plan.steps.count { return best }
            }
            i += 1
        }
        return best
    }

    static func extend(_ plan: FunnelPlan, _ v: UnsafePackedView, _ start: Int, _ hi: Int, _ idx: inout [Int]) -> Int {
        let t0 = v.times[start]
        var level = 1
        var j = start + 1
        while level < plan.steps.count && j < hi {
            if let f = plan.eventFilter, !f.matches(v, j) { j += 1; continue }
            let t = v.times[j]
            if let w = plan.within, t - t0 > w { break }
            if let w = plan.stepWithin[level], t - v.times[idx[level - 1]] > w { break }
            if plan.steps[level].matches(v, j) {
                idx.append(j); level += 1
            } else if plan.order == .strict {
                break
            }
            j += 1
        }
        return level
    }
}
