import Foundation
import CPrefetch
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    // MARK: paths

    /// Most frequent sequences from the first A to the first B after it (or next/previous K, or whole journeys).
    ///
    /// Paths are keyed by label codes and named only for the rows shown; customers are split across the cores.
    /// Presence bits drop the customers without A (and count those with A but no B as "never") before any event
    /// is read; the remaining candidates are read with their columns prefetched a few customers ahead, since
    /// they are scattered over the whole store and each would otherwise wait on memory.
    public func paths(_ q: QueryPlan.Paths) throws -> [ResultTable] {
        let native = try compile(q)
        defer { withExtendedLifetime(native.tables) {} }   // the compiled tests point into it
        let filter = native.filter, from = native.from, to = native.to, eventFilter = native.eventFilter
        let fromPruning = native.fromPruning, toPruning = native.toPruning
        let limit = q.maxSteps
        let within = q.within?.milliseconds ?? .max
        let hasFrom = from != nil, hasTo = to != nil, keep = q.keepRepeats
        let fromCode = from?.code, toCode = to?.code
        let ellipsis = UInt32.max
        // Keys built in registers straight from the column when the shape allows (the common case).
        let registerKeys = eventFilter == nil && q.next == nil && q.previous == nil && limit < PackedPath.capacity
            && labelCount(q.show) < PackedPath.labelLimit
        let cutMiddle = hasFrom && hasTo && limit >= 2   // first K−1, …, B; otherwise the first K, …
        let parts = scanPartCount
        var tallies = [PathTally](repeating: PathTally(), count: parts)
        seq.withView { v in
            @inline(__always) func code(_ i: Int) -> UInt32 { labelCode(q.show, v, i) }
            // The columns a candidate's events are read from, to prefetch.
            func base<T>(_ b: UnsafeBufferPointer<T>) -> (UnsafeRawPointer?, Int) { (UnsafeRawPointer(b.baseAddress), MemoryLayout<T>.stride) }
            func columnBase(_ c: StepTest.Column?) -> (UnsafeRawPointer?, Int) {
                switch c {
                case .event: return base(v.events)
                case .channel: return base(v.channels)
                case .stage: return base(v.stages)
                case .kind: return base(v.kinds)
                case .campaign: return base(v.campaigns)
                default: return (nil, 0)
                }
            }
            let searched = columnBase(fromCode?.column ?? toCode?.column)
            let labelled: (UnsafeRawPointer?, Int)
            switch q.show {
            case .event: labelled = base(v.events)
            case .channel: labelled = base(v.channels)
            case .stage: labelled = base(v.stages)
            case .kind: labelled = base(v.kinds)
            }
            let timesBase = UnsafeRawPointer(v.times.baseAddress)
            tallies.withUnsafeMutableBufferPointer { out in
                DispatchQueue.concurrentPerform(iterations: parts) { p in
                    var tally = PathTally()
                    var idx: [Int] = []          // the counted events of one customer (only with an event filter)
                    var key: [UInt32] = []
                    // Candidates: the customers the journey filter and the presence signatures leave.
                    var candidates: [Int32] = []
                    for c in (seq.customerCount * p / parts)..<(seq.customerCount * (p + 1) / parts) {
                        if let j = filter.journeys, !j[c] { continue }
                        // No A means no path; A but no B at all means "never reached B", known without reading.
                        if !fromPruning.admits(c) { continue }
                        if !toPruning.admits(c) {
                            if hasFrom { tally.started += 1; tally.never += 1 }
                            continue
                        }
                        candidates.append(Int32(c))
                    }
                    let ahead = 8
                    do {
                        for n in 0..<candidates.count {
                            try checkCancel(n)
                            if n + 2 * ahead < candidates.count {
                                journey_prefetch(UnsafeRawPointer(v.offsets.baseAddress.unsafelyUnwrapped + Int(candidates[n + 2 * ahead])))
                            }
                            if n + ahead < candidates.count {
                                // Every line of the customer's events in the columns read (a long journey's too).
                                let c = Int(candidates[n + ahead])
                                let o = Int(v.offsets[c]), e = Int(v.offsets[c + 1])
                                @inline(__always) func fetch(_ base: (UnsafeRawPointer?, Int)) {
                                    guard let b = base.0 else { return }
                                    var line = b + o * base.1
                                    let end = b + min(e, o + 256) * base.1
                                    while line < end { journey_prefetch(line); line += 64 }
                                }
                                fetch(searched); fetch(labelled); fetch((timesBase, 8))
                            }
                            let c = Int(candidates[n])
                            let lo = Int(v.offsets[c]), hi = Int(v.offsets[c + 1])
                            // Positions 0..<count over the counted events: the events themselves, or those passing the filter.
                            let count: Int
                            if let f = eventFilter {
                                idx.removeAll(keepingCapacity: true)
                                for i in lo..<hi where f.matches(v, i) { idx.append(i) }
                                count = idx.count
                            } else { count = hi - lo }
                            guard count > 0 else { continue }
                            @inline(__always) func at(_ k: Int) -> Int { eventFilter == nil ? lo + k : idx[k] }
                            @inline(__always) func time(_ k: Int) -> Int64 { v.times[at(k)] }
                            // Plain loops over reference-free tests (no closure, no retain per event).
                            @inline(__always) func first(_ c: CodeTest?, _ t: StepTest?, from start: Int) -> Int? {
                                var k = start
                                if let c {
                                    // Without an event filter positions are events: scan the column directly.
                                    if eventFilter == nil { return c.firstMatch(v, from: lo + start, to: hi).map { $0 - lo } }
                                    while k < count { if c.matches(v, at(k)) { return k }; k += 1 }
                                    return nil
                                }
                                while k < count { if t.unsafelyUnwrapped.matches(v, at(k)) { return k }; k += 1 }
                                return nil
                            }
                            var a = 0
                            if hasFrom {
                                guard let f = first(fromCode, from, from: 0) else { continue }
                                a = f
                            }
                            var b = count - 1
                            if hasTo {
                                guard let e = first(toCode, to, from: hasFrom ? a + 1 : 0) else {
                                    if hasFrom { tally.started += 1; tally.never += 1 }
                                    continue
                                }
                                b = e
                                if hasFrom {
                                    // The first B after A is the earliest: if it is too late, every later one is too.
                                    if within != .max && time(b) - time(a) > within { tally.started += 1; tally.never += 1; continue }
                                } else if within != .max {
                                    while time(a) < time(b) - within { a += 1 }
                                }
                            } else if within != .max {
                                while time(b) - time(a) > within { b -= 1 }
                            }
                            if let k = q.next {
                                // A and the K steps after it (labels, repeats collapsed unless kept); the path ends
                                // at the first event of its last step.
                                key.removeAll(keepingCapacity: true)
                                for pos in a...b {
                                    let l = code(at(pos))
                                    if keep || key.last != l { if key.count > k { break }; key.append(l); b = pos }
                                }
                            } else if let k = q.previous {
                                // The K steps before B and B, read backwards; the path starts at the first event of
                                // its first step.
                                key.removeAll(keepingCapacity: true)
                                for pos in stride(from: b, through: a, by: -1) {
                                    let l = code(at(pos))
                                    if keep || key.last != l { if key.count > k { break }; key.append(l) }
                                    a = pos
                                }
                                key.reverse()
                            }
                            tally.started += 1
                            let d = Double(time(b) - time(a))
                            if q.next != nil || q.previous != nil { tally.add(key, ellipsis: ellipsis, duration: d); continue }
                            if registerKeys {
                                @inline(__always) func packed<T: FixedWidthInteger>(_ col: UnsafeBufferPointer<T>) -> PackedPath {
                                    PackedPath(labels: col.baseAddress.unsafelyUnwrapped, from: lo + a, through: lo + b,
                                               keepRepeats: keep, limit: limit, cutMiddle: cutMiddle)
                                }
                                switch q.show {
                                case .event: tally.add(packed(v.events), duration: d)
                                case .channel: tally.add(packed(v.channels), duration: d)
                                case .stage: tally.add(packed(v.stages), duration: d)
                                case .kind: tally.add(packed(v.kinds), duration: d)
                                }
                                continue
                            }
                            key.removeAll(keepingCapacity: true)
                            for k in a...b {
                                let l = code(at(k))
                                if keep || key.last != l { key.append(l) }
                            }
                            // Long middles become `…`, in place (the key keeps its buffer from customer to customer).
                            if key.count > limit && cutMiddle {
                                let lastLabel = key[key.count - 1]
                                key.removeSubrange((limit - 1)...)
                                key.append(ellipsis); key.append(lastLabel)
                            } else if key.count > limit {
                                key.removeSubrange(limit...); key.append(ellipsis)
                            }
                            tally.add(key, ellipsis: ellipsis, duration: d)
                        }
                    } catch { tally.error = error }
                    out[p] = tally
                }
            }
        }
        if let e = tallies.compactMap(\.error).first { throw e }

        // Merge the parts' paths into global ids.
        var globalIDs: [PathLabels: Int] = [:]
        var labels: [PathLabels] = [], counts: [Int] = []
        var toGlobal: [[Int]] = []
        var started = 0, neverReached = 0
        for t in tallies {
            started += t.started; neverReached += t.never
            var map = [Int](repeating: 0, count: t.counts.count)
            func merge(_ key: PathLabels, _ id: Int32) {
                let g: Int
                if let x = globalIDs[key] { g = x } else { g = labels.count; globalIDs[key] = g; labels.append(key); counts.append(0) }
                counts[g] += t.counts[Int(id)]
                map[Int(id)] = g
            }
            for (k, id) in t.ids { merge(.packed(k), id) }
            for (k, id) in t.longIDs { merge(.long(k), id) }
            toGlobal.append(map)
        }
        func name(_ c: UInt32) -> String { c == ellipsis ? "…" : labelName(q.show, c) }
        // Rank by customers, ties by name: only paths that can reach the top rows are named.
        let byCount = counts.indices.sorted { counts[$0] > counts[$1] }
        let threshold = q.top > 0 && byCount.count >= q.top ? counts[byCount[q.top - 1]] : (q.top > 0 ? 0 : Int.max)
        let shown = byCount.prefix { counts[$0] >= threshold }
            .map { g in (g, labels[g].codes(ellipsis: ellipsis).map(name).joined(separator: " → ")) }
            .sorted { counts[$0.0] != counts[$1.0] ? counts[$0.0] > counts[$1.0] : $0.1 < $1.1 }
            .prefix(q.top)
        // Durations bucketed by row (the last bucket is "other"), then medians by selection, not sorting.
        var row = [Int](repeating: shown.count, count: labels.count)
        for (r, s) in shown.enumerated() { row[s.0] = r }
        var durations = [[Double]](repeating: [], count: shown.count + 1)
        for (t, map) in zip(tallies, toGlobal) {
            for (id, d) in zip(t.pathOf, t.durations) { durations[row[map[Int(id)]]].append(d) }
        }
        let top = shown.enumerated().map { r, x in PathsAggregate.Path(name: x.1, customers: counts[x.0], durations: durations[r]) }
        return ResultBuilder.paths(q, PathsAggregate(top: top, otherPaths: labels.count - shown.count, otherDurations: durations[shown.count],
                                                     started: started, neverReached: neverReached), filterNotes: filter.description)
    }
}

/// One core's paths: an id per distinct path, its customers, and each counted customer's path and duration.
struct PathTally {
    var ids: [PackedPath: Int32] = [:]
    var longIDs: [[UInt32]: Int32] = [:]
    var counts: [Int] = []
    var pathOf: [Int32] = []
    var durations: [Double] = []
    var started = 0, never = 0
    var error: Error?

    @inline(__always) mutating func add(_ p: PackedPath, duration d: Double) {
        let id: Int32
        if let i = ids[p] { id = i; counts[Int(i)] += 1 } else { id = Int32(counts.count); ids[p] = id; counts.append(1) }
        pathOf.append(id); durations.append(d)
    }

    mutating func add(_ key: [UInt32], ellipsis: UInt32, duration d: Double) {
        if let p = PackedPath(key, ellipsis: ellipsis) { add(p, duration: d); return }
        let id: Int32
        if let i = longIDs[key] { id = i; counts[Int(i)] += 1 } else { id = Int32(counts.count); longIDs[key] = id; counts.append(1) }
        pathOf.append(id); durations.append(d)
    }
}

/// A path's labels: packed when they fit (always, for the same labels), else the codes themselves.
enum PathLabels: Hashable {
    case packed(PackedPath)
    case long([UInt32])

    func codes(ellipsis: UInt32) -> [UInt32] {
        switch self {
        case .packed(let p): return p.codes(ellipsis: ellipsis)
        case .long(let k): return k
        }
    }
}

/// A path of up to 8 labels, each below 65,534, in two words: slot i (16 bits) holds label + 1, 0 marks an
/// unused slot and 0xFFFF the `…`. A cheap key to hash, built without an array.
struct PackedPath: Hashable {
    var low: UInt64 = 0, high: UInt64 = 0
    static let capacity = 8, labelLimit = 0xFFFE
    static let ellipsisSlot: UInt64 = 0xFFFF

    @inline(__always) mutating func put(_ slot: Int, _ s: UInt64) {
        if slot < 4 { low |= s << UInt64(16 * slot) } else { high |= s << UInt64(16 * (slot - 4)) }
    }

    /// The labels `col[from...through]`, repeats collapsed unless kept; more than `limit` become the first
    /// `limit − 1`, `…` and the last (`cutMiddle`), or the first `limit` and `…`. Needs `limit < capacity`.
    @inline(__always) init<T: FixedWidthInteger>(labels col: UnsafePointer<T>, from: Int, through: Int, keepRepeats: Bool,
                                                limit: Int, cutMiddle: Bool) {
        var n = 0, last = UInt64.max
        var i = from
        while i <= through {
            let l = UInt64(col[i]) &+ 1
            if keepRepeats || l != last {
                if n < limit { put(n, l) }
                n &+= 1; last = l
            }
            i &+= 1
        }
        if n > limit {
            // `…` is all ones: put over the K-th label, it replaces it.
            if cutMiddle { put(limit - 1, Self.ellipsisSlot); put(limit, last) } else { put(limit, Self.ellipsisSlot) }
        }
    }

    /// The key packed, or nil when it has more than 8 labels or a label of 65,534 or more.
    init?(_ key: [UInt32], ellipsis: UInt32) {
        guard key.count <= Self.capacity else { return nil }
        for (i, l) in key.enumerated() {
            if l == ellipsis { put(i, Self.ellipsisSlot) } else if Int(l) < Self.labelLimit { put(i, UInt64(l) + 1) } else { return nil }
        }
    }

    func codes(ellipsis: UInt32) -> [UInt32] {
        var out: [UInt32] = []
        for slot in 0..<Self.capacity {
            let s = (slot < 4 ? low >> UInt64(16 * slot) : high >> UInt64(16 * (slot - 4))) & 0xFFFF
            if s == 0 { break }
            out.append(s == Self.ellipsisSlot ? ellipsis : UInt32(s - 1))
        }
        return out
    }
}

extension Executor {
    /// Paths compiled for this data: the end tests, the event filter and the presence pruning of A and B
    /// (without an event filter: positions are then events). `paths` runs it, `explain` describes it.
    public struct NativePaths {
        let tables: StepTest.Tables
        let filter: CompiledFilter
        let from: StepTest?, to: StepTest?, eventFilter: StepTest?
        let fromPruning: EntryPruning, toPruning: EntryPruning
    }

    public func compile(_ q: QueryPlan.Paths) throws -> NativePaths {
        let filter = try compile(q.filter)
        let tables = StepTest.Tables()
        let from = try q.from.map { StepTest(try compile($0.predicate), tables: tables) }
        let to = try q.to.map { StepTest(try compile($0.predicate), tables: tables) }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        return NativePaths(tables: tables, filter: filter, from: from, to: to, eventFilter: eventFilter,
                           fromPruning: eventFilter == nil ? from.map { EntryPruning.of([$0], data: data) } ?? .none : .none,
                           toPruning: eventFilter == nil ? to.map { EntryPruning.of([$0], data: data) } ?? .none : .none)
    }

    /// For `explain`: the customers (and their events) `paths` reads after the journey filter and the presence
    /// signatures of A and B, and whether the signatures prune at all.
    public func pathsScanned(_ p: NativePaths) -> (pruned: Bool, customers: Int, events: Int) {
        let filter = p.filter
        let prunings = [p.fromPruning, p.toPruning]
        var cs = 0, es = 0
        for c in 0..<seq.customerCount where (filter.journeys?[c] ?? true) && prunings.allSatisfy({ $0.admits(c) }) {
            cs += 1; es += Int(seq.offsets[c + 1] - seq.offsets[c])
        }
        return (prunings.contains { $0.described != "none" }, cs, es)
    }
}
