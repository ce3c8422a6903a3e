import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine
import JourneyResults

/// `value` and `customers by value` against a plain computation of docs/semantics.md ("value"): orders listed per
/// customer, the repeat curve summed period by period, the projection summed over the horizon.
@Suite struct ValueReferenceTests {
    let day: Int64 = 86_400_000

    /// Random journeys over ~700 days: a value on about one event in three (from 10 to 1,000).
    func data(seed: UInt64) -> (JourneyData, [Int64: String]) {
        var r = TestRandom(seed: seed)
        var seq = PackedSequences()
        var segment: [Int64: String] = [:]
        for c in 0..<(80 + r.next(200)) {
            let id = Int64(c + 1)
            seq.customerIDs.append(id)
            segment[id] = ["smb", "enterprise", "mid"][r.next(3)]
            var t = Int64(r.next(400)) * day
            for _ in 0..<(1 + r.next(15)) {
                t += Int64(r.next(60)) * day + Int64(r.next(1000))
                seq.times.append(t); seq.events.append(UInt32(1 + r.next(3))); seq.channels.append(UInt16(1 + r.next(3)))
                seq.stages.append(UInt8(1 + r.next(3))); seq.kinds.append(0); seq.campaigns.append(0)
                seq.values.append(r.next(3) == 0 ? Double(10 + r.next(991)) : .nan)
            }
            seq.offsets.append(Int32(seq.times.count))
        }
        var cat = Catalog()
        cat.events = ["", "ad", "visit", "buy"]; cat.channels = ["", "email", "linkedin", "web"]; cat.stages = ["awareness", "consideration", "conversion"]
        cat.customerAttributes = ["segment"]
        return (JourneyData(sequences: seq, catalog: cat, attributes: RevenueReferenceTests.Segments(segment)), segment)
    }

    /// Per customer: historic revenue and projection, from the definition.
    func plain(_ s: PackedSequences, horizon: Int) -> (historic: [Double], projected: [Double], orders: [Int]) {
        let period: Int64 = 30 * day
        let end = s.times.max()!
        var orders: [[(t: Int64, v: Double)]] = []
        for c in 0..<s.customerCount {
            orders.append((Int(s.offsets[c])..<Int(s.offsets[c + 1])).filter { !s.values[$0].isNaN }.map { (s.times[$0], s.values[$0]) })
        }
        var observed: [Int: Double] = [:], repeatRevenue: [Int: Double] = [:]
        for o in orders where !o.isEmpty {
            let first = o[0], age = Int((end - first.t) / period)
            if age >= 2 { for k in 1...(age - 1) { observed[k, default: 0] += first.v } }
            for later in o.dropFirst() {
                let k = Int((later.t - first.t) / period)
                if k >= 1 && k <= age - 1 { repeatRevenue[k, default: 0] += later.v }
            }
        }
        func ratio(_ k: Int) -> Double { (observed[k] ?? 0) > 0 ? (repeatRevenue[k] ?? 0) / observed[k]! : 0 }
        let projected = orders.map { o -> Double in
            guard let first = o.first else { return 0 }
            let age = Int((end - first.t) / period)
            return first.v * ((age + 1)...(age + horizon)).reduce(0) { $0 + ratio($1) }
        }
        return (orders.map { $0.reduce(0) { $0 + $1.v } }, projected, orders.map(\.count))
    }

    func money(_ v: Value) -> Double? { if case .money(let x) = v { return x }; return nil }

    @Test func valueEqualsThePlainComputation() throws {
        for seed in 1...30 as ClosedRange<UInt64> {
            let (d, segment) = data(seed: seed)
            let s = d.sequences
            for horizon in [1, 12, 40] {
                let (historic, projected, orders) = plain(s, horizon: horizon)
                #expect(projected.contains { $0 > 0 } || seed > 3, "seed \(seed): the reference projects something")
                // The whole.
                let all = try Executor(data: d).run(try Parser.parse("value horizon \(horizon * 30)d"))[0]
                let h = historic.reduce(0, +), p = projected.reduce(0, +)
                #expect(all.rows[0][0] == .int(s.customerCount) && all.rows[0][1] == .int(orders.filter { $0 > 0 }.count))
                #expect(abs((money(all.rows[0][2]) ?? -1) - h) < 1e-6 && abs((money(all.rows[0][3]) ?? -1) - p) < 1e-6, "seed \(seed) horizon \(horizon)")
                // By segment: each customer under its value, ordered by lifetime value.
                let bySegment = try Executor(data: d).run(try Parser.parse("value by customer.segment horizon \(horizon * 30)d"))[0]
                var groups: [String: (Double, Double)] = [:]
                for c in 0..<s.customerCount {
                    let g = segment[s.customerIDs[c]]!
                    groups[g, default: (0, 0)].0 += historic[c]; groups[g, default: (0, 0)].1 += projected[c]
                }
                let expected = groups.sorted { $0.value.0 + $0.value.1 != $1.value.0 + $1.value.1 ? $0.value.0 + $0.value.1 > $1.value.0 + $1.value.1 : $0.key < $1.key }
                #expect(bySegment.rows.map { $0[0] } == expected.map { .text($0.key) }, "seed \(seed)")
                for (row, (_, v)) in zip(bySegment.rows, expected) {
                    #expect(abs((money(row[3]) ?? -1) - v.0) < 1e-6 && abs((money(row[4]) ?? -1) - v.1) < 1e-6, "seed \(seed)")
                }
            }
            // The ranking: by lifetime value, ties by position.
            let (historic, projected, _) = plain(s, horizon: 12)
            let life: [Double] = (0..<s.customerCount).map { historic[$0] + projected[$0] }
            let ranked: [Int] = (0..<s.customerCount).sorted { life[$0] != life[$1] ? life[$0] > life[$1] : $0 < $1 }
            let list = try Executor(data: d).run(try Parser.parse("customers by value limit 7"))[0]
            let keys: [Value] = ranked.prefix(7).map { Value.text(String(s.customerIDs[$0])) }
            #expect(list.rows.map { $0[0] } == keys, "seed \(seed)")
            for (row, c) in zip(list.rows, ranked) { #expect(abs((money(row[1]) ?? -1) - life[c]) < 1e-6) }
        }
    }

    /// A hand-checked case: one buyer observed long enough teaches the curve; a young buyer gets its projection.
    @Test func aHandCheckedProjection() throws {
        var seq = PackedSequences()
        // Customer 1: first order 100 at day 0, 50 at day 40 (period 1), 20 at day 70 (period 2); data ends day 400
        // (age 13: observed through period 12). Customer 2: first order 200 at day 345 (age 1: no whole period yet).
        // Customer 3: no order; its event ends the data.
        for (id, events) in [(1, [(0, 100.0), (40, 50), (70, 20)]), (2, [(345, 200)]), (3, [(400, Double.nan)])] as [(Int64, [(Int64, Double)])] {
            seq.customerIDs.append(id)
            for (t, v) in events {
                seq.times.append(t * day); seq.events.append(1); seq.channels.append(1); seq.stages.append(1); seq.kinds.append(0)
                seq.campaigns.append(0); seq.values.append(v)
            }
            seq.offsets.append(Int32(seq.times.count))
        }
        var cat = Catalog(); cat.events = ["", "buy"]; cat.channels = ["", "web"]; cat.stages = ["conversion"]
        let d = JourneyData(sequences: seq, catalog: cat, attributes: RevenueReferenceTests.Segments([:]))
        // Curve (customer 1 alone): period 1 = 50/100, period 2 = 20/100, periods 3–12 = 0. Over a 60-day horizon
        // customer 2 (age 1) expects periods 2 and 3: 200 × (0.2 + 0) = 40; customer 1 (age 13) expects periods
        // 14, 15: nothing observed, 0.
        let t = try Executor(data: d).run(try Parser.parse("value horizon 60d"))
        #expect(t[0].rows[0][0] == .int(3) && t[0].rows[0][1] == .int(2))
        #expect(money(t[0].rows[0][2]) == 370 && money(t[0].rows[0][3]) == 40 && money(t[0].rows[0][4]) == 410)
        #expect(t[1].rows.count == 12 && t[1].rows[0][1] == .int(1) && t[1].rows[0][3] == .percent(0.5))
        #expect(t[1].rows[1][3] == .percent(0.2) && t[1].rows[2][3] == .percent(0))
    }
}
