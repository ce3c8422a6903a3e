import Foundation
import JourneyCore
import JourneyLanguage

extension Executor {
    // MARK: paths

    /// Most frequent sequences from the first A to the first B after it (or next/previous K, or whole journeys).
    /// Paths are keyed by label codes and named only for the rows shown; customers are split across the cores.
    public func paths(_ q: PathsQuery, binder: inout Binder) throws -> [ResultTable] {
        let filter = try binder.bindFilter(q.filter, data: data)
        let tables = StepTest.Tables()
        let from = try q.from.map { StepTest(try binder.bindEvent($0), tables: tables) }
        let to = try q.to.map { StepTest(try binder.bindEvent($0), tables: tables) }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        let limit = q.next ?? q.previous ?? q.maxSteps
        let hasFrom = from != nil, hasTo = to != nil, keep = q.keepRepeats
        // Without an event filter (positions are events), presence bits prune customers lacking A or B.
        let fromPruning = eventFilter == nil ? from.map { EntryPruning.of([$0], data: data) } ?? .none : .none
        let toPruning = eventFilter == nil ? to.map { EntryPruning.of([$0], data: data) } ?? .none : .none
        let fromCode = from?.code, toCode = to?.code
        let ellipsis = UInt32.max
        struct Partial {
            var paths: [[UInt32]: (n: Int, durations: [Double])] = [:]
            /// Short paths (up to 5 labels, each below 4095) packed into one integer: a cheaper key to hash.
            var packed: [UInt64: (n: Int, durations: [Double])] = [:]
            var started = 0; var never = 0; var error: Error?
        }
        let parts = ProcessInfo.processInfo.activeProcessorCount > 1 && seq.customerCount > 20_000 ? 2 : 1
        var partials = [Partial](repeating: Partial(), count: parts)
        seq.withView { v in
            @inline(__always) func code(_ i: Int) -> UInt32 {
                switch q.show {
                case .event: return v.events[i]
                case .channel: return UInt32(v.channels[i])
                case .stage: return UInt32(v.stages[i])
                case .kind: return UInt32(v.kinds[i])
                }
            }
            partials.withUnsafeMutableBufferPointer { out in
                DispatchQueue.concurrentPerform(iterations: parts) { p in
                    var part = Partial()
                    var idx: [Int] = []          // the counted events of one customer (only with an event filter)
                    var key: [UInt32] = []
                    do {
                        for c in (seq.customerCount * p / parts)..<(seq.customerCount * (p + 1) / parts) {
                            try checkCancel(c)
                            if let j = filter.journeys, !j[c] { continue }
                            // Presence bits answer without reading the events: no A means no path; A but no B at
                            // all means "never reached B".
                            if !fromPruning.admits(c) { continue }
                            if !toPruning.admits(c) {
                                if hasFrom { part.started += 1; part.never += 1 }
                                continue
                            }
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
                                    if hasFrom { part.started += 1; part.never += 1 }
                                    continue
                                }
                                b = e
                                if from == nil, let pv = q.previous { a = max(0, b - pv) }
                            } else if hasFrom, let k = q.next {
                                b = min(count - 1, a + k)
                            }
                            part.started += 1
                            key.removeAll(keepingCapacity: true)
                            if eventFilter == nil {
                                // Straight from the column: the label kind is chosen once per path, not per event.
                                @inline(__always) func labels<T: FixedWidthInteger>(_ col: UnsafeBufferPointer<T>) {
                                    let c = col.baseAddress.unsafelyUnwrapped
                                    var last = UInt32.max
                                    for i in (lo + a)...(lo + b) {
                                        let l = UInt32(c[i])
                                        if keep || l != last { key.append(l); last = l }
                                    }
                                }
                                switch q.show {
                                case .event: labels(v.events)
                                case .channel: labels(v.channels)
                                case .stage: labels(v.stages)
                                case .kind: labels(v.kinds)
                                }
                            } else {
                                for k in a...b {
                                    let l = code(at(k))
                                    if q.keepRepeats || key.last != l { key.append(l) }
                                }
                            }
                            // Long middles become `…`, in place (the key keeps its buffer from customer to customer).
                            if key.count > limit && limit >= 2 && hasTo && hasFrom {
                                let lastLabel = key[key.count - 1]
                                key.removeSubrange((limit - 1)...)
                                key.append(ellipsis); key.append(lastLabel)
                            } else if key.count > limit {
                                if q.previous != nil {
                                    key.removeSubrange(0..<(key.count - limit)); key.insert(ellipsis, at: 0)
                                } else {
                                    key.removeSubrange(limit...); key.append(ellipsis)
                                }
                            }
                            let d = Double(v.times[at(b)] - v.times[at(a)])
                            // One hash of the key per customer: found, update in place; new, insert.
                            if let pk = Self.pack(key, ellipsis: ellipsis) {
                                if let slot = part.packed.index(forKey: pk) {
                                    part.packed.values[slot].n += 1
                                    part.packed.values[slot].durations.append(d)
                                } else {
                                    part.packed[pk] = (1, [d])
                                }
                            } else if let slot = part.paths.index(forKey: key) {
                                part.paths.values[slot].n += 1
                                part.paths.values[slot].durations.append(d)
                            } else {
                                part.paths[key] = (1, [d])
                            }
                        }
                    } catch { part.error = error }
                    out[p] = part
                }
            }
        }
        if let e = partials.compactMap(\.error).first { throw e }
        var counts: [[UInt32]: (n: Int, durations: [Double])] = [:]
        var started = 0, neverReached = 0
        for part in partials {
            started += part.started; neverReached += part.never
            for (k, v) in part.paths {
                if counts[k] == nil { counts[k] = v } else { counts[k]!.n += v.n; counts[k]!.durations += v.durations }
            }
            for (pk, v) in part.packed {
                let k = Self.unpack(pk, ellipsis: ellipsis)
                if counts[k] == nil { counts[k] = v } else { counts[k]!.n += v.n; counts[k]!.durations += v.durations }
            }
        }
        func name(_ c: UInt32) -> String {
            if c == ellipsis { return "…" }
            switch q.show {
            case .event: return catalog.events[Int(c)]
            case .channel: return c == 0 ? "(none)" : catalog.channels[Int(c)]
            case .stage: return c == 0 ? "(none)" : catalog.stages[Int(c) - 1]
            case .kind: return c == 0 ? "(none)" : Catalog.kinds[Int(c)]
            }
        }
        let named = counts.map { (k, v) in (k.map(name).joined(separator: " → "), v) }
        let total = max(started, 1)
        let ranked = named.sorted { $0.1.n != $1.1.n ? $0.1.n > $1.1.n : $0.0 < $1.0 }
        var rows: [[Value]] = ranked.prefix(q.top).map { (k, v) in
            [.text(k), .int(v.n), .percent(Double(v.n) / Double(total)), .duration(quantile(v.durations.sorted(), 0.5))]
        }
        let rest = ranked.dropFirst(q.top)
        if !rest.isEmpty {
            let d = rest.flatMap(\.1.durations).sorted()
            let n = rest.reduce(0) { $0 + $1.1.n }
            rows.append([.text("other (\(rest.count) paths)"), .int(n), .percent(Double(n) / Double(total)), .duration(quantile(d, 0.5))])
        }
        if let t = q.to, q.from != nil {
            rows.append([.text("(never reached \(describe(t)))"), .int(neverReached), .percent(Double(neverReached) / Double(total)), .null])
        }
        var notes = filter.description
        notes.append("\(started.grouped) customers; consecutive repeats \(q.keepRepeats ? "kept" : "collapsed"); shown by \(q.show.rawValue)")
        return [ResultTable(title: "paths", columns: ["path", "customers", "share", "median duration"], rows: rows, notes: notes,
                            chart: .pathTree(label: 0, value: 1))]
    }

    /// A path of up to 5 labels, each below 4095 (`…` stored as 4095), as one integer: 4 bits of length, then
    /// 12 bits per label. nil when the path does not fit.
    @inline(__always) static func pack(_ key: [UInt32], ellipsis: UInt32) -> UInt64? {
        guard key.count <= 5 else { return nil }
        var v = UInt64(key.count)
        for (i, l) in key.enumerated() {
            let x: UInt64
            if l == ellipsis { x = 4095 } else if l < 4095 { x = UInt64(l) } else { return nil }
            v |= x << UInt64(4 + 12 * i)
        }
        return v
    }

    static func unpack(_ v: UInt64, ellipsis: UInt32) -> [UInt32] {
        (0..<Int(v & 15)).map { i in
            let x = UInt32((v >> UInt64(4 + 12 * i)) & 4095)
            return x == 4095 ? ellipsis : x
        }
    }

    // MARK: time

    public func time(from: Expr, to: Expr, by: Breakdown?, filter f: Expr?, binder: inout Binder) throws -> [ResultTable] {
        let filter = try binder.bindFilter(f, data: data)
        let a = try binder.bindEvent(from), b = try binder.bindEvent(to)
        let attr = try by.map { try attributeColumn($0) }
        var groups: [String: [Double]] = [:]
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                var start: Int?
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) where filter.events?.matches(v, i) ?? true {
                    if start == nil { if a.matches(v, i) { start = i } }
                    else if b.matches(v, i) {
                        let d = Double(v.times[i] - v.times[start!])
                        let g = by.map { bd in Self.eventDimension(bd).map { label($0, v, start!) } ?? attr![c] } ?? "all"
                        groups[g, default: []].append(d)
                        break
                    }
                }
            }
        }
        let cols = (by.map { [$0.field.display] } ?? []) + ["customers", "min", "p25", "median", "p75", "p90", "max"]
        var rows: [[Value]] = []
        for (g, d) in groups.sorted(by: { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }) {
            let s = d.sorted()
            rows.append((by == nil ? [] : [.text(g)]) + [.int(s.count), .duration(s.first ?? .nan), .duration(quantile(s, 0.25)),
                        .duration(quantile(s, 0.5)), .duration(quantile(s, 0.75)), .duration(quantile(s, 0.9)), .duration(s.last ?? .nan)])
        }
        var tables = [ResultTable(title: "time from \(describe(from)) to \(describe(to))", columns: cols, rows: rows, notes: filter.description)]
        // Histogram over all durations: day buckets on a doubling scale.
        let all = groups.values.flatMap { $0 }.sorted()
        if !all.isEmpty {
            let edges: [Double] = [0, 1, 2, 4, 7, 14, 30, 60, 90, 180, 365].map { $0 * 86_400_000 }
            var hist: [[Value]] = []
            for (i, lo) in edges.enumerated() {
                let hi = i + 1 < edges.count ? edges[i + 1] : .infinity
                let n = all.filter { $0 >= lo && $0 < hi }.count
                let name = hi.isInfinite ? "≥ \(formatDuration(ms: lo))" : "\(formatDuration(ms: lo)) – \(formatDuration(ms: hi))"
                hist.append([.text(i == 0 ? "< 1d" : name), .int(n), .percent(Double(n) / Double(all.count))])
            }
            tables.append(ResultTable(title: "distribution", columns: ["duration", "customers", "share"], rows: hist, chart: .histogram(label: 0, value: 1)))
        }
        return tables
    }

    // MARK: dropoff

    /// Customers who reached S and never the next stage (or `to` step) after it: where they stopped.
    public func dropoff(after: Expr, next: Expr?, filter f: Expr?, binder: inout Binder) throws -> [ResultTable] {
        let filter = try binder.bindFilter(f, data: data)
        let a = try binder.bindEvent(after)
        var nextPred: BoundPredicate
        var nextName: String
        if let next { nextPred = try binder.bindEvent(next); nextName = describe(next) }
        else if case .stage(let t) = a, let s = t.firstIndex(of: true), s < catalog.stages.count {
            var tt = [Bool](repeating: false, count: catalog.stages.count + 1)
            for k in (s + 1)...catalog.stages.count { tt[k] = true }
            nextPred = .stage(tt); nextName = "a later stage than \(catalog.stages[s - 1])"
        } else {
            throw Diagnostic("dropoff after a non-stage step needs 'to STEP' (which step counts as moving on)", at: after.range)
        }
        let end = seq.times.max() ?? 0
        var byLast: [String: (n: Int, since: [Double], resumed: Int)] = [:]
        var reached = 0, dropped = 0
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                let lo = Int(v.offsets[c]), hi = Int(v.offsets[c + 1])
                guard let s = (lo..<hi).first(where: { (filter.events?.matches(v, $0) ?? true) && a.matches(v, $0) }) else { continue }
                reached += 1
                if ((s + 1)..<hi).contains(where: { nextPred.matches(v, $0) }) { continue }
                dropped += 1
                let last = hi - 1
                var resumed = false
                var k = s + 1
                while k < hi { if v.times[k] - v.times[k - 1] > 30 * 86_400_000 { resumed = true; break }; k += 1 }
                let key = "\(label(.event, v, last))\t\(label(.channel, v, last))\t\(label(.stage, v, last))"
                byLast[key, default: (0, [], 0)].n += 1
                byLast[key]!.since.append(Double(end - v.times[last]))
                if resumed { byLast[key]!.resumed += 1 }
            }
        }
        let rows: [[Value]] = byLast.sorted { $0.value.n != $1.value.n ? $0.value.n > $1.value.n : $0.key < $1.key }.prefix(20).map { (k, v) in
            let p = k.split(separator: "\t").map(String.init)
            return [.text(p[0]), .text(p[1]), .text(p[2]), .int(v.n), .percent(Double(v.n) / Double(max(dropped, 1))),
                    .duration(quantile(v.since.sorted(), 0.5)), .int(v.resumed)]
        }
        let notes = ["\(reached.grouped) reached \(describe(after)); \(dropped.grouped) (\(String(format: "%.1f", Double(dropped) * 100 / Double(max(reached, 1))))%) never reached \(nextName)",
                     "time since last touch is measured to the store's last event (\(UTC.format(ms: end, dateOnly: true))); resumed = came back after a pause over 30d"] + filter.description
        return [ResultTable(title: "dropoff after \(describe(after))", columns: ["last touchpoint", "channel", "stage", "customers", "share", "median since last touch", "resumed after pause"],
                            rows: rows, notes: notes, chart: .bars(label: 0, value: 3))]
    }

    // MARK: count, top

    public func count(unit: String, by: Breakdown?, filter f: Expr?, binder: inout Binder) throws -> [ResultTable] {
        let filter = try binder.bindFilter(f, data: data)
        let accounts = unit == "accounts" ? try data.attributes.accounts(for: seq.customerIDs) : []
        let attr = try by.flatMap { Self.eventDimension($0) == nil ? try attributeColumn($0) : nil }
        var groups: [String: Set<Int64>] = [:]
        var events: [String: Int] = [:]
        seq.withView { v in
            for c in 0..<seq.customerCount {
                if let j = filter.journeys, !j[c] { continue }
                let id = unit == "accounts" ? (accounts[c] != 0 ? accounts[c] : -seq.customerIDs[c]) : seq.customerIDs[c]
                var any = false
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) where filter.events?.matches(v, i) ?? true {
                    any = true
                    let g = by.flatMap(Self.eventDimension).map { label($0, v, i) } ?? attr?[c] ?? "all"
                    groups[g, default: []].insert(id)
                    events[g, default: 0] += 1
                }
                if !any && filter.events == nil, let a = attr { groups[a[c], default: []].insert(id) }
            }
        }
        let total = Set(groups.values.flatMap { $0 }).count
        // A breakdown by month is a series: in month order, drawn as columns.
        let monthly = by?.month == true
        let rows: [[Value]] = groups.sorted { monthly ? $0.key < $1.key : ($0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key) }.map { (k, s) in
            (by == nil ? [] : [.text(k)]) + [.int(unit == "events" ? events[k] ?? 0 : s.count),
                                             .percent(unit == "events" ? Double(events[k] ?? 0) / Double(max(events.values.reduce(0, +), 1)) : Double(s.count) / Double(max(total, 1)))]
        }
        let name = unit
        var notes = filter.description
        if let by, Self.eventDimension(by) != nil, unit != "events" { notes.append("a \(name.dropLast()) counts under every \(by.field.display) it has an event with; shares can add up to more than 100%") }
        return [ResultTable(title: "count \(name)", columns: (by.map { [$0.field.display] } ?? []) + [name, "share"], rows: rows, notes: notes,
                            chart: by == nil ? nil : monthly ? .columns(label: 0, value: 1) : .bars(label: 0, value: 1))]
    }

    public func top(_ what: PathShow, n: Int, campaign: Bool, filter f: Expr?, binder: inout Binder) throws -> [ResultTable] {
        let filter = try binder.bindFilter(f, data: data)
        var events: [String: Int] = [:], customers: [String: Int] = [:]
        var trend: [String: [Double]] = [:]   // events per month over the data's last 12 months
        let lastMonth = RetentionPeriod.month.index(seq.times.max() ?? 0), firstMonth = lastMonth - 11
        var totalEvents = 0
        seq.withView { v in
            var seen = Set<String>()
            for c in 0..<seq.customerCount {
                if let j = filter.journeys, !j[c] { continue }
                seen.removeAll(keepingCapacity: true)
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) where filter.events?.matches(v, i) ?? true {
                    let l = campaign ? (v.campaigns[i] == 0 ? "(none)" : catalog.campaigns[Int(v.campaigns[i])]) : label(what, v, i)
                    events[l, default: 0] += 1
                    totalEvents += 1
                    let m = RetentionPeriod.month.index(v.times[i]) - firstMonth
                    if m >= 0 && m < 12 { trend[l, default: [Double](repeating: 0, count: 12)][m] += 1 }
                    if seen.insert(l).inserted { customers[l, default: 0] += 1 }
                }
            }
        }
        let name = campaign ? "campaign" : what.rawValue
        let rows: [[Value]] = events.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(n).map { (k, e) in
            [.text(k), .int(e), .percent(Double(e) / Double(max(totalEvents, 1))), .int(customers[k] ?? 0),
             .series(trend[k] ?? [Double](repeating: 0, count: 12))]
        }
        let span = "\(RetentionPeriod.month.label(firstMonth)) … \(RetentionPeriod.month.label(lastMonth))"
        return [ResultTable(title: "top \(name)s", columns: [name, "events", "share of events", "customers", "by month"], rows: rows,
                            notes: filter.description + ["by month: events per month, \(span), each row scaled to its own range"],
                            chart: .bars(label: 0, value: 1))]
    }

    // MARK: stats

    /// Sizes and per-journey figures, per customer and per account; converting accounts up to their first conversion.
    public func stats(filter f: Expr?, binder: inout Binder) throws -> [ResultTable] {
        let filter = try binder.bindFilter(f, data: data)
        let accounts = try data.attributes.accounts(for: seq.customerIDs)
        let conversion = catalog.stageCode("conversion")
        var touches: [Double] = [], channels: [Double] = [], days: [Double] = []
        struct Acc { var touches = 0; var channels = Set<UInt16>(); var first = Int64.max; var last = Int64.min; var conv = Int64.max
            var convTouches: [(Int64, UInt16)] = [] }
        var accs: [Int64: Acc] = [:]
        var events = 0, customers = 0
        seq.withView { v in
            for c in 0..<seq.customerCount {
                if let j = filter.journeys, !j[c] { continue }
                var n = 0
                var ch = Set<UInt16>()
                var first = Int64.max, last = Int64.min
                let key = accounts[c] != 0 ? accounts[c] : -seq.customerIDs[c]
                var acc = accs[key] ?? Acc()
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) where filter.events?.matches(v, i) ?? true {
                    n += 1
                    if v.channels[i] != 0 { ch.insert(v.channels[i]) }
                    first = min(first, v.times[i]); last = max(last, v.times[i])
                    acc.convTouches.append((v.times[i], v.channels[i]))
                    if let conversion, v.stages[i] == conversion { acc.conv = min(acc.conv, v.times[i]) }
                }
                guard n > 0 else { continue }
                customers += 1; events += n
                touches.append(Double(n)); channels.append(Double(ch.count)); days.append(Double(last - first) / 86_400_000)
                acc.touches += n; acc.channels.formUnion(ch); acc.first = min(acc.first, first); acc.last = max(acc.last, last)
                accs[key] = acc
            }
        }
        func row(_ name: String, _ xs: [Double], digits: Int = 1) -> [Value] {
            let s = xs.sorted()
            let mean = s.isEmpty ? Double.nan : s.reduce(0, +) / Double(s.count)
            return [.text(name), .double(mean), .double(quantile(s, 0.5))]
        }
        let accountList = Array(accs.values)
        let converting = accountList.filter { $0.conv != .max }
        let convTouches = converting.map { a in Double(a.convTouches.filter { $0.0 <= a.conv }.count) }
        let convChannels = converting.map { a in Double(Set(a.convTouches.filter { $0.0 <= a.conv && $0.1 != 0 }.map(\.1)).count) }
        let convDays = converting.map { a in Double(a.conv - a.first) / 86_400_000 }
        let size = ResultTable(title: "store", columns: ["measure", "count"], rows: [
            [.text("customers"), .int(customers)], [.text("accounts (people without one count alone)"), .int(accountList.count)],
            [.text("events"), .int(events)], [.text("converting accounts"), .int(converting.count)]], notes: filter.description)
        let per = ResultTable(title: "per journey", columns: ["measure", "mean", "median"], rows: [
            row("touches per customer", touches), row("channels per customer", channels), row("days per customer (first to last touch)", days),
            row("touches per account", accountList.map { Double($0.touches) }), row("channels per account", accountList.map { Double($0.channels.count) }),
            row("days per account", accountList.map { Double($0.last - $0.first) / 86_400_000 }),
            row("touches per converting account, to conversion", convTouches), row("channels per converting account, to conversion", convChannels),
            row("days per converting account, first touch to conversion", convDays)],
            notes: ["a converting account's journey runs from its first touch (any of its people) to its first conversion-stage event"])
        return [size, per]
    }
}

