import Testing
import JourneyCore
import JourneyLanguage
@testable import JourneyEngine

@Suite struct PathsReferenceTests {
    /// Plain reference for `paths from A to B [max K steps] [keep repeats]`: for each customer, the events from the
    /// first A to the first B after it; repeats collapsed unless kept; longer than K: first K−1, "…", B.
    func reference(_ journeys: [[String]], from a: String, to b: String, max k: Int, keep: Bool) -> (paths: [String: Int], never: Int) {
        var paths: [String: Int] = [:], never = 0
        for j in journeys {
            guard let s = j.firstIndex(of: a) else { continue }
            guard let e = j[(s + 1)...].firstIndex(of: b) else { never += 1; continue }
            var labels: [String] = []
            for x in j[s...e] where keep || labels.last != x { labels.append(x) }
            if labels.count > k { labels = Array(labels.prefix(k - 1)) + ["…", labels[labels.count - 1]] }
            paths[labels.joined(separator: " → "), default: 0] += 1
        }
        return (paths, never)
    }

    @Test func engineMatchesReference() throws {
        var rng = TestRandom(seed: 5)
        func next(_ n: Int) -> Int { rng.next(n) }
        let names = ["", "a", "b", "c", "d"]
        for _ in 0..<300 {
            var seq = PackedSequences()
            var journeys: [[String]] = []
            for c in 0..<(1 + next(30)) {
                var j: [String] = []
                seq.customerIDs.append(Int64(c + 1))
                for k in 0..<next(10) {
                    let e = 1 + next(4)
                    j.append(names[e])
                    seq.times.append(Int64(k) * 1000); seq.events.append(UInt32(e)); seq.channels.append(0); seq.stages.append(0)
                    seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
                }
                seq.offsets.append(Int32(seq.times.count))
                journeys.append(j)
            }
            var cat = Catalog(); cat.events = names
            let k = 2 + next(5), keep = next(2) == 0
            let q = "paths from a to c max \(k) steps top 1000" + (keep ? " keep repeats" : "")
            guard case .paths(let pq) = try Parser.parse(q) else { Issue.record("not paths"); return }
            var binder = Binder(catalog: cat)
            let t = try Executor(data: JourneyData(sequences: seq, catalog: cat, attributes: EmptyAttributes())).paths(pq, binder: &binder)[0]
            let ref = reference(journeys, from: "a", to: "c", max: k, keep: keep)
            var got: [String: Int] = [:], never = -1
            for r in t.rows {
                guard case .text(let p) = r[0], case .int(let n) = r[1] else { continue }
                if p.hasPrefix("(never reached") { never = n } else { got[p] = n }
            }
            #expect(got == ref.paths, "\(q) on \(journeys)")
            #expect(never == ref.never)
        }
    }
}
