import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    // MARK: count

    /// `count customers|accounts|events [by DIM] [where …]`. Groups are codes (an event field's, or the dense
    /// codes of a customer attribute's values), counted in arrays on both cores; names only for the rows.
    public func count(_ q: QueryPlan.Count) throws -> [ResultTable] {
        let unit = q.unit.rawValue, by = q.by
        let filter = try compile(q.filter)
        let grouping = try by.map { $0.also == nil ? try self.grouping($0) : try pairGrouping($0) }
        let dim = grouping?.events
        // The group of a customer attribute: its value's dense code, per customer.
        let dense = grouping?.denseValues
        let attrNames = dense?.names ?? [], attrCode = dense?.codes.map(Int32.init) ?? []
        let groupCount: Int
        if let dim { groupCount = dim.bound } else if by != nil { groupCount = attrNames.count } else { groupCount = 1 }
        // Accounts: an index per account (people without one count alone): the store's account id itself when
        // the ids are dense enough, else numbered through a dictionary.
        var accountOf: [Int32] = [], accountCount = 0
        if unit == "accounts" {
            let accounts = try data.attributes.accounts(for: seq.customerIDs)
            let largest = Int(accounts.max() ?? 0)
            if largest < 4 * seq.customerCount + 1024 {
                accountOf = (0..<seq.customerCount).map { c in Int32(accounts[c] != 0 ? Int(accounts[c]) : largest + 1 + c) }
                accountCount = largest + 1 + seq.customerCount
            } else {
                var index: [Int64: Int32] = [:]
                accountOf = (0..<seq.customerCount).map { c in
                    let key = accounts[c] != 0 ? accounts[c] : -seq.customerIDs[c]
                    if let k = index[key] { return k }
                    let k = Int32(accountCount); index[key] = k; accountCount += 1; return k
                }
            }
        }
        let parts = scanPartCount
        var results = [CountTally](repeating: CountTally(groups: 0), count: parts)
        var errors = [Error?](repeating: nil, count: parts)
        let tables = StepTest.Tables()   // owns the compiled filter's tables for the whole scan
        defer { withExtendedLifetime(tables) {} }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        let accountsWanted = unit == "accounts", attributeGroups = by != nil && dim == nil
        let checkCancel = self.checkCancel
        seq.withView { v in
            results.withUnsafeMutableBufferPointer { out in
                errors.withUnsafeMutableBufferPointer { errs in
                    attrCode.withUnsafeBufferPointer { attr in
                        accountOf.withUnsafeBufferPointer { acc in
                            DispatchQueue.concurrentPerform(iterations: parts) { p in
                                var scan = CountScan(v: v, groups: groupCount, journeys: filter.journeys, eventFilter: eventFilter,
                                                     accounts: accountsWanted ? acc : nil, attributes: attributeGroups ? attr : nil)
                                defer { out[p] = scan.finish() }
                                let range = customerRange(p, of: parts)
                                do {
                                    // The group column chosen once: the loop over events is specialized for it.
                                    switch dim?.column {
                                    case .packed(.event)?: try scan.run(range, column: v.events, checkCancel)
                                    case .packed(.channel)?: try scan.run(range, column: v.channels, checkCancel)
                                    case .packed(.stage)?: try scan.run(range, column: v.stages, checkCancel)
                                    case .packed(.kind)?: try scan.run(range, column: v.kinds, checkCancel)
                                    case .campaign?: try scan.run(range, column: v.campaigns, checkCancel)
                                    case .codes(let codes)?: try codes.withUnsafeBufferPointer { try scan.run(range, column: $0, checkCancel) }
                                    case nil: try scan.run(range, column: UnsafeBufferPointer<UInt8>(start: nil, count: 0), checkCancel)
                                    }
                                } catch { errs[p] = error }
                            }
                        }
                    }
                }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
        var events = [Int](repeating: 0, count: groupCount), units = [Int](repeating: 0, count: groupCount)
        var present = [Bool](repeating: false, count: groupCount)
        var total = 0
        for part in results {
            for g in 0..<groupCount { events[g] += part.events[g]; units[g] += part.customers[g]; present[g] = present[g] || part.present[g] }
            total += part.counted
        }
        if unit == "accounts" {
            // Distinct (group, account) pairs (group UInt32.max collects every counted account for the total):
            // a bit per pair when that fits in 64 MB, else sorted.
            units = [Int](repeating: 0, count: groupCount); total = 0
            let space = accountCount
            if (groupCount + 1) * space <= 512 << 20 {
                var bits = [UInt64](repeating: 0, count: ((groupCount + 1) * space + 63) / 64)
                for part in results {
                    for x in part.pairs {
                        let g = Int(x >> 32), a = Int(x & 0xFFFF_FFFF)
                        let slot = (g == Int(UInt32.max) ? groupCount : g) * space + a
                        let bit = UInt64(1) << UInt64(slot & 63)
                        if bits[slot >> 6] & bit != 0 { continue }
                        bits[slot >> 6] |= bit
                        if g == Int(UInt32.max) { total += 1 } else { units[g] += 1 }
                    }
                }
            } else {
                var pairs = results.flatMap(\.pairs)
                pairs.sort()
                var previous: UInt64?
                for x in pairs where x != previous {
                    previous = x
                    let g = Int(x >> 32)
                    if g == Int(UInt32.max) { total += 1 } else { units[g] += 1 }
                }
            }
        }
        func name(_ g: Int) -> String { dim.map { $0.name(g) } ?? (by != nil ? attrNames[g] : "all") }
        var aggregate = CountAggregate(groups: (0..<groupCount).filter { present[$0] }.map { .init(label: name($0), units: units[$0], events: events[$0]) },
                                       totalUnits: total)
        if by == nil, q.filtered {
            let plain = QueryPlan.Count(unit: q.unit, by: nil, filter: BoundFilter(), top: nil)
            if case .int(let all)? = try count(plain).first?.rows.first?.first { aggregate.storeTotal = all }
        }
        return ResultBuilder.count(q, aggregate, filterNotes: filter.description)
    }

    // MARK: top

    /// `top N channels|events|stages|kinds|campaigns [where …]`: events, share, customers and a 12-month trend
    /// per value, counted by code on both cores.
    public func top(_ q: QueryPlan.Top) throws -> [ResultTable] {
        let what = q.what, campaign = q.campaigns
        let filter = try compile(q.filter)
        let tables = StepTest.Tables()   // owns the compiled filter's tables for the whole scan
        defer { withExtendedLifetime(tables) {} }   // the compiled tests point into it
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        let width = campaign ? codeBound(campaigns: ()) : codeBound(what)
        let lastMonth = RetentionPeriod.month.index(seq.times.max() ?? 0), firstMonth = lastMonth - 11
        // The 12 months' bounds, so an event's month is found by comparing, not by calendar arithmetic.
        let bounds = (0...12).map { RetentionPeriod.month.start(firstMonth + $0) }
        // Monthly trends are kept only for the labels that can be shown: with many labels (10 million distinct
        // event names) a first pass counts, the top n are chosen (events, then label, as the table ranks them),
        // and a second pass fills their months — memory grows with the labels, not with labels × 12.
        let dense = width <= 4096
        struct Part { var events: [Int]; var customers: [Int]; var trend: [Double]; var total = 0 }
        func scan(slots: [Int32]?, slotCount: Int) throws -> [Part] {
            let trendWidth = slots == nil ? (dense ? width : 0) : slotCount
            return try scanParts(Part(events: [Int](repeating: 0, count: slots == nil ? width : 0), customers: [Int](repeating: 0, count: slots == nil ? width : 0),
                                      trend: [Double](repeating: 0, count: trendWidth * 12))) { _, range, v, part in
                var stamp = [Int](repeating: -1, count: slots == nil ? width : 0)
                for c in range {
                    try checkCancel(c)
                    if let j = filter.journeys, !j[c] { continue }
                    for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) where eventFilter?.matches(v, i) ?? true {
                        let k = campaign ? Int(v.campaigns[i]) : Int(labelCode(what, v, i))
                        var slot = k
                        if let slots {
                            slot = Int(slots[k])
                            if slot < 0 { continue }
                        } else {
                            part.events[k] += 1; part.total += 1
                            if stamp[k] != c { stamp[k] = c; part.customers[k] += 1 }
                            if !dense { continue }
                        }
                        let t = v.times[i]
                        if t >= bounds[0] && t < bounds[12] {
                            var m = 0
                            while t >= bounds[m + 1] { m += 1 }
                            part.trend[slot * 12 + m] += 1
                        }
                    }
                }
            }
        }
        let results = try scan(slots: nil, slotCount: 0)
        var events = [Int](repeating: 0, count: width), customers = events
        var totalEvents = 0
        for part in results {
            for k in 0..<width { events[k] += part.events[k]; customers[k] += part.customers[k] }
            totalEvents += part.total
        }
        func name(_ k: Int) -> String {
            campaign ? (k == 0 ? "(none)" : k < catalog.campaigns.count ? catalog.campaigns[k] : "(code \(k))") : codeName(what, k)
        }
        let rows: [TopAggregate.Row]
        if dense {
            var trend = [Double](repeating: 0, count: width * 12)
            for part in results { for x in 0..<(width * 12) { trend[x] += part.trend[x] } }
            rows = (0..<width).filter { events[$0] > 0 }.map {
                TopAggregate.Row(label: name($0), events: events[$0], customers: customers[$0], trend: Array(trend[($0 * 12)..<($0 * 12 + 12)]))
            }
        } else {
            // The n best by (events desc, label asc), kept in a small sorted list.
            var best: [(events: Int, label: String, code: Int)] = []
            for k in 0..<width where events[k] > 0 {
                if best.count == q.n, let last = best.last, events[k] < last.events { continue }
                let label = name(k)
                let at = best.firstIndex { events[k] > $0.events || (events[k] == $0.events && label < $0.label) } ?? best.count
                if at < q.n { best.insert((events[k], label, k), at: at); if best.count > q.n { best.removeLast() } }
            }
            var slots = [Int32](repeating: -1, count: width)
            for (i, b) in best.enumerated() { slots[b.code] = Int32(i) }
            let second = try scan(slots: slots, slotCount: best.count)
            var trend = [Double](repeating: 0, count: best.count * 12)
            for part in second { for x in 0..<(best.count * 12) { trend[x] += part.trend[x] } }
            rows = best.enumerated().map { i, b in
                TopAggregate.Row(label: b.label, events: b.events, customers: customers[b.code], trend: Array(trend[(i * 12)..<(i * 12 + 12)]))
            }
        }
        return ResultBuilder.top(q, TopAggregate(rows: rows, totalEvents: totalEvents, firstMonth: firstMonth, lastMonth: lastMonth),
                                 filterNotes: filter.description)
    }
}

/// One core's `count`: per group its events and customers, whether it occurred, and (for accounts) the distinct
/// (group, account) pairs; filled through raw pointers, so the loop does no reference counting or access checks.
struct CountTally {
    var events: [Int], customers: [Int], present: [Bool]
    var counted = 0
    var pairs: [UInt64] = []
    init(groups: Int) {
        events = [Int](repeating: 0, count: groups); customers = events; present = [Bool](repeating: false, count: groups)
    }
}

struct CountScan {
    let v: UnsafePackedView
    let groups: Int
    let journeys: [Bool]?
    let eventFilter: StepTest?
    let accounts: UnsafeBufferPointer<Int32>?
    let attributes: UnsafeBufferPointer<Int32>?
    let events, customers, stamp: UnsafeMutablePointer<Int>
    let present: UnsafeMutablePointer<Bool>
    var counted = 0
    var pairs: [UInt64] = []

    init(v: UnsafePackedView, groups: Int, journeys: [Bool]?, eventFilter: StepTest?, accounts: UnsafeBufferPointer<Int32>?,
         attributes: UnsafeBufferPointer<Int32>?) {
        self.v = v; self.groups = groups; self.journeys = journeys; self.eventFilter = eventFilter
        self.accounts = accounts; self.attributes = attributes
        events = .allocate(capacity: max(groups, 1)); events.initialize(repeating: 0, count: max(groups, 1))
        customers = .allocate(capacity: max(groups, 1)); customers.initialize(repeating: 0, count: max(groups, 1))
        stamp = .allocate(capacity: max(groups, 1)); stamp.initialize(repeating: -1, count: max(groups, 1))
        present = .allocate(capacity: max(groups, 1)); present.initialize(repeating: false, count: max(groups, 1))
    }

    /// The tally, and the scratch freed.
    func finish() -> CountTally {
        var t = CountTally(groups: 0)
        t.events = Array(UnsafeBufferPointer(start: events, count: groups))
        t.customers = Array(UnsafeBufferPointer(start: customers, count: groups))
        t.present = Array(UnsafeBufferPointer(start: present, count: groups))
        t.counted = counted; t.pairs = pairs
        events.deallocate(); customers.deallocate(); stamp.deallocate(); present.deallocate()
        return t
    }

    @inline(__always) mutating func add(_ g: Int, _ c: Int, event: Bool) {
        if event { events[g] += 1 }
        present[g] = true
        if stamp[g] != c {
            stamp[g] = c; customers[g] += 1
            if let a = accounts { pairs.append(UInt64(g) << 32 | UInt64(a[c])) }
        }
    }

    /// Customers in `range`; each counted event's group is its code in `column` (empty: the customer's attribute
    /// group, or the one group).
    mutating func run<T: FixedWidthInteger>(_ range: Range<Int>, column: UnsafeBufferPointer<T>, _ checkCancel: (Int) throws -> Void) throws {
        let byColumn = column.count > 0
        for c in range {
            try checkCancel(c)
            if let j = journeys, !j[c] { continue }
            let fixed = attributes.map { Int($0[c]) } ?? 0
            var any = false
            for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                if let f = eventFilter, !f.matches(v, i) { continue }
                any = true
                add(byColumn ? Int(column[i]) : fixed, c, event: true)
            }
            // A customer with no events at all still has an attribute value.
            if !any && eventFilter == nil && attributes != nil { add(fixed, c, event: false); any = true }
            if any {
                counted += 1
                if let a = accounts { pairs.append(UInt64(UInt32.max) << 32 | UInt64(a[c])) }
            }
        }
    }
}
