import Testing
import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine
import JourneyResults

/// `score` against the definition in docs/semantics.md ("score"): the snapshot, the features and the held-back
/// customers written out plainly; the fit itself is checked in LogisticModelTests.
@Suite struct ScoreReferenceTests {
    let day: Int64 = 86_400_000

    func data(seed: UInt64) -> (JourneyData, [Int64: String]) {
        var r = TestRandom(seed: seed)
        var seq = PackedSequences()
        var segment: [Int64: String] = [:]
        for c in 0..<(300 + r.next(300)) {
            let id = Int64(c + 1)
            seq.customerIDs.append(id)
            if r.next(10) != 0 { segment[id] = ["smb", "enterprise", "mid"][r.next(3)] }
            var t = Int64(r.next(300)) * day
            var stage = 1
            for _ in 0..<(1 + r.next(12)) {
                t += Int64(r.next(40)) * day + Int64(r.next(100_000))
                if r.next(4) == 0 { stage = min(stage + 1, 3) }
                seq.times.append(t); seq.events.append(UInt32(1 + r.next(3))); seq.channels.append(UInt16(r.next(4)))
                seq.stages.append(UInt8(r.next(5) == 0 ? 0 : stage)); seq.kinds.append(UInt8(r.next(4))); seq.campaigns.append(0)
                seq.values.append(.nan)
            }
            seq.offsets.append(Int32(seq.times.count))
        }
        var cat = Catalog()
        cat.events = ["", "ad", "visit", "call"]; cat.channels = ["", "email", "linkedin", "web"]; cat.stages = ["awareness", "consideration", "conversion"]
        cat.customerAttributes = ["segment"]
        return (JourneyData(sequences: seq, catalog: cat, attributes: RevenueReferenceTests.Segments(segment)), segment)
    }

    /// The features of customer `c` at `t`, nil without an event by then.
    func features(_ s: PackedSequences, _ c: Int, at t: Int64, segments: [String], segment: String?) -> [Double]? {
        let events = (Int(s.offsets[c])..<Int(s.offsets[c + 1])).filter { s.times[$0] <= t }
        guard let first = events.first, let last = events.last else { return nil }
        let n = Double(events.count)
        return [log1p(n), Double(Set(events.map { s.channels[$0] }.filter { $0 != 0 }).count),
                Double(events.map { s.stages[$0] }.max()!) / 3,
                log1p(Double(t - s.times[first]) / Double(day)), log1p(Double(t - s.times[last]) / Double(day)),
                log1p(Double(events.filter { s.times[$0] > t - 30 * day }.count)),
                Double(events.filter { s.kinds[$0] == 1 }.count) / n, Double(events.filter { s.kinds[$0] == 3 }.count) / n]
            + segments.map { segment == $0 ? 1 : 0 }
    }

    @Test func scoreFollowsTheDefinition() throws {
        for seed in 1...6 as ClosedRange<UInt64> {
            let (d, segment) = data(seed: seed)
            let s = d.sequences
            let end = s.times.max()!, cutoff = end - 120 * day
            // Segment features: every value but the most common (ties: first seen), customers in order.
            var seen: [String] = [], counts: [String: Int] = [:]
            for c in 0..<s.customerCount { if let v = segment[s.customerIDs[c]] { if counts[v] == nil { seen.append(v) }; counts[v, default: 0] += 1 } }
            let segments = Array(seen.sorted { counts[$0]! != counts[$1]! ? counts[$0]! > counts[$1]! : seen.firstIndex(of: $0)! < seen.firstIndex(of: $1)! }.dropFirst())
            var train: [Double] = [], labels: [Bool] = [], open: [Int] = []
            for c in 0..<s.customerCount {
                let conversion = (Int(s.offsets[c])..<Int(s.offsets[c + 1])).first { s.stages[$0] >= 3 }.map { s.times[$0] }
                let id = s.customerIDs[c]
                let heldBack = ((UInt64(id) &* 0x9E37_79B9_7F4A_7C15) >> 32) % 10 < 3
                if conversion.map({ $0 > cutoff }) ?? true, !heldBack, let f = features(s, c, at: cutoff, segments: segments, segment: segment[id]) {
                    train += f; labels.append(conversion != nil)
                }
                if conversion == nil { open.append(c) }
            }
            let expected = LogisticModel.fit(train, labels: labels, features: 8 + segments.count)
            let tables = try Executor(data: d).run(try Parser.parse("score within 120d limit 5"))
            #expect(tables[0].notes[0].contains("of \(open.count.grouped) open leads"), "seed \(seed): \(tables[0].notes[0])")
            #expect(tables[1].rows.map { $0[0] } == (LeadFeatures.base + segments.map { "segment = \($0)" }).map { Value.text($0) })
            for (j, row) in tables[1].rows.enumerated() {
                guard case .double(let b) = row[1] else { Issue.record("coefficient cell \(row[1])"); continue }
                #expect(abs(b - expected.beta[j + 1]) < 1e-9, "seed \(seed) \(row[0])")
            }
            #expect(tables[1].notes[0].contains("trained on the \(labels.count.grouped) customers") && tables[1].notes[0].contains("\(labels.filter { $0 }.count.grouped) of whom"), "seed \(seed)")
            // The top lead: the highest probability on its features at the end, and `score for` shows those features.
            let probabilities = open.map { c in expected.probability(features(s, c, at: end, segments: segments, segment: segment[s.customerIDs[c]])!, row: 0) }
            let best = probabilities.indices.max { probabilities[$0] != probabilities[$1] ? probabilities[$0] < probabilities[$1] : $0 > $1 }!
            #expect(tables[0].rows[0][0] == .text(String(s.customerIDs[open[best]])), "seed \(seed)")
            #expect(tables[0].rows[0][1] == .percent(probabilities[best]))
            let one = try Executor(data: d).run(try Parser.parse("score within 120d for \(s.customerIDs[open[best]])"))[0]
            let f = features(s, open[best], at: end, segments: segments, segment: segment[s.customerIDs[open[best]]])!
            let names = LeadFeatures.base + segments.map { "segment = \($0)" }
            for row in one.rows {
                guard case .text(let name) = row[0], let j = names.firstIndex(of: name), case .double(let x) = row[1] else { Issue.record("row \(row)"); continue }
                #expect(abs(x - f[j]) < 1e-12, "seed \(seed) \(name)")
            }
        }
    }

    @Test func scoreSaysWhatIsMissing() throws {
        let (d, _) = data(seed: 1)
        #expect(throws: QueryError.self) { try Executor(data: d).run(try Parser.parse("score within 60d for 999999")) }
        #expect(throws: Diagnostic.self) { try Executor(data: d).run(try Parser.parse("score won conversoin")) }
    }
}
