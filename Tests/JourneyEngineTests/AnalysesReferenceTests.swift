import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine

/// `time`, `dropoff`, `count` and `top` against plain implementations on random journeys.
@Suite struct AnalysesReferenceTests {
    /// Events (time in days, stage 1…4, channel 1…3) per customer.
    typealias Journey = [(t: Int64, stage: Int, channel: Int)]
    static let day: Int64 = 86_400_000

    func random(_ seed: inout UInt64) -> ([Journey], JourneyData) {
        func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(n)) }
        var seq = PackedSequences()
        var journeys: [Journey] = []
        for c in 0..<(1 + next(40)) {
            var t: Int64 = 0
            var j: Journey = []
            for _ in 0..<next(8) {
                t += Int64(next(5)) * Self.day
                j.append((t, 1 + next(4), 1 + next(3)))
            }
            seq.customerIDs.append(Int64(c + 1))
            for e in j {
                seq.times.append(e.t); seq.events.append(1); seq.channels.append(UInt16(e.channel)); seq.stages.append(UInt8(e.stage))
                seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
            }
            seq.offsets.append(Int32(seq.times.count))
            journeys.append(j)
        }
        var cat = Catalog()
        cat.stages = ["awareness", "consideration", "intent", "conversion"]; cat.events = ["", "touch"]; cat.channels = ["", "linkedin", "email", "website"]
        return (journeys, JourneyData(sequences: seq, catalog: cat, attributes: EmptyAttributes()))
    }

    func run(_ q: String, _ data: JourneyData) throws -> [ResultTable] {
        try Executor(data: data).run(try Parser.parse(q))
    }

    @Test func timeDropoffCountAndTopMatchPlainCode() throws {
        var seed: UInt64 = 21
        for _ in 0..<200 {
            let (journeys, data) = random(&seed)
            // time from awareness to conversion: first awareness, then the first conversion at its time or later
            // (ties together: a tied conversion counts wherever it stands in the store).
            var durations: [Double] = []
            for j in journeys {
                guard let a = j.firstIndex(where: { $0.stage == 1 }),
                      let b = j.indices.filter({ $0 != a && j[$0].t >= j[a].t && j[$0].stage == 4 }).min(by: { j[$0].t < j[$1].t })
                else { continue }
                durations.append(Double(j[b].t - j[a].t))
            }
            let time = try run("time from awareness to conversion", data)[0]
            if durations.isEmpty { #expect(time.rows.isEmpty) } else {
                let s = durations.sorted()
                #expect(time.rows[0][0] == .int(s.count))
                #expect(time.rows[0][3] == .duration(quantile(s, 0.5)) && time.rows[0][6] == .duration(s.last!))
            }
            // dropoff after consideration: reached it, and no later stage at the first consideration's time or later.
            var dropped = 0, reached = 0
            for j in journeys {
                guard let a = j.firstIndex(where: { $0.stage == 2 }) else { continue }
                reached += 1
                if !j.indices.contains(where: { $0 != a && j[$0].t >= j[a].t && j[$0].stage > 2 }) { dropped += 1 }
            }
            let drop = try run("dropoff after consideration", data)[0]
            let total = drop.rows.reduce(0) { acc, r in if case .int(let n) = r[3] { return acc + n }; return acc }
            #expect(total == dropped || drop.rows.count == 20)
            #expect(drop.notes[0].hasPrefix("\(reached.grouped) reached consideration; \(dropped.grouped) "))
            // count customers by channel: customers with any event on the channel.
            let counted = try run("count customers by channel", data)[0]
            for (k, name) in ["linkedin", "email", "website"].enumerated() {
                let expected = journeys.filter { $0.contains { $0.channel == k + 1 } }.count
                let row = counted.rows.first { $0[0] == .text(name) }
                #expect((row?[1] ?? .int(0)) == .int(expected))
            }
            // top stages: events per stage, and customers per stage.
            let top = try run("top 10 stages", data)[0]
            for (k, name) in ["awareness", "consideration", "intent", "conversion"].enumerated() {
                let events = journeys.reduce(0) { $0 + $1.filter { $0.stage == k + 1 }.count }
                let customers = journeys.filter { $0.contains { $0.stage == k + 1 } }.count
                let row = top.rows.first { $0[0] == .text(name) }
                #expect((row?[1] ?? .int(0)) == .int(events) && (row?[3] ?? .int(0)) == .int(customers))
            }
        }
    }
}
