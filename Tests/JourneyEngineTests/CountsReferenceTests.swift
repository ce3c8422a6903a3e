import Foundation
import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine

/// The plain way to count: string labels, dictionaries and sets per event (how `count`, `top`, `stats`,
/// `retention` and `dropoff` were first written; obviously right, 10–50× slower). The engine's code-array versions must give the same tables.
extension Executor {
    func plainDropoff(after: Expr, next: Expr?, filter f: Expr?, binder: inout EngineBinder) throws -> [ResultTable] {
        let filter = try binder.bindFilter(f, data: data)
        let a = try binder.bindEvent(after)
        var nextPred: BoundPredicate
        var nextName: String
        if let next { nextPred = try binder.bindEvent(next); nextName = JourneyPlanner.describe(next) }
        else if case .stage(let t) = a, let s = t.firstIndex(of: true), s < catalog.stages.count {
            var tt = [Bool](repeating: false, count: catalog.stages.count + 1)
            for k in (s + 1)...catalog.stages.count { tt[k] = true }
            nextPred = .stage(tt); nextName = "a later stage than \(catalog.stages[s - 1])"
        } else {
            throw Diagnostic(.dropoffNeedsTarget, "dropoff after a non-stage step needs 'to STEP' (which step counts as moving on)", at: after.range)
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
                // Moved on: a next-step event at S's time or later (a tied one wherever it stands).
                if (lo..<hi).contains(where: { $0 != s && v.times[$0] >= v.times[s] && nextPred.matches(v, $0) }) { continue }
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
        let notes = ["\(reached.grouped) reached \(JourneyPlanner.describe(after)); \(dropped.grouped) (\(String(format: "%.1f", Double(dropped) * 100 / Double(max(reached, 1))))%) never reached \(nextName)",
                     "time since last touch is measured to the store's last event (\(UTC.format(ms: end, dateOnly: true))); resumed = came back after a pause over 30d"] + filter.description
        return [ResultTable(title: "dropoff after \(JourneyPlanner.describe(after))", columns: ["last touchpoint", "channel", "stage", "customers", "share", "median since last touch", "resumed after pause"],
                            rows: rows, notes: notes, chart: .bars(label: 0, value: 3))]
    }

    func plainRetention(_ q: RetentionQuery, binder: inout EngineBinder) throws -> [ResultTable] {
        let filter = try binder.bindFilter(q.filter, data: data)
        let tables = StepTest.Tables()
        defer { withExtendedLifetime(tables) {} }   // the compiled tests point into it
        let start = StepTest(try binder.bindEvent(q.start), tables: tables)
        let returning = try q.returning.map { StepTest(try binder.bindEvent($0), tables: tables) }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        guard let period = RetentionPeriod(rawValue: q.period) else { throw QueryError("retention periods are day, week or month") }
        let n = q.periods
        let dim = q.by.flatMap(Self.eventDimension)
        let attr = try q.by.flatMap { Self.eventDimension($0) == nil ? try attributeColumn($0) : nil }
        let end = seq.times.max() ?? 0
        let endPeriod = period.index(end)
        // Per row key: cohort size, and per period k: retained and eligible (period k has begun by the data's end).
        var rows: [String: (size: Int, retained: [Int], eligible: [Int], order: Int)] = [:]
        var seen = [Bool](repeating: false, count: n)
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                let lo = Int(v.offsets[c]), hi = Int(v.offsets[c + 1])
                guard let b = (lo..<hi).first(where: { (eventFilter?.matches(v, $0) ?? true) && start.matches(v, $0) }) else { continue }
                let birth = period.index(v.times[b])
                for k in 0..<n { seen[k] = false }
                for i in (b + 1)..<max(b + 1, hi) where (eventFilter?.matches(v, i) ?? true) && (returning?.matches(v, i) ?? true) {
                    let k = period.index(v.times[i]) - birth
                    if k >= n { break }
                    if k >= 0 { seen[k] = true }
                }
                let key = dim.map { label($0, v, b) } ?? attr?[c] ?? period.label(birth)
                var r = rows[key] ?? (0, [Int](repeating: 0, count: n), [Int](repeating: 0, count: n), dim == nil && attr == nil ? birth : 0)
                r.size += 1
                for k in 0..<n where birth + k <= endPeriod {
                    r.eligible[k] += 1
                    if k == 0 || seen[k] { r.retained[k] += 1 }
                }
                rows[key] = r
            }
        }
        let byCohort = q.by == nil
        let sorted = rows.sorted { byCohort ? $0.value.order < $1.value.order : ($0.value.size != $1.value.size ? $0.value.size > $1.value.size : $0.key < $1.key) }
        let out: [[Value]] = sorted.map { k, r in
            [.text(k), .int(r.size)] + (0..<n).map { i in r.eligible[i] > 0 ? .percent(Double(r.retained[i]) / Double(r.eligible[i])) : .null }
        }
        let unit = q.period
        let notes = ["cohort = the \(byCohort ? unit : q.by!.field.display) of each customer's first \(JourneyPlanner.describe(q.start)); column k = share of the cohort with \(q.returning.map { JourneyPlanner.describe($0) } ?? "any event") after it in the \(unit) k \(unit)s later (calendar \(unit)s, UTC\(unit == "week" ? ", from Monday" : "")); column 0 is the cohort itself (100%)",
                     "a cell is empty when that \(unit) had not begun by the data's end (\(UTC.format(ms: end, dateOnly: true))); its share counts only the customers whose \(unit) k had begun"] + filter.description
        return [ResultTable(title: "retention every \(unit)", columns: [byCohort ? "cohort" : q.by!.field.display, "customers"] + (0..<n).map { "\(unit) \($0)" },
                            rows: out, notes: notes, chart: .cohortGrid(label: 0, first: 2))]
    }

    func plainStats(filter f: Expr?, binder: inout EngineBinder) throws -> [ResultTable] {
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

    func plainCount(unit: String, by: Breakdown?, filter f: Expr?, binder: inout EngineBinder) throws -> [ResultTable] {
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
        // Rows by the number shown (events for `count events`), ties by name.
        func shown(_ k: String, _ s: Set<Int64>) -> Int { unit == "events" ? events[k] ?? 0 : s.count }
        var rows: [[Value]] = groups.sorted { monthly ? $0.key < $1.key : (shown($0.key, $0.value) != shown($1.key, $1.value) ? shown($0.key, $0.value) > shown($1.key, $1.value) : $0.key < $1.key) }.map { (k, s) in
            (by == nil ? [] : [.text(k)]) + [.int(unit == "events" ? events[k] ?? 0 : s.count),
                                             .percent(unit == "events" ? Double(events[k] ?? 0) / Double(max(events.values.reduce(0, +), 1)) : Double(s.count) / Double(max(total, 1)))]
        }
        let name = unit
        var notes = filter.description
        // Filtered, without groups: the share is of the whole store (the same count without the filter).
        if by == nil, f != nil, case .int(let n)? = rows.first?.first {
            var plain = EngineBinder(catalog: catalog)
            if case .int(let all)? = try plainCount(unit: unit, by: nil, filter: nil, binder: &plain).first?.rows.first?.first {
                rows[0][1] = .percent(all > 0 ? Double(n) / Double(all) : .nan)
                notes.append("share = of all \(all.grouped) \(unit) in the store")
            }
        }
        if let by, Self.eventDimension(by) != nil, unit != "events" { notes.append("a \(name.dropLast()) counts under every \(by.field.display) it has an event with; shares can add up to more than 100%") }
        return [ResultTable(title: "count \(name)", columns: (by.map { [$0.field.display] } ?? []) + [name, "share"], rows: rows, notes: notes,
                            chart: by == nil ? nil : monthly ? .columns(label: 0, value: 1) : .bars(label: 0, value: 1))]
    }

    func plainTop(_ what: PathShow, n: Int, campaign: Bool, filter f: Expr?, binder: inout EngineBinder) throws -> [ResultTable] {
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
}

/// Customers in twos per account, every third one without an account (counted alone).
struct SomeAccounts: AttributeSource {
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { "s\($0 % 3)" } }
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accounts(for ids: [Int64]) throws -> [Int64] { ids.map { $0 % 3 == 0 ? 0 : $0 / 2 + 1 } }
}

/// Equal tables, numbers within a relative 1e-9 (means summed in another order).
func nearlyEqual(_ a: [ResultTable], _ b: [ResultTable]) -> Bool {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) {
        guard x.title == y.title, x.columns == y.columns, x.notes == y.notes, x.rows.count == y.rows.count else { return false }
        for (r, q) in zip(x.rows, y.rows) {
            guard r.count == q.count else { return false }
            for (u, w) in zip(r, q) {
                if case .double(let p) = u, case .double(let o) = w {
                    if !(p == o || (p.isNaN && o.isNaN) || abs(p - o) <= 1e-9 * max(abs(p), abs(o))) { return false }
                } else if u != w { return false }
            }
        }
    }
    return true
}

@Suite struct CountsReferenceTests {
    /// `top` with thousands of labels takes another path (count, choose the top n, then their months): it must
    /// rank and count exactly as the plain version, ties by label included.
    @Test func topWithManyLabelsEqualsThePlainVersion() throws {
        var rng = TestRandom(seed: 8)
        func next(_ n: Int) -> Int { rng.next(n) }
        for round in 0..<6 {
            let names = 5_000 + next(3_000)
            var seq = PackedSequences()
            for c in 0..<(300 + next(300)) {
                seq.customerIDs.append(Int64(c + 1))
                var ts = (0..<next(30)).map { _ in Int64(next(800 * 24)) * 3_600_000 }
                ts.sort()
                for t in ts {
                    // Skewed: a few names often, most once or twice (many ties).
                    let e = next(4) == 0 ? 1 + next(20) : 1 + next(names)
                    seq.times.append(t); seq.events.append(UInt32(e)); seq.channels.append(UInt16(next(4)))
                    seq.stages.append(UInt8(next(5))); seq.kinds.append(UInt8(next(4))); seq.campaigns.append(UInt32(next(3)))
                    seq.values.append(.nan)
                }
                seq.offsets.append(Int32(seq.times.count))
            }
            var cat = Catalog()
            cat.stages = ["awareness", "consideration", "intent", "conversion"]
            cat.events = [""] + (1...names).map { "e\($0)" }
            cat.channels = ["", "linkedin", "email", "website"]; cat.campaigns = ["", "spring", "fall"]
            let data = JourneyData(sequences: seq, catalog: cat, attributes: SomeAccounts())
            let filter = ["", " where channel = email"][round % 2]
            let text = "top \([1, 5, 40][round % 3]) events\(filter)"
            var b2 = EngineBinder(catalog: cat)
            let ex = Executor(data: data)
            guard case .top(let w, let n, let f, let c) = try Parser.parse(text) else { Issue.record("not top: \(text)"); return }
            let fast = try ex.run(try Parser.parse(text)), plain = try ex.plainTop(w, n: n, campaign: c, filter: f, binder: &b2)
            #expect(nearlyEqual(fast, plain), "\(text) with \(names) names: \(fast) vs \(plain)")
        }
    }

    @Test func countTopStatsRetentionAndDropoffEqualThePlainVersions() throws {
        var rng = TestRandom(seed: 33)
        func next(_ n: Int) -> Int { rng.next(n) }
        for round in 0..<400 {
            var seq = PackedSequences()
            // Enough customers now and then for both cores; some customers without events.
            let customers = round % 25 == 0 ? 21_000 + next(100) : 1 + next(40)
            let last = Int64(next(3) + 1) * 400 * 86_400_000
            for c in 0..<customers {
                seq.customerIDs.append(Int64(c + 1))
                var ts = (0..<next(7)).map { _ in Int64(next(Int(last / 3_600_000))) * 3_600_000 }
                ts.sort()
                for t in ts {
                    seq.times.append(t); seq.events.append(UInt32(1 + next(4))); seq.channels.append(UInt16(next(4)))
                    seq.stages.append(UInt8(next(5))); seq.kinds.append(UInt8(next(4))); seq.campaigns.append(UInt32(next(3)))
                    seq.values.append(next(5) == 0 ? Double(next(100)) : .nan)
                }
                seq.offsets.append(Int32(seq.times.count))
            }
            var cat = Catalog(); cat.customerAttributes = ["segment"]
            cat.stages = ["awareness", "consideration", "intent", "conversion"]; cat.events = ["", "a", "b", "c", "d"]
            cat.channels = ["", "linkedin", "email", "website"]; cat.campaigns = ["", "spring", "fall"]
            let data = JourneyData(sequences: seq, catalog: cat, attributes: SomeAccounts())
            let filters = ["", " where channel = email", " where touched stage:intent", " where not channel = linkedin and stage != consideration"]
            let filter = filters[next(filters.count)]
            let text: String
            let kind = next(5)
            if kind == 4 {
                text = "dropoff after \(["awareness", "consideration", "intent", "event:a"][next(4)])\(next(2) == 0 ? " to stage:conversion" : "")\(filter)"
            } else if kind == 3 {
                let by = ["", " by channel", " by stage", " by customer.segment"][next(4)]
                let returning = ["", " returning stage:intent", " returning event:b"][next(3)]
                text = "retention from \(["stage:awareness", "event:a", "channel:email"][next(3)])\(returning) every \(["day", "week", "month"][next(3)]) periods \(1 + next(8))\(by)\(filter)"
            } else if kind == 2 {
                text = "stats" + filter
            } else if kind == 0 {
                let unit = ["customers", "accounts", "events"][next(3)]
                let by = ["", " by channel", " by event", " by stage", " by kind", " by customer.segment"][next(6)]
                text = "count \(unit)\(by)\(filter)"
            } else {
                text = "top \(1 + next(6)) \(["channels", "events", "stages", "kinds", "campaigns"][next(5)])\(filter)"
            }
            var b2 = EngineBinder(catalog: cat)
            let ex = Executor(data: data)
            let fast: [ResultTable], plain: [ResultTable]
            let st = try Parser.parse(text)
            switch st {
            case .count(let u, let by, let f, _):
                fast = try ex.run(st); plain = try ex.plainCount(unit: u, by: by, filter: f, binder: &b2)
            case .top(let w, let n, let f, let c):
                fast = try ex.run(st); plain = try ex.plainTop(w, n: n, campaign: c, filter: f, binder: &b2)
            case .dropoff(let a, let n, let f):
                do {
                    fast = try ex.run(st)
                } catch {
                    // A step that is no stage without 'to': both refuse it.
                    #expect(throws: Diagnostic.self) { try ex.plainDropoff(after: a, next: n, filter: f, binder: &b2) }
                    continue
                }
                plain = try ex.plainDropoff(after: a, next: n, filter: f, binder: &b2)
            case .retention(let q):
                fast = try ex.run(st); plain = try ex.plainRetention(q, binder: &b2)
            case .stats(let f):
                fast = try ex.run(st); plain = try ex.plainStats(filter: f, binder: &b2)
            default: Issue.record("not count, top or stats: \(text)"); return
            }
            #expect(nearlyEqual(fast, plain), "\(text) on \(customers) customers: \(fast) vs \(plain)")
        }
    }
}
