import Foundation
import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine

/// `retention` against plain calendar code on random journeys, and the calendar periods themselves.
@Suite struct RetentionTests {
    static let day: Int64 = 86_400_000

    @Test func calendarPeriods() {
        let w = RetentionPeriod.week, m = RetentionPeriod.month
        // 2024-03-04 is a Monday: it starts its week; Sunday 2024-03-10 is in the same week.
        let mon = Int64(UTC.daysFromCivil(2024, 3, 4)) * Self.day
        #expect(w.index(mon) == w.index(mon + 6 * Self.day + 86_399_999))
        #expect(w.index(mon) == w.index(mon - 1) + 1)
        #expect(w.start(w.index(mon)) == mon)
        #expect(m.label(m.index(mon)) == "2024-03")
        #expect(m.start(m.index(mon)) == Int64(UTC.daysFromCivil(2024, 3, 1)) * Self.day)
        #expect(m.index(Int64(UTC.daysFromCivil(2025, 1, 31)) * Self.day) - m.index(mon) == 10)
        // Quarters: January–March, April–June, …; labelled 2024-Q1.
        let q = RetentionPeriod.quarter
        func day(_ y: Int, _ mo: Int, _ d: Int) -> Int64 { Int64(UTC.daysFromCivil(y, mo, d)) * Self.day }
        #expect(q.index(day(2024, 1, 1)) == q.index(day(2024, 3, 31) + 86_399_999))
        #expect(q.index(day(2024, 4, 1)) == q.index(day(2024, 3, 31)) + 1)
        #expect(q.label(q.index(day(2024, 5, 15))) == "2024-Q2" && q.start(q.index(day(2024, 5, 15))) == day(2024, 4, 1))
        #expect(q.index(day(2025, 1, 1)) - q.index(day(2024, 1, 1)) == 4 && q.label(q.index(day(1969, 12, 31))) == "1969-Q4")
    }

    @Test(arguments: ["day", "week", "month", "quarter"]) func matchesPlainCode(period: String) throws {
        var rng = TestRandom(seed: 12)
        func next(_ n: Int) -> Int { rng.next(n) }
        let p = RetentionPeriod(rawValue: period)!
        for _ in 0..<60 {
            var seq = PackedSequences()
            var journeys: [[(Int64, Int)]] = []
            for c in 0..<(1 + next(30)) {
                var t = Int64(UTC.daysFromCivil(2024, 1, 1)) * Self.day + Int64(next(90)) * Self.day
                var j: [(Int64, Int)] = []
                for _ in 0..<next(10) { t += Int64(next(20)) * Self.day + Int64(next(86_400_000)); j.append((t, 1 + next(3))) }
                seq.customerIDs.append(Int64(c + 1))
                for (t, e) in j { seq.times.append(t); seq.events.append(UInt32(e)); seq.channels.append(0); seq.stages.append(UInt8(e)); seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan) }
                seq.offsets.append(Int32(seq.times.count))
                journeys.append(j)
            }
            var cat = Catalog()
            cat.stages = ["awareness", "consideration", "intent"]; cat.events = ["", "a", "b", "c"]
            let d = JourneyData(sequences: seq, catalog: cat, attributes: EmptyAttributes())
            let q = "retention from stage:awareness returning stage:intent every \(period) periods 5"
            let t = try Executor(data: d).run(try Parser.parse(q))[0]
            // Plain: birth = first stage 1 event; period k retained when a stage 3 event after it lies in birth+k.
            let end = seq.times.max() ?? 0
            var want: [String: (Int, [Int], [Int])] = [:]
            for j in journeys {
                guard let b = j.firstIndex(where: { $0.1 == 1 }) else { continue }
                let birth = p.index(j[b].0)
                let key = p.label(birth)
                var r = want[key] ?? (0, [0, 0, 0, 0, 0], [0, 0, 0, 0, 0])
                r.0 += 1
                for k in 0..<5 where birth + k <= p.index(end) {
                    r.2[k] += 1
                    let back = j[(b + 1)...].contains { $0.1 == 3 && p.index($0.0) == birth + k }
                    if k == 0 || back { r.1[k] += 1 }
                }
                want[key] = r
            }
            #expect(t.rows.count == want.count)
            for row in t.rows {
                guard case .text(let key) = row[0], case .int(let size) = row[1], let w = want[key] else { Issue.record("row \(row)"); continue }
                #expect(size == w.0)
                for k in 0..<5 {
                    if w.2[k] == 0 { #expect(row[2 + k] == .null) }
                    else { #expect(row[2 + k] == .percent(Double(w.1[k]) / Double(w.2[k])), "\(key) period \(k)") }
                }
            }
        }
    }
}
