import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine

@Suite struct PathsReferenceTests {
    struct Event { var name: String; var channel: Int; var time: Int64 }

    struct Shape {
        var from: String?, to: String?, next: Int?, previous: Int?
        var max = 5, keep = false, within: Int64?, channel: Int?, showChannel = false, top = 1000
        var text: String {
            var s = "paths"
            if let from { s += " from \(from)" }
            if let to { s += " to \(to)" }
            if let next { s += " next \(next)" }
            if let previous { s += " previous \(previous)" }
            if let within { s += " within \(within / 1000)s" }
            if let channel { s += " where channel = ch\(channel)" }
            if showChannel { s += " show channel" }
            return s + " max \(max) steps top \(top)" + (keep ? " keep repeats" : "")
        }
    }

    /// Plain reference for every form of `paths`: for each customer, the counted events (those passing the
    /// filter); the path runs from the first A (or the first event) to the first B after it (or the last event);
    /// `within` bounds B's distance from A, or the events kept after the start / before B; repeats collapsed
    /// unless kept; longer than K: first K−1, "…", B (from and to), or the first K and "…". `next K`: A and the
    /// K labels after it, ending at the first event of the last; `previous K`: the K labels before B and B,
    /// starting at the first event of the first.
    func reference(_ journeys: [[Event]], _ s: Shape) -> (paths: [String: [Double]], never: Int, started: Int) {
        var paths: [String: [Double]] = [:], never = 0, started = 0
        for j in journeys {
            let evs = j.filter { s.channel == nil || $0.channel == s.channel }
            guard !evs.isEmpty else { continue }
            var a = 0, b = evs.count - 1
            if let from = s.from {
                guard let f = evs.firstIndex(where: { $0.name == from }) else { continue }
                a = f
            }
            if let to = s.to {
                guard let e = evs.indices.first(where: { $0 >= (s.from == nil ? 0 : a + 1) && evs[$0].name == to }) else {
                    if s.from != nil { started += 1; never += 1 }
                    continue
                }
                b = e
                if s.from != nil {
                    if let w = s.within, evs[b].time - evs[a].time > w { started += 1; never += 1; continue }
                } else if let w = s.within {
                    a = (a...b).first { evs[$0].time >= evs[b].time - w }!
                }
            } else if let w = s.within {
                b = (a...b).last { evs[$0].time - evs[a].time <= w }!
            }
            func label(_ x: Event) -> String { s.showChannel ? "ch\(x.channel)" : x.name }
            // Runs of equal labels (each event its own run with `keep repeats`): (label, first event's index).
            var runs: [(label: String, at: Int)] = []
            for i in a...b where s.keep || runs.last?.label != label(evs[i]) { runs.append((label(evs[i]), i)) }
            if let k = s.next { runs = Array(runs.prefix(k + 1)); b = runs.last!.at }
            if let k = s.previous { runs = Array(runs.suffix(k + 1)); a = runs[0].at }
            started += 1
            var labels = runs.map(\.label)
            let k = s.max
            if s.next == nil && s.previous == nil && labels.count > k {
                if s.from != nil && s.to != nil && k >= 2 { labels = Array(labels.prefix(k - 1)) + ["…", labels[labels.count - 1]] }
                else { labels = Array(labels.prefix(k)) + ["…"] }
            }
            paths[labels.joined(separator: " → "), default: []].append(Double(evs[b].time - evs[a].time))
        }
        return (paths, never, started)
    }

    @Test func engineMatchesReference() throws {
        var rng = TestRandom(seed: 5)
        func next(_ n: Int) -> Int { rng.next(n) }
        let names = ["", "a", "b", "c", "d"]
        for round in 0..<600 {
            var seq = PackedSequences()
            var journeys: [[Event]] = []
            // Now and then a catalog past 64 events, where a, b and c share a presence bit (a customer with b but
            // no a is read in vain, and must still not count).
            let wide = next(4) == 0
            let codes = wide ? [0, 1, 65, 129, 2] : [0, 1, 2, 3, 4]
            for c in 0..<(1 + next(30)) {
                var j: [Event] = []
                seq.customerIDs.append(Int64(c + 1))
                var t: Int64 = 0
                for _ in 0..<(next(4) == 0 ? next(25) : next(10)) {
                    let e = 1 + next(4), ch = 1 + next(3)
                    t += Int64(next(4)) * 1000
                    j.append(Event(name: names[e], channel: ch, time: t))
                    seq.times.append(t); seq.events.append(UInt32(codes[e])); seq.channels.append(UInt16(ch)); seq.stages.append(0)
                    seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
                }
                seq.offsets.append(Int32(seq.times.count))
                journeys.append(j)
            }
            var cat = Catalog()
            cat.events = (0..<(wide ? 200 : 5)).map { "x\($0)" }
            for (i, code) in codes.enumerated() { cat.events[code] = names[i] }
            cat.channels = ["", "ch1", "ch2", "ch3"]
            var s = Shape()
            switch next(6) {
            case 0: s.from = "a"; s.to = "c"
            case 1: s.from = "a"
            case 2: s.from = "a"; s.next = 1 + next(6)
            case 3: s.to = "c"; s.previous = 1 + next(6)
            case 4: s.to = "c"
            default: break
            }
            if round < 150 { s.from = "a"; s.to = "c"; s.next = nil; s.previous = nil }
            s.max = 1 + next(9); s.keep = next(2) == 0
            if next(3) == 0 { s.within = Int64(next(12)) * 1000 }
            if next(4) == 0 { s.channel = 1 + next(3) }
            s.showChannel = next(4) == 0
            s.top = next(3) == 0 ? 1 + next(4) : 1000
            guard case .paths(let pq) = try Planner.plan(try Parser.parse(s.text), catalog: cat) else { Issue.record("not paths: \(s.text)"); return }
            let t = try Executor(data: JourneyData(sequences: seq, catalog: cat, attributes: EmptyAttributes())).paths(pq)[0]
            let ref = reference(journeys, s)
            // The rows the reference expects: by customers, ties by name; the rest as "other".
            let ranked = ref.paths.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }
            var want: [[Value]] = ranked.prefix(s.top).map { (k, d) in
                [.text(k), .int(d.count), .percent(Double(d.count) / Double(max(ref.started, 1))), .duration(quantile(d.sorted(), 0.5))]
            }
            let rest = ranked.dropFirst(s.top)
            if !rest.isEmpty {
                let d = rest.flatMap(\.value)
                want.append([.text("other (\(rest.count) paths)"), .int(d.count), .percent(Double(d.count) / Double(max(ref.started, 1))),
                             .duration(quantile(d.sorted(), 0.5))])
            }
            // What `explain` reports as read: customers whose presence signature admits A and B (code mod 64),
            // every customer with an event filter (which the signatures do not know).
            let pathsEngine = Executor(data: JourneyData(sequences: seq, catalog: cat, attributes: EmptyAttributes()))
            let scanned = pathsEngine.pathsScanned(try pathsEngine.compile(pq))
            let code = Dictionary(uniqueKeysWithValues: names.indices.map { (names[$0], codes[$0]) })
            func signed(_ j: [Event], _ name: String?) -> Bool {
                guard let name, s.channel == nil else { return true }
                return j.contains { code[$0.name]! & 63 == code[name]! & 63 }
            }
            let admitted = journeys.filter { signed($0, s.from) && signed($0, s.to) }
            #expect(scanned.customers == admitted.count && scanned.events == admitted.reduce(0) { $0 + $1.count }, "\(s.text)")
            let rows = t.rows.filter { if case .text(let p) = $0[0] { return !p.hasPrefix("(never reached") }; return true }
            #expect(rows == want, "\(s.text) on \(journeys)")
            if s.from != nil && s.to != nil {
                let never = t.rows.last.flatMap { r -> Int? in if case .int(let n) = r[1] { return n }; return nil }
                #expect(never == ref.never, "\(s.text)")
            }
        }
    }
}

@Suite struct QuantileTests {
    /// Selection gives the same quantiles as sorting, with many equal values and in every order.
    @Test func selectionEqualsSorting() {
        var rng = TestRandom(seed: 11)
        for _ in 0..<2000 {
            let n = rng.next(60)
            let spread = 1 + rng.next(n == 0 ? 1 : 2 * n)
            var xs = (0..<n).map { _ in Double(rng.next(spread)) }
            let q = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1][rng.next(7)]
            let want = quantile(xs.sorted(), q)
            let got = quantile(selecting: &xs, q)
            #expect(got == want || (got.isNaN && want.isNaN), "\(q) of \(xs)")
        }
    }
}
