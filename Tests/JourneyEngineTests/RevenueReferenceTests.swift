import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine
import JourneyResults

/// `revenue` and `leads` against a plain computation: per customer and event, dictionaries of labels.
@Suite struct RevenueReferenceTests {
    final class Segments: AttributeSource {
        let segment: [Int64: String]
        init(_ s: [Int64: String]) { segment = s }
        func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { name == "segment" ? segment[$0] : nil } }
        func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
        func accounts(for ids: [Int64]) throws -> [Int64] { ids.map { _ in 0 } }
    }

    /// Random journeys: channel 0–3 (0 none), stage 1–3, a value on about one event in four (some of them 0).
    func data(seed: UInt64) -> (JourneyData, [Int64: String]) {
        var r = TestRandom(seed: seed)
        var seq = PackedSequences()
        var segment: [Int64: String] = [:]
        for c in 0..<(50 + r.next(150)) {
            let id = Int64(c + 1)
            seq.customerIDs.append(id)
            if r.next(4) != 0 { segment[id] = ["smb", "enterprise", "mid"][r.next(3)] }
            for k in 0..<(1 + r.next(12)) {
                seq.times.append(Int64(k) * 3_600_000); seq.events.append(UInt32(1 + r.next(3))); seq.channels.append(UInt16(r.next(4)))
                seq.stages.append(UInt8(1 + r.next(3))); seq.kinds.append(0); seq.campaigns.append(0)
                seq.values.append(r.next(4) == 0 ? Double(r.next(5) * 25) + 0.5 * Double(r.next(2)) : .nan)
            }
            seq.offsets.append(Int32(seq.times.count))
        }
        var cat = Catalog()
        cat.events = ["", "ad", "visit", "buy"]; cat.channels = ["", "email", "linkedin", "web"]; cat.stages = ["awareness", "consideration", "conversion"]
        cat.customerAttributes = ["segment"]
        // Every other seed the touchpoint catalog gives costs (then revenue shows cost and margin).
        if seed % 2 == 0 { cat.eventCosts = [0, 2.5, 0.25, 40] }
        return (JourneyData(sequences: seq, catalog: cat, attributes: Segments(segment)), segment)
    }

    struct Tally { var customers = Set<Int>(), buyers = Set<Int>(), orders = 0, revenue = 0.0, cost = 0.0 }

    /// The plain answer: label → tally, and the whole.
    func plain(_ d: JourneyData, _ segment: [Int64: String], by: String?, keep: (Int) -> Bool) -> ([String: Tally], Tally) {
        let s = d.sequences
        var groups: [String: Tally] = [:], all = Tally()
        for c in 0..<s.customerCount {
            for i in Int(s.offsets[c])..<Int(s.offsets[c + 1]) where keep(i) {
                let label: String
                switch by {
                case "channel": label = s.channels[i] == 0 ? "(none)" : d.catalog.channels[Int(s.channels[i])]
                case "customer.segment": label = segment[s.customerIDs[c]] ?? "(none)"
                default: label = "all"
                }
                groups[label, default: Tally()].customers.insert(c); all.customers.insert(c)
                let cost = d.catalog.cost(ofEvent: Int(s.events[i]))
                groups[label]!.cost += cost; all.cost += cost
                let v = s.values[i]
                if !v.isNaN {
                    groups[label]!.buyers.insert(c); groups[label]!.orders += 1; groups[label]!.revenue += v
                    all.buyers.insert(c); all.orders += 1; all.revenue += v
                }
            }
        }
        return (groups, all)
    }

    @Test func revenueEqualsThePlainComputation() throws {
        for seed in 1...40 as ClosedRange<UInt64> {
            let (d, segment) = data(seed: seed)
            let s = d.sequences
            let cases: [(String, String?, (Int) -> Bool)] = [
                ("revenue", nil, { _ in true }),
                ("revenue by channel", "channel", { _ in true }),
                ("revenue by customer.segment", "customer.segment", { _ in true }),
                ("revenue by channel where stage = conversion", "channel", { s.stages[$0] == 3 }),
                ("revenue by customer.segment where channel != email", "customer.segment", { s.channels[$0] != 1 && s.channels[$0] != 0 }),   // no channel: not != (as SQL)
            ]
            for (statement, by, keep) in cases where d.catalog.hasCosts {
                // `margin`: the same groups, ordered by margin, with the catalog cost of every event counted.
                let marginStatement = "margin" + statement.dropFirst("revenue".count)
                let t = try Executor(data: d).run(try Parser.parse(marginStatement))[0]
                let (groups, all) = plain(d, segment, by: by, keep: keep)
                let expected = (by == nil ? ["all": all] : groups).filter { $0.value.customers.count > 0 }
                    .sorted { $0.value.revenue - $0.value.cost != $1.value.revenue - $1.value.cost ? $0.value.revenue - $0.value.cost > $1.value.revenue - $1.value.cost : $0.key < $1.key }
                #expect(t.rows.count == expected.count, "\(marginStatement) seed \(seed)")
                for (row, (label, g)) in zip(t.rows, expected) {
                    let cells = by == nil ? row : Array(row.dropFirst())
                    if by != nil { #expect(row[0] == .text(label), "\(marginStatement) seed \(seed)") }
                    #expect(cells[0] == .int(g.customers.count), "\(marginStatement) \(label)")
                    guard case .money(let r) = cells[1], case .money(let c) = cells[2], case .money(let m) = cells[3], case .money(let mc) = cells[5] else {
                        Issue.record("\(marginStatement): cells \(cells)"); continue
                    }
                    #expect(abs(r - g.revenue) < 1e-9 && abs(c - g.cost) < 1e-9 && abs(m - (g.revenue - g.cost)) < 1e-9, "\(marginStatement) \(label) seed \(seed)")
                    #expect(abs(mc - (g.revenue - g.cost) / Double(g.customers.count)) < 1e-9)
                }
            }
            for (statement, by, keep) in cases {
                let t = try Executor(data: d).run(try Parser.parse(statement))[0]
                let (groups, all) = plain(d, segment, by: by, keep: keep)
                let expected = (by == nil ? ["all": all] : groups).filter { $0.value.customers.count > 0 }
                    .sorted { $0.value.revenue != $1.value.revenue ? $0.value.revenue > $1.value.revenue : $0.key < $1.key }
                #expect(t.rows.count == expected.count, "\(statement) seed \(seed)")
                for (row, (label, g)) in zip(t.rows, expected) {
                    let cells = by == nil ? row : Array(row.dropFirst())
                    if by != nil { #expect(row[0] == .text(label), "\(statement) seed \(seed)") }
                    #expect(cells[0] == .int(g.customers.count) && cells[1] == .int(g.buyers.count) && cells[2] == .int(g.orders), "\(statement) \(label) seed \(seed): \(row)")
                    guard case .money(let r) = cells[3] else { Issue.record("revenue cell \(cells[3])"); continue }
                    #expect(abs(r - g.revenue) < 1e-9, "\(statement) \(label)")
                    #expect(cells[5] == (g.orders == 0 ? .null : .money(g.revenue / Double(g.orders))))
                    #expect(cells[6] == .money(g.revenue / Double(g.customers.count)))
                }
                // The note's totals are the whole's, customers counted once.
                #expect(t.notes.contains { $0.contains("by \(all.buyers.count) of \(all.customers.count) customers") }, "\(statement): \(t.notes)")
            }
        }
    }

    /// Leads per first touch (or segment): a customer's first event passing the filter names its group; MQL, SQL
    /// and won = it has an event at that stage or a later one.
    @Test func leadsEqualThePlainComputation() throws {
        for seed in 1...40 as ClosedRange<UInt64> {
            let (d, segment) = data(seed: seed)
            let s = d.sequences
            let cases: [(String, String?, (Int) -> Bool, [UInt8])] = [
                ("leads", nil, { _ in true }, [2, 2, 3]),
                ("leads by channel", "channel", { _ in true }, [2, 2, 3]),
                ("leads by channel mql awareness sql consideration won conversion where channel != linkedin", "channel", { s.channels[$0] != 2 && s.channels[$0] != 0 }, [1, 2, 3]),
                ("leads by customer.segment won consideration mql consideration sql consideration", "customer.segment", { _ in true }, [2, 2, 2]),
            ]
            for (statement, by, keep, stages) in cases {
                // The catalog has no intent: the default sql stage is named explicitly where needed.
                let text = statement == "leads" || statement == "leads by channel" ? statement + " sql consideration" : statement
                let t = try Executor(data: d).run(try Parser.parse(text))[0]
                var groups: [String: [Double]] = [:]   // leads, mql, sql, won, revenue
                for c in 0..<s.customerCount {
                    let mine = (Int(s.offsets[c])..<Int(s.offsets[c + 1])).filter(keep)
                    guard let first = mine.first else { continue }
                    let top = mine.map { s.stages[$0] }.max()!
                    let value = mine.map { s.values[$0] }.filter { !$0.isNaN }.reduce(0, +)
                    let label = by == "channel" ? (s.channels[first] == 0 ? "(none)" : d.catalog.channels[Int(s.channels[first])])
                        : by == "customer.segment" ? segment[s.customerIDs[c]] ?? "(none)" : "all"
                    var g = groups[label] ?? [0, 0, 0, 0, 0]
                    g[0] += 1; g[4] += value
                    for k in 0..<3 where top >= stages[k] { g[1 + k] += 1 }
                    groups[label] = g
                }
                let expected = groups.sorted { $0.value[0] != $1.value[0] ? $0.value[0] > $1.value[0] : $0.key < $1.key }
                #expect(t.rows.count == expected.count, "\(text) seed \(seed)")
                for (row, (label, g)) in zip(t.rows, expected) {
                    let cells = by == nil ? row : Array(row.dropFirst())
                    if by != nil { #expect(row[0] == .text(label), "\(text) seed \(seed)") }
                    #expect(cells[0...3] == [.int(Int(g[0])), .int(Int(g[1])), .int(Int(g[2])), .int(Int(g[3]))], "\(text) \(label) seed \(seed): \(row)")
                    #expect(cells[4] == .percent(g[1] / g[0]) && cells[7] == .percent(g[3] / g[0]))
                    guard case .money(let r) = cells[8] else { Issue.record("revenue cell"); continue }
                    #expect(abs(r - g[4]) < 1e-9)
                }
            }
        }
    }

    @Test func marginNeedsCosts() throws {
        let (d, _) = data(seed: 1)   // odd seed: no costs
        #expect(throws: Diagnostic.self) { try Executor(data: d).run(try Parser.parse("margin by channel")) }
    }

    @Test func leadsStagesMustFollowTheFunnel() throws {
        let (d, _) = data(seed: 3)
        #expect(throws: Diagnostic.self) { try Executor(data: d).run(try Parser.parse("leads mql conversion sql consideration")) }
        #expect(throws: Diagnostic.self) { try Executor(data: d).run(try Parser.parse("leads mql considertion sql consideration")) }
    }

    /// `compare`: each side's customers and conversions against a plain computation, and the test's p-value
    /// against the textbook one.
    @Test func compareEqualsThePlainComputation() throws {
        for seed in 1...30 as ClosedRange<UInt64> {
            let (d, segment) = data(seed: seed)
            let s = d.sequences
            let t = try Executor(data: d).run(try Parser.parse("compare customer.segment = smb with touched channel:linkedin"))[0]
            var customers = [0, 0], converted = [0, 0], touches = [0, 0]
            for c in 0..<s.customerCount {
                let events = Int(s.offsets[c])..<Int(s.offsets[c + 1])
                let side = [segment[s.customerIDs[c]] == "smb", events.contains { s.channels[$0] == 2 }]
                for k in 0..<2 where side[k] {
                    customers[k] += 1; touches[k] += events.count
                    if events.contains(where: { s.stages[$0] >= 3 }) { converted[k] += 1 }
                }
            }
            #expect(t.rows[0][1] == .int(customers[0]) && t.rows[0][2] == .int(customers[1]), "seed \(seed): \(t.rows[0])")
            #expect(t.rows[1][1] == .int(converted[0]) && t.rows[1][2] == .int(converted[1]), "seed \(seed): \(t.rows[1])")
            #expect(t.rows[5][1] == .double(Double(touches[0]) / Double(customers[0])))
            let p = RateTest.pValue(converted[0], customers[0], converted[1], customers[1])!.p
            #expect(t.rows[2][4] == .text(p < 0.0001 ? "< 0.0001" : String(format: "%.4f", p)))
        }
    }

    @Test func rateTestsGiveTheTextbookValues() {
        // Fisher's tea-tasting table (3 of 4 right): two-sided p = 34/70.
        #expect(abs(RateTest.fisher(3, 4, 1, 4) - 34.0 / 70.0) < 1e-12)
        #expect(RateTest.pValue(3, 4, 1, 4)!.test == "Fisher's exact test")
        // 45 of 100 vs 30 of 100: pooled z = 2.1909, two-sided p = 0.02846.
        let z = RateTest.pValue(45, 100, 30, 100)!
        #expect(z.test == "two-proportion z-test" && abs(z.p - 0.028459) < 1e-5, "\(z)")
        #expect(RateTest.pValue(5, 10, 0, 0) == nil)
    }

    /// `profile`: per segment value the members and the converted, and the lift, against a plain count.
    @Test func profileEqualsThePlainComputation() throws {
        for seed in 1...30 as ClosedRange<UInt64> {
            let (d, segment) = data(seed: seed)
            let s = d.sequences
            let t = try Executor(data: d).run(try Parser.parse("profile where channel != email"))[0]
            var members = 0, converted = 0
            var byValue: [String: (Int, Int)] = [:]
            for c in 0..<s.customerCount {
                let mine = (Int(s.offsets[c])..<Int(s.offsets[c + 1])).filter { s.channels[$0] != 1 && s.channels[$0] != 0 }
                guard !mine.isEmpty else { continue }
                let won = mine.contains { s.stages[$0] >= 3 }
                members += 1; if won { converted += 1 }
                if let v = segment[s.customerIDs[c]] { byValue[v, default: (0, 0)].0 += 1; if won { byValue[v, default: (0, 0)].1 += 1 } }
            }
            let expected = byValue.filter { $0.value.1 >= 5 }
                .map { ($0.key, $0.value, (Double($0.value.1) / Double(converted)) / (Double($0.value.0) / Double(members))) }
                .sorted { $0.2 != $1.2 ? $0.2 > $1.2 : $0.0 < $1.0 }
            #expect(t.rows.count == expected.count, "seed \(seed)")
            for (row, e) in zip(t.rows, expected) {
                #expect(row[0] == .text("customer.segment") && row[1] == .text(e.0) && row[2] == .int(e.1.1), "seed \(seed): \(row)")
                guard case .double(let lift) = row[6] else { Issue.record("lift"); continue }
                #expect(abs(lift - e.2) < 1e-12)
            }
            #expect(t.notes[0].hasPrefix("\(converted.grouped) of \(members.grouped) customers converted"), "\(t.notes[0])")
        }
    }
}
