import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner

/// Runs bound statements over the packed journeys and returns tables.
public struct Executor {
    public let data: JourneyData
    public var isCancelled: () -> Bool = { false }
    public init(data: JourneyData) { self.data = data }

    var seq: PackedSequences { data.sequences }
    var catalog: Catalog { data.catalog }

    func checkCancel(_ c: Int) throws { if c & 0xFFF == 0, isCancelled() { throw QueryCancelled() } }

    /// How many parts the customer scans split into: one per core, two at most, one for small stores.
    var scanPartCount: Int { ProcessInfo.processInfo.activeProcessorCount > 1 && seq.customerCount > 20_000 ? 2 : 1 }

    /// The customers of part `p` of `parts`.
    func customerRange(_ p: Int, of parts: Int) -> Range<Int> {
        (seq.customerCount * p / parts)..<(seq.customerCount * (p + 1) / parts)
    }

    /// The parallel customer scan every statement shares: splits the customers into parts, runs `body` on each
    /// part's range on its own thread with its own partial result (starting as `initial`), and returns the
    /// partials in part order; the first error any part threw is rethrown.
    func scanParts<Part>(_ initial: Part, parts: Int? = nil,
                         _ body: (_ part: Int, _ customers: Range<Int>, _ v: UnsafePackedView, _ result: inout Part) throws -> Void) throws -> [Part] {
        let parts = parts ?? scanPartCount
        var results = [Part](repeating: initial, count: parts)
        var errors = [Error?](repeating: nil, count: parts)
        seq.withView { v in
            results.withUnsafeMutableBufferPointer { out in
                errors.withUnsafeMutableBufferPointer { errs in
                    DispatchQueue.concurrentPerform(iterations: parts) { p in
                        var part = initial
                        do { try body(p, customerRange(p, of: parts), v, &part) } catch { errs[p] = error }
                        out[p] = part
                    }
                }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
        return results
    }

    func attributeColumn(_ a: AttributeRef, month: Bool) throws -> [String] {
        let ids = seq.customerIDs
        let raw = a.scope == .account ? try data.attributes.accountAttribute(a.name, for: ids) : try data.attributes.customerAttribute(a.name, for: ids)
        return raw.map { v in
            guard let v else { return "(none)" }
            return month ? String(v.prefix(7)) : v
        }
    }

    // MARK: funnel

    /// A funnel compiled for this data: the matcher's plan, the tight scan when it applies, the entry pruning and
    /// the compiled filter. `run` executes it and `explain` describes it: the same object either way.
    public final class NativeFunnel {
        public let plan: QueryPlan.Funnel
        let compiled: FunnelPlan
        let simple: SimpleFunnel?
        let pruning: EntryPruning
        let filter: CompiledFilter
        init(plan: QueryPlan.Funnel, compiled: FunnelPlan, simple: SimpleFunnel?, pruning: EntryPruning, filter: CompiledFilter) {
            self.plan = plan; self.compiled = compiled; self.simple = simple; self.pruning = pruning; self.filter = filter
        }
        deinit { simple?.free() }
        /// Whether the tight scan runs it.
        public var tight: Bool { simple != nil }
    }

    public func compile(_ q: QueryPlan.Funnel) throws -> NativeFunnel {
        let filter = try compile(q.filter)
        var configured = FunnelPlan(steps: try q.steps.map { try compile($0.step.predicate) }, stepWithin: q.steps.map { $0.within?.milliseconds },
                                    within: q.within?.milliseconds, order: q.order, entry: q.entry, eventFilter: filter.events,
                                    exclusions: try q.exclusions.map { (try compile($0.step.predicate), $0.from, $0.to) })
        configured.same = q.same
        configured.ties = q.ties
        if q.steps.contains(where: \.optional) { configured.optional = q.steps.map(\.optional) }   // empty: no skip checks in the scan
        // Candidate pruning: customers without any event the entry could match are not read (none with an event
        // filter, whose positions the presence signatures do not know).
        let pruning = configured.filterTest == nil ? EntryPruning.of(q.order == .any ? configured.tests : [configured.tests[0]], data: data) : .none
        return NativeFunnel(plan: q, compiled: configured, simple: SimpleFunnel(configured), pruning: pruning, filter: filter)
    }

    public func funnel(_ q: QueryPlan.Funnel) throws -> [ResultTable] {
        if q.unit == .accounts {
            // Account level: the same funnel over each account's merged journey.
            var perAccount = q
            perAccount.unit = .customers
            return Self.asAccounts(try accountLevel().funnel(perAccount))
        }
        let native = try compile(q)
        // Captured by the scan threads: `let`s, so no copy or retain per access.
        let plan = native.compiled, simple = native.simple, pruning = native.pruning, filter = native.filter
        // Which customers have events at one time (built once per load; the general matcher needs it per customer).
        let tied = simple == nil && plan.ties == .together ? data.presence.tiedCustomers(seq) : nil
        let n = plan.steps.count
        let atStep = q.groupStep
        var groupOf: [String] = []
        let grouped = try q.by.map(grouping)
        let eventDim = grouped?.events, attr = grouped?.values
        /// Per customer, the steps matched (bit k = step k+1); a skipped optional step leaves its bit clear.
        /// (Kept only when groups need them; the plain count comes from the scan threads.)
        let keepLevels = q.by != nil
        var levels = [UInt32](repeating: 0, count: keepLevels ? seq.customerCount : 0)
        if q.by != nil { groupOf = [String](repeating: "", count: seq.customerCount) }
        /// What one thread's range of customers adds: step-to-step times, overall and per group.
        struct Partial { var gaps: [[Double]]; var byGroup: [String: [[Double]]] = [:]; var reached: [Int] = [] }
        let partials = try levels.withUnsafeMutableBufferPointer { levelOut in
            try groupOf.withUnsafeMutableBufferPointer { groupOut in
                try scanParts(Partial(gaps: [[Double]](repeating: [], count: n))) { _, range, v, part in
                    // Scratch: n for the general matcher, n + n² for the one-pass entry best.
                    let scratch = UnsafeMutablePointer<Int>.allocate(capacity: n + n * n), idx = UnsafeMutablePointer<Int>.allocate(capacity: n)
                    defer { scratch.deallocate(); idx.deallocate() }
                    var order: [Int] = []   // the general matcher's tie order, reused
                    part.reached = [Int](repeating: 0, count: n)
                    if let simple, !keepLevels {
                        // The common case: a loop of its own, with nothing per customer but the scan.
                        let reached = UnsafeMutablePointer<Int>.allocate(capacity: n)
                        reached.initialize(repeating: 0, count: n)
                        defer { reached.deallocate() }
                        if let j = filter.journeys {
                            try j.withUnsafeBufferPointer { jb in
                                try simple.count(v, range, journeys: jb, pruning: pruning, scratch: scratch, matched: idx,
                                                 reached: reached, gaps: &part.gaps, cancelled: isCancelled)
                            }
                        } else {
                            try simple.count(v, range, journeys: nil, pruning: pruning, scratch: scratch, matched: idx,
                                             reached: reached, gaps: &part.gaps, cancelled: isCancelled)
                        }
                        part.reached = Array(UnsafeBufferPointer(start: reached, count: n))
                        return
                    }
                    for c in range {
                        try checkCancel(c)
                        if let j = filter.journeys, !j[c] { continue }
                        if !pruning.admits(c) { continue }
                        let level = simple.map { FunnelMatcher.matchSimple($0, v, Int(v.offsets[c]), Int(v.offsets[c + 1]), scratch: scratch, matched: idx) }
                            ?? FunnelMatcher.match(plan, v, Int(v.offsets[c]), Int(v.offsets[c + 1]), scratch: scratch, matched: idx, order: &order,
                                                  tied: tied.map { $0[c] })
                        guard level > 0 else { continue }
                        var mask: UInt32 = 0
                        for k in 0..<level where idx[k] >= 0 { mask |= 1 << UInt32(k) }
                        if keepLevels { levelOut[c] = mask }
                        var m = mask
                        while m != 0 { part.reached[m.trailingZeroBitCount] += 1; m &= m - 1 }
                        var group = ""
                        if let d = eventDim { group = level > atStep && idx[atStep] >= 0 ? d.label(v, idx[atStep]) : "(not reached)"; groupOut[c] = group }
                        else if let attr { group = attr[c]; groupOut[c] = group }
                        // Any order has no previous step in time: its times run from the entry (the earliest matched event).
                        let entry = q.order == .any ? (0..<level).map { idx[$0] }.filter { $0 >= 0 }.min() ?? 0 : 0
                        var prevMatched = idx[0]
                        for k in 1..<max(1, level) {
                            guard idx[k] >= 0 else { continue }   // a skipped optional step
                            let from = q.order == .any ? entry : prevMatched
                            prevMatched = idx[k]
                            let g = Double(v.times[idx[k]] - v.times[from])
                            part.gaps[k].append(g)
                            if q.by != nil { part.byGroup[group, default: [[Double]](repeating: [], count: n)][k].append(g) }
                        }
                    }
                }
            }
        }
        var gaps = [[Double]](repeating: [], count: n)
        var gapsByGroup: [String: [[Double]]] = [:]
        for part in partials {
            for k in 0..<n { gaps[k] += part.gaps[k] }
            for (g, list) in part.byGroup {
                var acc = gapsByGroup[g] ?? [[Double]](repeating: [], count: n)
                for k in 0..<n { acc[k] += list[k] }
                gapsByGroup[g] = acc
            }
        }
        // The customers (at account level: the merged account journeys) at each step, of a group.
        func counts(_ members: (Int) -> Bool) -> [Int] {
            var out = [Int](repeating: 0, count: n)
            for c in 0..<levels.count where levels[c] != 0 && members(c) { for k in 0..<n where levels[c] & (1 << UInt32(k)) != 0 { out[k] += 1 } }
            return out
        }
        // "Previous" and "next" skip optional steps: an optional step is a detour, not a stage everyone passes.
        let optional = q.steps.map(\.optional)
        func previousRequired(_ k: Int) -> Int { var p = k - 1; while p > 0 && optional[p] { p -= 1 }; return p }
        func nextRequired(_ k: Int) -> Int? { var p = k + 1; while p < n && optional[p] { p += 1 }; return p < n ? p : nil }
        func rows(_ cnt: [Int], _ g: [[Double]], group: String?) -> [[Value]] {
            (0..<n).map { k in
                var times = g[k]
                var r: [Value] = []
                if let group { r.append(.text(group)) }
                let p = previousRequired(k)
                let dropped: Value = optional[k] ? .null : nextRequired(k).map { .int(cnt[k] - cnt[$0]) } ?? .int(0)
                r += [.text("\(k + 1). \(q.steps[k].text)\(optional[k] ? " (optional)" : "")"), .int(cnt[k]),
                      .percent(cnt[0] > 0 ? Double(cnt[k]) / Double(cnt[0]) : .nan),
                      .percent(k == 0 ? (cnt[0] > 0 ? 1 : .nan) : (cnt[p] > 0 ? Double(cnt[k]) / Double(cnt[p]) : .nan)),
                      dropped,
                      k == 0 || times.isEmpty ? .null : .duration(quantile(selecting: &times, 0.5)),
                      k == 0 || times.isEmpty ? .null : .duration(quantile(selecting: &times, 0.9))]
                return r
            }
        }
        let unitName = q.unit.rawValue
        var notes: [String] = []
        if let w = q.within { notes.append("window: \(w.text) from the entry (\(q.entry == .first ? "the first" : "the best") \(q.order == .any ? "event of any step" : q.steps[0].text))") }
        if q.order == .any { notes.append("order any: step k counts \(unitName) who did steps 1 to k in any order") }
        switch q.ties {
        case .strictlyLater: notes.append("strictly later: each step's event comes at a later time than the previous step's")
        case .importOrder: notes.append("ties in import order: a step's event at the previous step's time counts only when it comes later in the store")
        case .together: break
        }
        if let same = q.same { notes.append("same \(same.rawValue): every step's event has the entry event's \(same.rawValue); an event without one matches none") }
        for x in q.exclusions { notes.append("excluding \(x.step.text) between step \(x.from + 1) and step \(x.to + 1): such entries are dropped") }
        notes += filter.description
        if let by = q.by {
            let cols = [by.display, "step", unitName, "% of first", "% of previous", "dropped", "median time", "p90 time"]
            var groups: [String: Int] = [:]
            for c in 0..<levels.count where levels[c] != 0 { groups[groupOf[c], default: 0] += 1 }
            // By size, the top N and "other"; months in time order, every month shown.
            let topN = by.isMonths ? Int.max : q.top ?? 10
            let ranked = by.isMonths ? Self.monthsInOrder(Array(groups.keys))
                : groups.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
            let shown = Array(ranked.prefix(topN))
            var out: [[Value]] = []
            for g in shown { out += rows(counts { groupOf[$0] == g }, gapsByGroup[g] ?? [[Double]](repeating: [], count: n), group: g) }
            if ranked.count > topN {
                let rest = Set(ranked.dropFirst(topN))
                var g = [[Double]](repeating: [], count: n)
                for r in rest { for k in 0..<n { g[k] += gapsByGroup[r]?[k] ?? [] } }
                out += rows(counts { rest.contains(groupOf[$0]) }, g, group: "other")
            }
            if eventDim != nil { notes.append("each \(unitName.dropLast()) is counted under the \(by.display) of the event that matched step \(atStep + 1)") }
            return [ResultTable(title: "funnel by \(by.display)", columns: cols, rows: out, notes: notes,
                                chart: .groupedFunnel(group: 0, step: 1, value: 2))]
        }
        let cols = ["step", unitName, "% of first", "% of previous", "dropped", "median time", "p90 time"]
        // Every customer counted by customers: the scan threads summed them already.
        var totals = [Int](repeating: 0, count: n)
        for part in partials { for k in 0..<n { totals[k] += part.reached[k] } }
        return [ResultTable(title: "funnel", columns: cols, rows: rows(totals, gaps, group: nil), notes: notes,
                            chart: .funnel(label: 0, value: 1))]
    }
}
