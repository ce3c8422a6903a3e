import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

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
        // The neutral aggregate: per group the customers at each step and the step-to-step times.
        var groups: [String: FunnelAggregate.Group] = [:]
        if q.by == nil {
            var all = FunnelAggregate.Group(steps: n)
            for part in partials { all.add(FunnelAggregate.Group(reached: part.reached, gaps: part.gaps)) }
            groups[""] = all
        } else {
            // One hash per customer (its group's number), then counts in a flat array.
            var number: [String: Int] = [:], names: [String] = [], reached: [Int] = []
            for c in 0..<levels.count where levels[c] != 0 {
                let g: Int
                if let k = number[groupOf[c]] { g = k } else {
                    g = names.count; number[groupOf[c]] = g; names.append(groupOf[c])
                    reached += [Int](repeating: 0, count: n)
                }
                var m = levels[c]
                while m != 0 { reached[g * n + m.trailingZeroBitCount] += 1; m &= m - 1 }
            }
            for (g, name) in names.enumerated() { groups[name] = .init(reached: Array(reached[(g * n)..<(g * n + n)]), gaps: [[Double]](repeating: [], count: n)) }
            for part in partials {
                for (g, list) in part.byGroup { for k in 0..<n { groups[g, default: .init(steps: n)].gaps[k] += list[k] } }
            }
        }
        return ResultBuilder.funnel(q, FunnelAggregate(groups: groups), filterNotes: filter.description)
    }
}
