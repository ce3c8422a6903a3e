import Foundation
import JourneyCore
import JourneyLanguage

extension Executor {
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

