import JourneyCore
import JourneyLanguage
import JourneyPlanner

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
    /// Steps that may be skipped (`b?`): skipped ones get index -1.
    public var optional: [Bool] = []
    /// `same PROPERTY`: every matched step's event has the entry event's value of this column.
    public var same: SameColumn?
    /// Events at one time: taken in step order (the default, as `windowFunnel`), in import order, or passed over
    /// (`strictly later`: they cannot be the next step, and with `order strict` they do not end the chain).
    public var ties: TieRule = .together
    /// The steps and the event filter compiled for the scan (see `StepTest`).
    let tests: [StepTest]
    let filterTest: StepTest?
    private let tables: StepTest.Tables

    public init(steps: [BoundPredicate], stepWithin: [Int64?], within: Int64?, order: FunnelOrder, entry: FunnelEntry,
                eventFilter: BoundPredicate?, exclusions: [(predicate: BoundPredicate, from: Int, to: Int)] = []) {
        self.steps = steps; self.stepWithin = stepWithin; self.within = within; self.order = order; self.entry = entry
        self.eventFilter = eventFilter; self.exclusions = exclusions
        let t = StepTest.Tables()
        tables = t
        tests = steps.map { StepTest($0, tables: t) }
        filterTest = eventFilter.map { StepTest($0, tables: t) }
    }
}


extension SameColumn {
    @inline(__always) func value(_ v: UnsafePackedView, _ i: Int) -> UInt32 {
        switch self {
        case .channel: return UInt32(v.channels[i])
        case .campaign: return v.campaigns[i]
        case .device: return UInt32(v.devices[i])
        case .source: return UInt32(v.sources[i])
        case .kind: return UInt32(v.kinds[i])
        }
    }
}

/// The common funnel compiled tighter: sequential (entry first or best), no exclusions, `same`, optional steps,
/// per-step windows or `strictly later`, every step a table over one column (ties together or in import order). The scan is then one table lookup
/// per event; an event-level filter is asked only about events that match a step (`FunnelMatcher.matchSimple`).
struct SimpleFunnel {
    enum Column { case event, channel, stage, kind }
    let column: Column
    let tables: UnsafeMutablePointer<UnsafePointer<Bool>>
    let counts: UnsafeMutablePointer<Int>
    let n: Int
    let within: Int64
    /// Entry best (as ClickHouse `windowFunnel`): every step-1 event is tried and the furthest level counts.
    let best: Bool
    /// The event-level filter, if any: events failing it are invisible (checked only for events that match a step).
    let filter: StepTest?
    /// Per code: bit k when it matches step k+1 (one lookup tells entry best which levels an event may extend,
    /// and lets it pass over the rest).
    let role: UnsafeMutablePointer<UInt32>
    let roleCount: Int
    /// Ties together: events at one time are taken in tie order (the lowest step they match, then import order).
    let together: Bool

    /// nil when the plan needs the general matcher.
    init?(_ plan: FunnelPlan) {
        guard plan.order == .sequential, plan.exclusions.isEmpty, plan.same == nil, plan.ties != .strictlyLater,
              plan.optional.isEmpty, plan.stepWithin.allSatisfy({ $0 == nil }), !plan.tests.isEmpty else { return nil }
        let cols: [Column?] = plan.tests.map {
            switch $0.column { case .event: return .event; case .channel: return .channel; case .stage: return .stage; case .kind: return .kind; default: return nil }
        }
        guard let c = cols[0], cols.allSatisfy({ $0 == c }), plan.tests.count <= 32 else { return nil }
        column = c
        filter = plan.filterTest
        n = plan.tests.count
        within = plan.within ?? .max
        best = plan.entry == .best
        together = plan.ties == .together
        tables = .allocate(capacity: n); counts = .allocate(capacity: n)
        for (k, t) in plan.tests.enumerated() { tables[k] = t.table.unsafelyUnwrapped; counts[k] = t.count }
        roleCount = plan.tests.map(\.count).max() ?? 0
        role = .allocate(capacity: max(roleCount, 1))
        role.initialize(repeating: 0, count: max(roleCount, 1))
        for (k, t) in plan.tests.enumerated() {
            for code in 0..<t.count where t.table.unsafelyUnwrapped[code] { role[code] |= 1 << UInt32(k) }
        }
    }

    func free() { tables.deallocate(); counts.deallocate(); role.deallocate() }
}

extension SimpleFunnel {
    /// The plain funnel (counted by customers, no groups) over the customers in `range`: adds how many reach
    /// each step to `reached` and appends the step-to-step times to `gaps`. The column is chosen once for the
    /// range, so a customer costs its scan and nothing else.
    func count(_ v: UnsafePackedView, _ range: Range<Int>, journeys: UnsafeBufferPointer<Bool>?, pruning: EntryPruning,
               scratch: UnsafeMutablePointer<Int>, matched: UnsafeMutablePointer<Int>, reached: UnsafeMutablePointer<Int>,
               gaps: inout [[Double]], cancelled: () -> Bool) throws {
        switch column {
        case .stage: try run(v.stages, v, range, journeys, pruning, scratch, matched, reached, &gaps, cancelled)
        case .event: try run(v.events, v, range, journeys, pruning, scratch, matched, reached, &gaps, cancelled)
        case .channel: try run(v.channels, v, range, journeys, pruning, scratch, matched, reached, &gaps, cancelled)
        case .kind: try run(v.kinds, v, range, journeys, pruning, scratch, matched, reached, &gaps, cancelled)
        }
    }

    @inline(__always)
    private func run<T: FixedWidthInteger>(_ codes: UnsafeBufferPointer<T>, _ v: UnsafePackedView, _ range: Range<Int>,
                                           _ journeys: UnsafeBufferPointer<Bool>?, _ pruning: EntryPruning,
                                           _ scratch: UnsafeMutablePointer<Int>, _ matched: UnsafeMutablePointer<Int>,
                                           _ reached: UnsafeMutablePointer<Int>, _ gaps: inout [[Double]], _ cancelled: () -> Bool) throws {
        if let f = filter {
            try loop(codes, v, range, journeys, pruning, scratch, matched, reached, &gaps, cancelled, FilterGate(test: f, v: v))
        } else {
            try loop(codes, v, range, journeys, pruning, scratch, matched, reached, &gaps, cancelled, OpenGate())
        }
    }

    @inline(__always)
    private func loop<T: FixedWidthInteger, G: EventGate>(_ codes: UnsafeBufferPointer<T>, _ v: UnsafePackedView, _ range: Range<Int>,
                                                           _ journeys: UnsafeBufferPointer<Bool>?, _ pruning: EntryPruning,
                                                           _ scratch: UnsafeMutablePointer<Int>, _ matched: UnsafeMutablePointer<Int>,
                                                           _ reached: UnsafeMutablePointer<Int>, _ gaps: inout [[Double]],
                                                           _ cancelled: () -> Bool, _ gate: G) throws {
        let off = v.offsets.baseAddress.unsafelyUnwrapped, t = v.times.baseAddress.unsafelyUnwrapped
        for c in range {
            if c & 0xFFF == 0, cancelled() { throw QueryCancelled() }
            if let j = journeys, !j[c] { continue }
            if !pruning.admits(c) { continue }
            let level = FunnelMatcher.scan(self, codes, v.times, Int(off[c]), Int(off[c + 1]), scratch, matched, gate)
            guard level > 0 else { continue }
            for k in 0..<level { reached[k] += 1 }
            var k = 1
            while k < level { gaps[k].append(Double(t[matched[k]] - t[matched[k - 1]])); k += 1 }
        }
    }
}

/// Which events a scan counts: all (`OpenGate`, compiled away) or those passing the event-level filter.
protocol EventGate { func admits(_ i: Int) -> Bool }
struct OpenGate: EventGate { @inline(__always) func admits(_ i: Int) -> Bool { true } }
struct FilterGate: EventGate {
    let test: StepTest
    let v: UnsafePackedView
    @inline(__always) func admits(_ i: Int) -> Bool { test.matches(v, i) }
}

/// The order the general matcher reads a customer's events in: positions 0..<count to event indexes.
protocol EventOrder {
    var count: Int { get }
    subscript(_ p: Int) -> Int { get }
}
extension UnsafeBufferPointer: EventOrder where Element == Int {}
/// The store's order, without an array: position p is event lo + p.
struct ImportOrder: EventOrder {
    let lo: Int, count: Int
    @inline(__always) subscript(_ p: Int) -> Int { lo + p }
}

public enum FunnelMatcher {
    /// `SimpleFunnel`'s scan over one customer's events `lo..<hi` (same result as `match` for such a plan).
    @inline(__always)
    static func matchSimple(_ f: SimpleFunnel, _ v: UnsafePackedView, _ lo: Int, _ hi: Int,
                            scratch: UnsafeMutablePointer<Int>, matched: UnsafeMutablePointer<Int>) -> Int {
        if let filter = f.filter { return matchSimple(f, v, lo, hi, scratch, matched, FilterGate(test: filter, v: v)) }
        return matchSimple(f, v, lo, hi, scratch, matched, OpenGate())
    }

    @inline(__always)
    static func matchSimple<G: EventGate>(_ f: SimpleFunnel, _ v: UnsafePackedView, _ lo: Int, _ hi: Int,
                                          _ scratch: UnsafeMutablePointer<Int>, _ matched: UnsafeMutablePointer<Int>, _ gate: G) -> Int {
        switch f.column {
        case .stage: return scan(f, v.stages, v.times, lo, hi, scratch, matched, gate)
        case .event: return scan(f, v.events, v.times, lo, hi, scratch, matched, gate)
        case .channel: return scan(f, v.channels, v.times, lo, hi, scratch, matched, gate)
        case .kind: return scan(f, v.kinds, v.times, lo, hi, scratch, matched, gate)
        }
    }

    @inline(__always)
    static func scan<T: FixedWidthInteger, G: EventGate>(_ f: SimpleFunnel, _ codes: UnsafeBufferPointer<T>, _ times: UnsafeBufferPointer<Int64>,
                                                          _ lo: Int, _ hi: Int, _ scratch: UnsafeMutablePointer<Int>,
                                                          _ matched: UnsafeMutablePointer<Int>, _ gate: G) -> Int {
        let c = codes.baseAddress.unsafelyUnwrapped, t = times.baseAddress.unsafelyUnwrapped
        let entryTable = f.tables[0], entryCount = f.counts[0]
        if f.best { return scanBest(f, c, t, lo, hi, scratch, matched, gate) }
        if f.together { return scanTogether(f, c, t, lo, hi, matched, gate) }
        let out = matched
        var i = lo
        while i < hi {
            // The next entry: an event matching step 1.
            while i < hi {
                let code = Int(c[i])
                if code < entryCount && entryTable[code] && gate.admits(i) { break }
                i += 1
            }
            if i == hi { break }
            out[0] = i
            let end = t[i] > Int64.max - f.within ? Int64.max : t[i] + f.within
            var level = 1
            var table = f.tables[1 < f.n ? 1 : 0], count = f.counts[1 < f.n ? 1 : 0]
            var j = i + 1
            // Times are read only for matching events: they are in order, so a match past the window means
            // every later event is past it too (and the times column stays out of the cache otherwise).
            while level < f.n && j < hi {
                let code = Int(c[j])
                if code < count && table[code] && gate.admits(j) {
                    if t[j] > end { break }
                    out[level] = j
                    level += 1
                    if level < f.n { table = f.tables[level]; count = f.counts[level] }
                }
                j += 1
            }
            return level
        }
        return 0
    }

    /// The steps an event matches (bit k = step k+1), from the role table.
    @inline(__always)
    static func role<T: FixedWidthInteger>(_ f: SimpleFunnel, _ c: UnsafePointer<T>, _ q: Int) -> UInt32 {
        let code = Int(c[q])
        return code < f.roleCount ? f.role[code] : 0
    }

    /// An event's place in the tie order of its time: the lowest step it matches, then its import position.
    @inline(__always) static func tieKey(firstStep: Int, _ q: Int) -> Int { firstStep << 32 | q }

    /// Of the events `g..<e` (all at one time) that match the step with bit `bit` and pass the gate, the first in
    /// tie order after the key `after` (-1: any), or -1.
    @inline(__always)
    static func firstTied<T: FixedWidthInteger, G: EventGate>(_ f: SimpleFunnel, _ c: UnsafePointer<T>, _ g: Int, _ e: Int,
                                                               _ bit: UInt32, after: Int, _ gate: G) -> Int {
        var best = -1, bestKey = Int.max
        for q in g..<e {
            let r = role(f, c, q)
            guard r & bit != 0 else { continue }
            let k = tieKey(firstStep: r.trailingZeroBitCount, q)
            if k > after && k < bestKey && gate.admits(q) { best = q; bestKey = k }
        }
        return best
    }

    /// Entry first with ties together: step k is the first event in (time, tie order) after step k−1's that
    /// matches it. The forward scan reads codes only; around a match it reads the times of the match's tie group
    /// (two reads when nothing ties), and within a group the step order decides, not the file.
    @inline(__always)
    static func scanTogether<T: FixedWidthInteger, G: EventGate>(_ f: SimpleFunnel, _ c: UnsafePointer<T>, _ t: UnsafePointer<Int64>,
                                                                  _ lo: Int, _ hi: Int, _ out: UnsafeMutablePointer<Int>, _ gate: G) -> Int {
        let entryTable = f.tables[0], entryCount = f.counts[0]
        var i = lo
        while i < hi {
            let code = Int(c[i])
            if code < entryCount && entryTable[code] && gate.admits(i) { break }
            i += 1
        }
        if i == hi { return 0 }
        out[0] = i
        let end = t[i] > Int64.max - f.within ? Int64.max : t[i] + f.within
        // The tie group [g, e) of the last matched event.
        var g = i, e = i + 1
        let t0 = t[i]
        while g > lo && t[g - 1] == t0 { g -= 1 }
        while e < hi && t[e] == t0 { e += 1 }
        var level = 1, prev = i
        while level < f.n {
            let bit = UInt32(1) << UInt32(level)
            var q = e - g > 1 ? firstTied(f, c, g, e, bit, after: tieKey(firstStep: role(f, c, prev).trailingZeroBitCount, prev), gate) : -1
            if q < 0 {
                var j = e
                while j < hi && !(role(f, c, j) & bit != 0 && gate.admits(j)) { j += 1 }
                if j == hi || t[j] > end { break }
                // j's group: the events before j at its time do not match this step (the scan passed them).
                let tj = t[j]
                g = j; e = j + 1
                while g > lo && t[g - 1] == tj { g -= 1 }
                while e < hi && t[e] == tj { e += 1 }
                q = e - g > 1 ? firstTied(f, c, j, e, bit, after: -1, gate) : j
            }
            out[level] = q; level += 1; prev = q
        }
        return level
    }

    /// Entry best in one pass (as ClickHouse's `windowFunnel`): per level, the latest start of a chain that got
    /// there and that chain's events. An event extends level k−1 to k when it matches step k within the window
    /// of that start and the start is later than level k's (later steps first, so one event serves one step).
    /// The level reached is the furthest any entry reaches; the chain kept is that of the latest entry getting
    /// that far (ties in time: the earlier one). With ties together, the events of one time are taken in tie
    /// order (the lowest step they match, then import order), as `windowFunnel` sorts them by (time, step).
    /// `scratch` holds n + n² entries.
    @inline(__always)
    static func scanBest<T: FixedWidthInteger, G: EventGate>(_ f: SimpleFunnel, _ c: UnsafePointer<T>, _ t: UnsafePointer<Int64>,
                                                              _ lo: Int, _ hi: Int, _ scratch: UnsafeMutablePointer<Int>,
                                                              _ matched: UnsafeMutablePointer<Int>, _ gate: G) -> Int {
        let n = f.n, within = Int(f.within)
        let start = scratch, chain = scratch + n
        for k in 0..<n { start[k] = Int.min }
        let role = f.role, roleCount = f.roleCount
        // Level 1's start and entry live in registers: most events only pass by.
        var entryStart = Int.min, entry = -1
        var j = lo
        while j < hi {
            let code = Int(c[j])
            let r = code < roleCount ? role[code] : 0
            if r == 0 || !gate.admits(j) { j += 1; continue }
            let time = Int(t[j])
            if f.together && j + 1 < hi && Int(t[j + 1]) == time {
                // A tie group: its events in tie order, one pass per first step present.
                var e = j + 1
                while e < hi && Int(t[e]) == time { e += 1 }
                var present: UInt32 = 0
                for q in j..<e { let rq = Self.role(f, c, q); if rq != 0 && gate.admits(q) { present |= 1 << UInt32(rq.trailingZeroBitCount) } }
                while present != 0 {
                    let first = present.trailingZeroBitCount
                    present &= present - 1
                    for q in j..<e {
                        let rq = Self.role(f, c, q)
                        if rq != 0 && rq.trailingZeroBitCount == first && gate.admits(q) {
                            take(q, rq, time, start, chain, n, within, &entryStart, &entry)
                        }
                    }
                }
                j = e
                continue
            }
            take(j, r, time, start, chain, n, within, &entryStart, &entry)
            j += 1
        }
        start[0] = entryStart; chain[0] = entry
        var level = 0
        while level < n && start[level] != Int.min { level += 1 }
        if level > 0 { matched.update(from: chain + (level - 1) * n, count: level) }
        return level
    }

    /// One event of the one-pass entry best: `j` at `time`, matching the steps in `r`. Per level the latest start
    /// and its chain (`chain[k*n ..< k*n+k+1]`); level 1's in `entryStart` and `entry`.
    @inline(__always)
    static func take(_ j: Int, _ r: UInt32, _ time: Int, _ start: UnsafeMutablePointer<Int>, _ chain: UnsafeMutablePointer<Int>,
                     _ n: Int, _ within: Int, _ entryStart: inout Int, _ entry: inout Int) {
        var steps = r & ~1   // the later steps this event matches, taken from the last down
        if steps != 0 && entryStart != Int.min {
            start[0] = entryStart; chain[0] = entry
            while steps != 0 {
                let k = 31 - steps.leadingZeroBitCount
                steps &= ~(1 << UInt32(k))
                let s = start[k - 1]
                if s > start[k] && time - s <= within {
                    start[k] = s
                    (chain + k * n).update(from: chain + (k - 1) * n, count: k)
                    chain[k * n + k] = j
                }
            }
        }
        // A new entry only when later in time: of equal times the earlier entry can do all the later can.
        if r & 1 != 0 && time > entryStart { entryStart = time; entry = j }
    }

    /// Matches one customer's events `lo..<hi`, read in the plan's tie order (`order` is its scratch): with ties
    /// together, the events of one time sorted by the lowest step they match (then import order); otherwise
    /// import order. Sequential: each step is the first matching event after the previous step's in that order
    /// (`strictly later`: at a later time); strict: the very next counted event, except that with ties together
    /// an event at the previous step's time or at the first time after it does not end the chain. Any order:
    /// from the entry, each counted event in the window takes the first unmatched step it matches; the level is
    /// the longest prefix of steps all matched. Entry `first`: the first step-1 event (any order: the first event
    /// matching any step) starts the window; `best`: the furthest level any entry reaches, with the events of the
    /// latest entry reaching it (ties in time: the earlier), as `scanBest` finds in one pass. An entry with an
    /// excluded event between its exclusion steps reaches level 0.
    /// Returns the level reached (0 = never entered); `matched[0..<level]` receives the matched events' indices
    /// (-1 for a skipped optional step). `scratch` and `matched` hold at least `plan.steps.count` entries.
    /// Entry best over sequential plans uses `IndexedEntryBest` (linear in the events) from this many events on;
    /// shorter journeys are followed entry by entry, which costs less than building the index.
    public static let indexedFrom = 48

    public static func match(_ plan: FunnelPlan, _ v: UnsafePackedView, _ lo: Int, _ hi: Int,
                             scratch: UnsafeMutablePointer<Int>, matched: UnsafeMutablePointer<Int>, order: inout [Int],
                             indexedFrom: Int = indexedFrom, tied: Bool? = nil) -> Int {
        let long = plan.entry == .best && hi - lo >= indexedFrom
        // Most customers have no two events at one time: their order is the store's, read without an array.
        if !long && !(plan.ties == .together && (tied ?? hasTies(v, lo, hi))) {
            return matchEach(plan, v, lo, hi, ImportOrder(lo: lo, count: hi - lo), scratch: scratch, matched: matched)
        }
        tieOrder(plan, v, lo, hi, &order)
        return order.withUnsafeBufferPointer { ord in
            if plan.entry == .best && plan.order == .sequential && ord.count >= indexedFrom {
                return IndexedEntryBest(plan, v, ord).best(scratch: scratch, matched: matched)
            }
            if plan.entry == .best && ord.count >= indexedFrom {
                return boundedBest(plan, v, lo, hi, ord, IndexedEntryBest(plan, v, ord), scratch: scratch, matched: matched)
            }
            return matchEach(plan, v, lo, hi, ord, scratch: scratch, matched: matched)
        }
    }

    /// Whether two of the customer's events share a time.
    @inline(__always) static func hasTies(_ v: UnsafePackedView, _ lo: Int, _ hi: Int) -> Bool {
        var e = lo + 1
        while e < hi { if v.times[e] == v.times[e - 1] { return true }; e += 1 }
        return false
    }

    /// Every entry followed forward (entry first: the first only), over the events in `ord`'s order.
    @inline(__always)
    static func matchEach<O: EventOrder>(_ plan: FunnelPlan, _ v: UnsafePackedView, _ lo: Int, _ hi: Int, _ ord: O,
                                         scratch: UnsafeMutablePointer<Int>, matched: UnsafeMutablePointer<Int>) -> Int {
        var bestLevel = 0, bestTime = Int64.min
        for p in 0..<ord.count {
            let i = ord[p]
            if let f = plan.filterTest, !f.matches(v, i) { continue }
            let isEntry = plan.order == .any ? plan.tests.contains { $0.matches(v, i) } : plan.tests[0].matches(v, i)
            guard isEntry else { continue }
            var (level, last) = plan.order == .any ? extendAnyOrder(plan, v, ord, p, scratch) : extend(plan, v, ord, p, scratch)
            if level > 0 && !plan.exclusions.isEmpty && excluded(plan, v, lo, hi, ord, scratch, level: level, lastConsidered: last) { level = 0 }
            if level > bestLevel || (level == bestLevel && level > 0 && v.times[i] > bestTime) {
                bestLevel = level; bestTime = v.times[i]
                for k in 0..<level { matched[k] = scratch[k] < 0 ? -1 : ord[scratch[k]] }
            }
            if plan.entry == .first { return bestLevel }
        }
        return bestLevel
    }

    /// Entry best in strict or any order on a long journey: the entries from the latest back, each followed
    /// only when the steps present in its window could let it beat the best found (a later entry wins a tie, so
    /// an earlier one must do strictly better, or as well at the same time). A customer with 60,000 entries and
    /// a step never done costs one pass, not 60,000 scans.
    static func boundedBest(_ plan: FunnelPlan, _ v: UnsafePackedView, _ lo: Int, _ hi: Int, _ ord: UnsafeBufferPointer<Int>,
                            _ index: IndexedEntryBest, scratch: UnsafeMutablePointer<Int>, matched: UnsafeMutablePointer<Int>) -> Int {
        var bestLevel = 0, bestTime = Int64.min, bestPos = Int.max
        var p = ord.count - 1
        while p >= 0 {
            defer { p -= 1 }
            let i = ord[p]
            if let f = plan.filterTest, !f.matches(v, i) { continue }
            let isEntry = plan.order == .any ? plan.tests.contains { $0.matches(v, i) } : plan.tests[0].matches(v, i)
            guard isEntry else { continue }
            let t = v.times[i]
            let bound = index.upperBound(from: p)
            if bound < bestLevel || (bound == bestLevel && (bestLevel == 0 || t != bestTime)) { continue }
            var (level, last) = plan.order == .any ? extendAnyOrder(plan, v, ord, p, scratch) : extend(plan, v, ord, p, scratch)
            if level > 0 && !plan.exclusions.isEmpty && excluded(plan, v, lo, hi, ord, scratch, level: level, lastConsidered: last) { level = 0 }
            // Forward, the first entry of the latest time reaching the furthest level wins: going back, a
            // further level, or the same level at the same time (an earlier entry of that time).
            if level > bestLevel || (level == bestLevel && level > 0 && t == bestTime && p < bestPos) {
                bestLevel = level; bestTime = t; bestPos = p
                for k in 0..<level { matched[k] = scratch[k] < 0 ? -1 : ord[scratch[k]] }
            }
        }
        return bestLevel
    }

    /// The order the general matcher reads a customer's events in: import order, or with ties together each
    /// run of equal times sorted by the lowest step its events match (events matching none last), then import order.
    static func tieOrder(_ plan: FunnelPlan, _ v: UnsafePackedView, _ lo: Int, _ hi: Int, _ order: inout [Int]) {
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: lo..<hi)
        if plan.ties == .together && hasTies(v, lo, hi) { sortTies(&order, v, plan.tests) }
    }

    /// Puts each run of events at one time into tie order: by the first of `steps` they match (none: last),
    /// then import order — the funnel's steps, or a pattern's as written. Runs of one event cost one comparison.
    static func sortTies(_ positions: inout [Int], _ v: UnsafePackedView, _ steps: [StepTest]) {
        var a = 0
        while a < positions.count {
            var b = a + 1
            while b < positions.count && v.times[positions[b]] == v.times[positions[a]] { b += 1 }
            if b - a > 1 {
                let keyed = positions[a..<b].map { i in (first: steps.firstIndex { $0.matches(v, i) } ?? steps.count, i: i) }
                positions.replaceSubrange(a..<b, with: keyed.sorted { $0.first != $1.first ? $0.first < $1.first : $0.i < $1.i }.map(\.i))
            }
            a = b
        }
    }

    /// Sequential and strict matching from the entry at position `start` of `ord`; `idx` receives positions.
    /// Returns the level and the last position looked at.
    static func extend<O: EventOrder>(_ plan: FunnelPlan, _ v: UnsafePackedView, _ ord: O, _ start: Int,
                       _ idx: UnsafeMutablePointer<Int>) -> (Int, Int) {
        idx[0] = start
        let t0 = v.times[ord[start]]
        let n = plan.steps.count
        let held = plan.same?.value(v, ord[start])
        let strictTogether = plan.order == .strict && plan.ties == .together
        var level = 1
        var p = start + 1
        var last = start
        var prevMatched = start
        var tPrev = t0
        // Strict order with ties together: the time of the first events after the previous step's time.
        var nextTime: Int64? = nil
        while level < n && p < ord.count {
            let j = ord[p]
            if let f = plan.filterTest, !f.matches(v, j) { p += 1; continue }
            let t = v.times[j]
            if let w = plan.within, t - t0 > w { break }
            if let w = plan.stepWithin[level], t - tPrev > w { break }
            if strictTogether && t != tPrev {
                // Strict order, ties together: the next step stands at the previous step's time or at the first
                // time after it; the events there that are not the step do not end the chain.
                if nextTime == nil { nextTime = t }
                if t != nextTime { break }
            }
            last = p
            if plan.ties == .strictlyLater && t == tPrev { p += 1; continue }
            // `same P`: the entry's value, and no value matches none (as SQL's NULL).
            let ok = held == nil || (held! != 0 && plan.same!.value(v, j) == held!)
            if ok && plan.tests[level].matches(v, j) {
                idx[level] = p; level += 1; prevMatched = p; tPrev = t; nextTime = nil
            } else if ok, let target = skipTarget(plan, v, j, from: level) {
                // Optional steps level..<target are skipped: this event is the later step.
                for k in level..<target { idx[k] = -1 }
                idx[target] = p; level = target + 1; prevMatched = p; tPrev = t; nextTime = nil
            } else if plan.order == .strict && !strictTogether {
                break
            }
            p += 1
        }
        if level == n { last = prevMatched }
        return (level, last)
    }

    /// The later step event `j` may match by skipping optional steps `from..<target`, if any.
    @inline(__always)
    static func skipTarget(_ plan: FunnelPlan, _ v: UnsafePackedView, _ j: Int, from: Int) -> Int? {
        guard !plan.optional.isEmpty else { return nil }
        var k = from
        while k < plan.steps.count && plan.optional[k] {
            if k + 1 < plan.steps.count && plan.tests[k + 1].matches(v, j) { return k + 1 }
            k += 1
        }
        return nil
    }

    /// Any order: each event in the window takes the first still unmatched step it matches (positions of `ord`).
    static func extendAnyOrder<O: EventOrder>(_ plan: FunnelPlan, _ v: UnsafePackedView, _ ord: O, _ start: Int,
                               _ idx: UnsafeMutablePointer<Int>) -> (Int, Int) {
        let n = plan.steps.count
        for k in 0..<n { idx[k] = -1 }
        let t0 = v.times[ord[start]]
        let held = plan.same?.value(v, ord[start])
        var p = start, last = start, matched = 0
        while p < ord.count && matched < n {
            let j = ord[p]
            if let f = plan.filterTest, !f.matches(v, j) { p += 1; continue }
            if let w = plan.within, v.times[j] - t0 > w { break }
            last = p
            if let held, p != start, held == 0 || plan.same!.value(v, j) != held { p += 1; continue }
            for k in 0..<n where idx[k] < 0 && plan.tests[k].matches(v, j) { idx[k] = p; matched += 1; break }
            p += 1
        }
        var level = 0
        while level < n && idx[level] >= 0 { level += 1 }
        return (level, last)
    }

    /// True when an exclusion event lies between its two steps (`idx` holds positions of `ord`). In import order
    /// (and strictly later): after step `from`'s event and before step `to`'s, or, when `to` was not reached, up
    /// to the last event the match looked at. With ties together, by time: strictly after step `from`'s time and
    /// strictly before step `to`'s, or, when `to` was not reached, no later than the last event looked at.
    static func excluded<O: EventOrder>(_ plan: FunnelPlan, _ v: UnsafePackedView, _ lo: Int, _ hi: Int, _ ord: O,
                         _ idx: UnsafeMutablePointer<Int>, level: Int, lastConsidered: Int) -> Bool {
        for x in plan.exclusions where x.from < level && idx[x.from] >= 0 {
            let reached = x.to < level && idx[x.to] >= 0
            if plan.ties == .together {
                let ta = v.times[ord[idx[x.from]]]
                let tb = reached ? v.times[ord[idx[x.to]]] : v.times[ord[lastConsidered]]
                let (a, b) = (min(ta, tb), max(ta, tb))
                // Times ascend with the index: from the earlier step's event, past the events at its time, while
                // before b (or at b).
                var e = ta <= tb ? ord[idx[x.from]] : reached ? ord[idx[x.to]] : ord[lastConsidered]
                while e < hi && v.times[e] <= a { e += 1 }
                while e < hi && (reached ? v.times[e] < b : v.times[e] <= b) {
                    if plan.eventFilter?.matches(v, e) ?? true, x.predicate.matches(v, e) { return true }
                    e += 1
                }
            } else {
                let a = idx[x.from]
                let b = reached ? idx[x.to] : lastConsidered + 1
                var p = min(a, b) + 1
                while p < max(a, b) {
                    if plan.eventFilter?.matches(v, ord[p]) ?? true, x.predicate.matches(v, ord[p]) { return true }
                    p += 1
                }
            }
        }
        return false
    }
}
