import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine

@Suite struct PausesTests {
    /// c1: days 0, 1, 40 (a 39-day pause, resumed), then nothing until the store ends on day 100 (open, 60 days).
    /// c2: days 0, 95, 100 (a 95-day pause, resumed; not open). c3: day 50 only (open, 50 days).
    func data() -> JourneyData {
        var seq = PackedSequences()
        let day: Int64 = 86_400_000
        for (c, days) in [[0, 1, 40], [0, 95, 100], [50]].enumerated() {
            seq.customerIDs.append(Int64(c + 1))
            for (k, d) in days.enumerated() {
                seq.times.append(Int64(d) * day); seq.events.append(UInt32(k + 1)); seq.channels.append(0)
                seq.stages.append(UInt8(min(k + 1, 3))); seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
            }
            seq.offsets.append(Int32(seq.times.count))
        }
        var cat = Catalog()
        cat.events = ["", "e1", "e2", "e3"]; cat.stages = ["awareness", "consideration", "intent"]
        return JourneyData(sequences: seq, catalog: cat, attributes: NoAttributes())
    }

    func run(_ q: String) throws -> [ResultTable] {
        guard case .pauses = try Parser.parse(q) else { Issue.record("not pauses"); return [] }
        return try Executor(data: data()).run(try Parser.parse(q), keys: { $0.map { "c\($0)" } })
    }

    @Test func summaryCountsResumedAndOpenPauses() throws {
        let t = try run("pauses longer than 30d")
        #expect(t[0].rows.map { $0[1] } == [.int(2), .int(2), .duration(67 * 86_400_000), .int(2)])
        // c1 resumed from consideration into intent, c2 from awareness into consideration.
        #expect(t[1].rows.map { $0[0].plain }.sorted() == ["awareness → consideration", "consideration → intent"])
    }

    /// `open limit N` shows N rows even past the default 50 (it showed at most 50 before), the silent longest
    /// first, ties by customer: checked against a sort of all open pauses.
    @Test func openLimitBeyondFiftyShowsThatMany() throws {
        var seq = PackedSequences()
        let day: Int64 = 86_400_000
        var silence: [(Int64, Int64)] = []
        for c in 0..<130 {
            seq.customerIDs.append(Int64(c + 1))
            let last = Int64((c * 37) % 60)   // many ties
            for d in [0, last] { seq.times.append(d * day); seq.events.append(1); seq.channels.append(0); seq.stages.append(1); seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan) }
            seq.offsets.append(Int32(seq.times.count))
            silence.append((Int64(c + 1), 200 - last))
        }
        seq.customerIDs.append(999); seq.times.append(200 * day); seq.events.append(1); seq.channels.append(0); seq.stages.append(1); seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
        seq.offsets.append(Int32(seq.times.count))
        var cat = Catalog()
        cat.events = ["", "e1"]; cat.stages = ["awareness"]
        let t = try Executor(data: JourneyData(sequences: seq, catalog: cat, attributes: NoAttributes()))
            .run(try Parser.parse("pauses longer than 100d open limit 90"), keys: { $0.map { "c\($0)" } })[0]
        let expected = silence.filter { $0.1 > 100 }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(90).map { Value.text("c\($0.0)") }
        #expect(expected.count == 90)
        #expect(t.rows.map { $0[0] } == Array(expected))
    }

    @Test func openListsTheSilentLongestFirst() throws {
        let t = try run("pauses longer than 30d open")[0]
        #expect(t.rows.map { $0[0] } == [.text("c1"), .text("c3")])
        #expect(t.rows[0][5] == .duration(60 * 86_400_000))
    }

    @Test func customersWhoReachedAndWentQuiet() throws {
        // c1 reached intent (stage 3) and is silent 60 days; c2 reached intent, silent 0 days; c3 never reached intent.
        let t = try Executor(data: data()).run(try Parser.parse("customers who reached intent and no touch for 30d"), keys: { $0.map { "c\($0)" } })[0]
        #expect(t.rows.map { $0[0] } == [.text("c1")])
        let t2 = try Executor(data: data()).run(try Parser.parse("customers who not reached intent"), keys: { $0.map { "c\($0)" } })[0]
        #expect(t2.rows.map { $0[0] } == [.text("c3")])
    }

    @Test func longerThresholdKeepsOnlyLongPauses() throws {
        let t = try run("pauses longer than 50d resumed")[0]
        #expect(t.rows.map { $0[1] } == [.int(1)])
        #expect(t.rows[0][3] == .duration(95 * 86_400_000))
    }
}
