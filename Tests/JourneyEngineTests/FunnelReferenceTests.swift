import Testing
import JourneyCore
import JourneyLanguage
@testable import JourneyEngine

struct NoAttributes: AttributeSource {
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { "s\($0 % 3)" } }
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accounts(for ids: [Int64]) throws -> [Int64] { ids.map { $0 / 2 + 1 } }
}

/// Plain reference: for each customer, the first event of step 1, then for each later step the first later
/// event (by position) that matches, within the window from the entry; entry best tries every start.
func referenceLevel(events: [(t: Int64, e: Int)], steps: [Int], within: Int64?, best: Bool, strict: Bool) -> Int {
    var bestLevel = 0
    for (s, ev) in events.enumerated() where ev.e == steps[0] {
        var level = 1, pos = s
        while level < steps.count {
            var found: Int? = nil
            var j = pos + 1
            while j < events.count {
                if let w = within, events[j].t - ev.t > w { break }
                if events[j].e == steps[level] { found = j; break }
                if strict { break }
                j += 1
            }
            guard let f = found else { break }
            level += 1; pos = f
        }
        bestLevel = max(bestLevel, level)
        if !best { return bestLevel }
    }
    return bestLevel
}

@Suite struct FunnelReferenceTests {
    @Test func engineMatchesReferenceOnRandomData() throws {
        var seed: UInt64 = 42
        func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(n)) }
        for trial in 0..<300 {
            var seq = PackedSequences()
            var journeys: [[(t: Int64, e: Int)]] = []
            let customers = 1 + next(20)
            for c in 0..<customers {
                var t: Int64 = 0
                var evs: [(t: Int64, e: Int)] = []
                for _ in 0..<next(9) {
                    t += Int64(next(4)) * 1000   // ties are common
                    evs.append((t, 1 + next(4)))
                }
                journeys.append(evs)
                seq.customerIDs.append(Int64(c + 1))
                for e in evs {
                    seq.times.append(e.t); seq.events.append(UInt32(e.e)); seq.channels.append(0); seq.stages.append(0)
                    seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
                }
                seq.offsets.append(Int32(seq.times.count))
            }
            var cat = Catalog()
            cat.events = ["", "a", "b", "c", "d"]
            let steps = (0..<(1 + next(4))).map { _ in 1 + next(4) }
            let within: Int64? = next(2) == 0 ? nil : Int64(next(10)) * 1000
            let best = next(2) == 0, strict = next(4) == 0
            let plan = FunnelPlan(steps: steps.map { s in .event((0...4).map { $0 == s }) }, stepWithin: steps.map { _ in nil },
                                  within: within, order: strict ? .strict : .sequential, entry: best ? .best : .first, eventFilter: nil)
            seq.withView { v in
                var scratch: [Int] = []
                for c in 0..<customers {
                    let m = FunnelMatcher.match(plan, v, Int(v.offsets[c]), Int(v.offsets[c + 1]), scratch: &scratch)
                    let ref = referenceLevel(events: journeys[c], steps: steps, within: within, best: best, strict: strict)
                    #expect(m.level == ref, "trial \(trial) customer \(c) steps \(steps) within \(String(describing: within)) best \(best) strict \(strict) events \(journeys[c])")
                }
            }
        }
    }

    @Test func funnelTableCountsAndRates() throws {
        var seq = PackedSequences()
        // Customer 1: a b c; 2: a b; 3: a; 4: b c (never enters).
        let journeys: [[Int]] = [[1, 2, 3], [1, 2], [1], [2, 3]]
        for (c, j) in journeys.enumerated() {
            seq.customerIDs.append(Int64(c + 1))
            for (k, e) in j.enumerated() {
                seq.times.append(Int64(k) * 86_400_000); seq.events.append(UInt32(e)); seq.channels.append(0); seq.stages.append(0)
                seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
            }
            seq.offsets.append(Int32(seq.times.count))
        }
        var cat = Catalog(); cat.events = ["", "a", "b", "c"]; cat.stages = ["awareness"]
        let ex = Executor(data: JourneyData(sequences: seq, catalog: cat, attributes: NoAttributes()))
        var binder = Binder(catalog: cat)
        guard case .funnel(let q) = try Parser.parse("funnel a > b > c") else { Issue.record("not a funnel"); return }
        let t = try ex.funnel(q, binder: &binder)[0]
        #expect(t.rows.map { $0[1] } == [.int(3), .int(2), .int(1)])
        #expect(t.rows[1][2] == .percent(2.0 / 3.0))
        #expect(t.rows[0][4] == .int(1))
        #expect(t.rows[1][5] == .duration(86_400_000))
    }
}
