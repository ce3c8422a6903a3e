import Foundation
import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults
@testable import JourneyEngine

/// Attribution models: hand-computed cases, a plain reference on random journeys, Shapley against enumeration of
/// every order of the players, Markov against a dense linear solve.
@Suite struct AttributionTests {
    static let day: Int64 = 86_400_000
    static let channels = ["", "linkedin", "email", "website"]
    /// One event: time (ms), channel 1…3, stage 1…4 (4 = conversion), value.
    typealias Event = (t: Int64, channel: Int, stage: Int, value: Double)

    func data(_ journeys: [[Event]]) -> JourneyData {
        var seq = PackedSequences()
        for (c, j) in journeys.enumerated() {
            seq.customerIDs.append(Int64(c + 1))
            for e in j {
                seq.times.append(e.t); seq.events.append(UInt32(e.stage)); seq.channels.append(UInt16(e.channel))
                seq.stages.append(UInt8(e.stage)); seq.kinds.append(UInt8(e.channel)); seq.campaigns.append(0); seq.values.append(e.value)
            }
            seq.offsets.append(Int32(seq.times.count))
        }
        var cat = Catalog()
        cat.stages = ["awareness", "consideration", "intent", "conversion"]
        cat.events = ["", "ad", "page", "call", "order"]
        cat.channels = Self.channels
        return JourneyData(sequences: seq, catalog: cat, attributes: EmptyAttributes())
    }

    func run(_ q: String, _ d: JourneyData) throws -> ResultTable {
        guard case .attribution = try Parser.parse(q) else { throw QueryError("not attribution") }
        return try Executor(data: d).run(try Parser.parse(q))[0]
    }

    /// Credited conversions per first-column label.
    func credits(_ t: ResultTable, column: Int = 1) -> [String: Double] {
        var out: [String: Double] = [:]
        for r in t.rows {
            guard case .text(let l) = r[0] else { continue }
            switch r[column] { case .double(let d): out[l] = d; case .int(let i): out[l] = Double(i); default: break }
        }
        return out
    }

    func close(_ a: [String: Double], _ b: [String: Double], _ tol: Double = 1e-9) -> Bool {
        Set(a.keys.filter { abs(a[$0]!) > tol }) == Set(b.keys.filter { abs(b[$0]!) > tol })
            && a.keys.allSatisfy { abs(a[$0]! - (b[$0] ?? 0)) <= tol }
    }

    // MARK: hand-computed

    /// linkedin (day 0) → email (day 5) → website (day 9) → conversion (day 10, value 100).
    var threeTouches: JourneyData {
        data([[(0, 1, 1, .nan), (5 * Self.day, 2, 2, .nan), (9 * Self.day, 3, 3, .nan), (10 * Self.day, 3, 4, 100)]])
    }

    @Test func firstLastLinearPosition() throws {
        let d = threeTouches
        #expect(credits(try run("attribution model first", d)) == ["linkedin": 1, "email": 0, "website": 0])
        #expect(credits(try run("attribution model last", d)) == ["linkedin": 0, "email": 0, "website": 1])
        #expect(close(credits(try run("attribution model linear", d)), ["linkedin": 1.0 / 3, "email": 1.0 / 3, "website": 1.0 / 3]))
        #expect(close(credits(try run("attribution model position", d)), ["linkedin": 0.4, "email": 0.2, "website": 0.4]))
        #expect(close(credits(try run("attribution model position 30 40 30", d)), ["linkedin": 0.3, "email": 0.4, "website": 0.3]))
        // Revenue follows the same weights.
        let rev = try run("attribution model position", d).rows.compactMap { r -> (String, Double)? in
            if case .text(let l) = r[0], case .money(let m) = r[3] { return (l, m) }; return nil
        }
        #expect(close(Dictionary(uniqueKeysWithValues: rev), ["linkedin": 40, "email": 20, "website": 40]))
    }

    @Test func timeDecayHalvesPerHalfLife() throws {
        // Ages 10d, 5d, 1d before the conversion; half-life 7d.
        let w = [10.0, 5, 1].map { pow(2, -$0 / 7) }
        let s = w.reduce(0, +)
        #expect(close(credits(try run("attribution model time_decay", threeTouches)),
                      ["linkedin": w[0] / s, "email": w[1] / s, "website": w[2] / s]))
        let w5 = [10.0, 5, 1].map { pow(2, -$0 / 5) }
        #expect(close(credits(try run("attribution model time_decay half_life 5d", threeTouches)),
                      ["linkedin": w5[0] / w5.reduce(0, +), "email": w5[1] / w5.reduce(0, +), "website": w5[2] / w5.reduce(0, +)]))
    }

    @Test func twoTouchesSplitPositionFirstToLast() throws {
        let d = data([[(0, 1, 1, .nan), (Self.day, 2, 2, .nan), (2 * Self.day, 3, 4, 10)]])
        #expect(close(credits(try run("attribution model position", d)), ["linkedin": 0.5, "email": 0.5]))
    }

    @Test func repeatPurchaseStartsANewJourneyAndLookbackCuts() throws {
        // Conversion 1 at day 10 after linkedin (day 0) and email (day 8); then website (day 20), conversion 2 at day 21;
        // then an email at day 200 that never converts; with lookback 5d the first conversion keeps only the email.
        let d = data([[(0, 1, 1, .nan), (8 * Self.day, 2, 2, .nan), (10 * Self.day, 3, 4, 50),
                       (20 * Self.day, 3, 3, .nan), (21 * Self.day, 3, 4, 70), (200 * Self.day, 2, 1, .nan)]])
        #expect(close(credits(try run("attribution model linear", d)), ["linkedin": 0.5, "email": 0.5, "website": 1]))
        #expect(close(credits(try run("attribution model linear lookback 5d", d)), ["email": 1, "website": 1]))
        // A conversion with no touchpoint in the lookback goes to '(no touchpoint)'.
        #expect(close(credits(try run("attribution model first lookback 1h", d)), ["(no touchpoint)": 2]))
        let t = try run("attribution model linear", d)
        #expect(t.notes.contains { $0.contains("1 journeys did not convert") })
    }

    @Test func byNeedsAnEventDimension() throws {
        #expect(throws: Diagnostic.self) { try run("attribution by customer.segment", threeTouches) }
    }

    // MARK: reference on random journeys

    /// The plain definition: per conversion the touches since the previous conversion within the lookback.
    func reference(_ journeys: [[Event]], model: String, lookback: Int64) -> [String: Double] {
        var out: [String: Double] = [:]
        for j in journeys {
            var touches: [Event] = []
            for e in j {
                if e.stage != 4 { touches.append(e); continue }
                let kept = touches.filter { e.t - $0.t <= lookback }
                touches = []
                let n = kept.count
                if n == 0 { out["(no touchpoint)", default: 0] += 1; continue }
                var w = [Double](repeating: 0, count: n)
                switch model {
                case "first": w[0] = 1
                case "last": w[n - 1] = 1
                case "linear": w = w.map { _ in 1 / Double(n) }
                case "position":
                    if n == 1 { w[0] = 1 } else if n == 2 { w = [0.5, 0.5] } else {
                        w = w.map { _ in 0.2 / Double(n - 2) }; w[0] = 0.4; w[n - 1] = 0.4
                    }
                default:
                    w = kept.map { pow(2, -Double(e.t - $0.t) / Double(7 * Self.day)) }
                    let s = w.reduce(0, +); w = w.map { $0 / s }
                }
                for (k, t) in kept.enumerated() { out[Self.channels[t.channel], default: 0] += w[k] }
            }
        }
        return out
    }

    @Test func heuristicModelsMatchPlainCodeOnRandomJourneys() throws {
        var rng = TestRandom(seed: 99)
        func next(_ n: Int) -> Int { rng.next(n) }
        for _ in 0..<150 {
            var journeys: [[Event]] = []
            for _ in 0..<(1 + next(30)) {
                var t: Int64 = 0, j: [Event] = []
                for _ in 0..<next(12) {
                    t += Int64(next(4)) * Self.day   // ties (same day) are common
                    j.append((t, 1 + next(3), next(4) == 0 ? 4 : 1 + next(3), Double(next(100))))
                }
                journeys.append(j)
            }
            let d = data(journeys)
            for model in ["first", "last", "linear", "position", "time_decay"] {
                for (text, ms) in [("", 90 * Self.day), (" lookback 3d", 3 * Self.day)] {
                    let got = credits(try run("attribution model \(model)\(text)", d))
                    let want = reference(journeys, model: model, lookback: ms)
                    #expect(close(got, want), "\(model)\(text): \(got) vs \(want)")
                }
            }
        }
    }

    // MARK: touchpoints, gaps

    func runRelevance(_ q: String, _ d: JourneyData) throws -> ResultTable {
        switch try Parser.parse(q) {
        case .touchpoints, .gaps: return try Executor(data: d).run(try Parser.parse(q))[0]
        default: throw QueryError("not touchpoints or gaps")
        }
    }

    @Test func touchpointsAndGapsMatchPlainCode() throws {
        var rng = TestRandom(seed: 41)
        func next(_ n: Int) -> Int { rng.next(n) }
        for _ in 0..<100 {
            var journeys: [[Event]] = []
            for _ in 0..<(1 + next(80)) {
                var t: Int64 = 0, j: [Event] = []
                for _ in 0..<next(8) { t += Int64(next(3)) * Self.day; j.append((t, 1 + next(3), next(5) == 0 ? 4 : 1 + next(3), .nan)) }
                journeys.append(j)
            }
            let d = data(journeys)
            // Plain: a journey's touches are those before its first conversion.
            var touching: [String: Int] = [:], converting: [String: Int] = [:], ended: [String: Int] = [:], decisionTouching: [String: Int] = [:]
            var all = 0, converted = 0
            let eventNames = ["", "ad", "page", "call", "order"]
            for j in journeys {
                let firstConv = j.firstIndex { $0.stage == 4 }
                let touches = Array(j[..<(firstConv ?? j.count)])
                if touches.isEmpty && firstConv == nil { continue }
                all += 1
                if firstConv != nil { converted += 1 }
                for ch in Set(touches.map { Self.channels[$0.channel] }) {
                    touching[ch, default: 0] += 1
                    if firstConv != nil { converting[ch, default: 0] += 1 }
                }
                // Decision stages here: consideration (2) and intent (3); labels are event names (event = stage code).
                for e in Set(touches.filter { $0.stage == 2 || $0.stage == 3 }.map { eventNames[$0.stage] }) { decisionTouching[e, default: 0] += 1 }
                if firstConv == nil, let last = touches.last, last.stage == 2 || last.stage == 3 { ended[eventNames[last.stage], default: 0] += 1 }
            }
            let t = try runRelevance("touchpoints by channel top 100", d)
            let base = Double(converted) / Double(max(all, 1))
            #expect(t.rows.count == touching.count)
            for r in t.rows {
                guard case .text(let ch) = r[0], case .int(let n) = r[1], case .percent(let rate) = r[2] else { Issue.record("row shape"); continue }
                #expect(n == touching[ch])
                #expect(abs(rate - Double(converting[ch] ?? 0) / Double(n)) < 1e-12)
                if case .percent(let lift) = r[5] { #expect(abs(lift - (rate / base - 1)) < 1e-9) } else { #expect(base == 0) }
                guard case .text(let verdict) = r[8] else { continue }
                let want = n < 30 ? "too few journeys" : rate / base - 1 >= 0.1 ? "drives" : rate / base - 1 <= -0.1 ? "appears in losing journeys" : "neutral"
                #expect(verdict == want)
            }
            let g = try runRelevance("gaps top 100", d)
            #expect(g.rows.count == decisionTouching.count)
            for r in g.rows {
                guard case .text(let e) = r[0], case .int(let n) = r[3], case .int(let end) = r[4] else { Issue.record("row shape"); continue }
                #expect(n == decisionTouching[e] && end == (ended[e] ?? 0))
            }
        }
    }

    // MARK: Shapley

    /// Shapley by its definition: the mean marginal contribution over every order of the players.
    func bruteShapley(_ sets: [(members: [Int], conversions: Double)], players n: Int) -> [Double] {
        func v(_ s: Set<Int>) -> Double { sets.filter { !$0.members.isEmpty && Set($0.members).isSubset(of: s) }.reduce(0) { $0 + $1.conversions } }
        var phi = [Double](repeating: 0, count: n)
        var count = 0.0
        func permute(_ rest: [Int], _ prefix: [Int]) {
            if rest.isEmpty {
                count += 1
                var s = Set<Int>()
                for p in prefix { let before = v(s); s.insert(p); phi[p] += v(s) - before }
                return
            }
            for (k, p) in rest.enumerated() { var r = rest; r.remove(at: k); permute(r, prefix + [p]) }
        }
        permute(Array(0..<n), [])
        return phi.map { $0 / count }
    }

    @Test func shapleyMatchesEveryOrderAndTheClosedForm() throws {
        var rng = TestRandom(seed: 5)
        func next(_ n: Int) -> Int { rng.next(n) }
        for _ in 0..<40 {
            let n = 1 + next(6)
            let sets: [(members: [Int], conversions: Double)] = (0..<(1 + next(10))).map { _ in
                (Array(Set((0..<(1 + next(n))).map { _ in next(n) }))).sorted()
            }.map { ($0, Double(1 + next(5))) }
            let want = bruteShapley(sets, players: n)
            let exact = DataDrivenAttribution.shapley(sets, players: n)
            let closed = DataDrivenAttribution.shapley(sets, players: n, exactLimit: 0)
            for i in 0..<n {
                #expect(abs(exact[i] - want[i]) < 1e-9)
                #expect(abs(closed[i] - want[i]) < 1e-9)
            }
            #expect(abs(exact.reduce(0, +) - sets.reduce(0) { $0 + $1.conversions }) < 1e-9)   // efficiency
        }
    }

    // MARK: Markov

    /// Removal effects of a first-order chain by a dense linear solve of the absorption probabilities.
    func denseRemovalEffects(_ paths: [(labels: [UInt32], conversions: Double, nulls: Double)], labels: Int) -> [Double] {
        // States: 0 start, 1…labels-1 channels, labels = conversion, labels+1 = null.
        let n = labels + 2, conv = labels, null = labels + 1
        var count = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for p in paths where !p.labels.isEmpty {
            var prev = 0
            for l in p.labels { count[prev][Int(l)] += p.conversions + p.nulls; prev = Int(l) }
            count[prev][conv] += p.conversions; count[prev][null] += p.nulls
        }
        func probability(removed: Int?) -> Double {
            // (I − Q) x = r over the transient states, by Gaussian elimination.
            let transient = (0..<labels).filter { $0 != removed }
            let m = transient.count
            var a = [[Double]](repeating: [Double](repeating: 0, count: m + 1), count: m)
            for (r, s) in transient.enumerated() {
                let total = count[s].reduce(0, +)
                a[r][r] = 1
                guard total > 0 else { continue }
                for (c, t) in transient.enumerated() { a[r][c] -= count[s][t] / total }
                a[r][m] = count[s][conv] / total
            }
            for col in 0..<m {
                let piv = (col..<m).max { abs(a[$0][col]) < abs(a[$1][col]) }!
                a.swapAt(col, piv)
                for r in 0..<m where r != col && a[r][col] != 0 {
                    let f = a[r][col] / a[col][col]
                    for c in col...m { a[r][c] -= f * a[col][c] }
                }
            }
            return a[0][m] / a[0][0]
        }
        let base = probability(removed: nil)
        return (0..<labels).map { l in l == 0 ? 0 : 1 - probability(removed: l) / base }
    }

    @Test func markovMatchesADenseSolve() throws {
        var rng = TestRandom(seed: 17)
        func next(_ n: Int) -> Int { rng.next(n) }
        for _ in 0..<60 {
            let labels = 2 + next(5)
            let paths: [(labels: [UInt32], conversions: Double, nulls: Double)] = (0..<(1 + next(12))).map { _ in
                ((0..<(1 + next(6))).map { _ in UInt32(1 + next(labels - 1)) }, Double(next(4)), Double(next(4)))
            }
            guard paths.contains(where: { $0.conversions > 0 }) else { continue }
            let got = DataDrivenAttribution.markovRemovalEffects(paths, labels: labels, order: 1).effects
            let want = denseRemovalEffects(paths, labels: labels)
            for l in 1..<labels { #expect(abs(got[l] - want[l]) < 1e-9, "label \(l): \(got[l]) vs \(want[l])") }
        }
    }

    @Test func markovCreditsAddUpToTheConversions() throws {
        let d = data([[(0, 1, 1, .nan), (Self.day, 2, 2, .nan), (2 * Self.day, 3, 4, 10)],
                      [(0, 1, 1, .nan), (Self.day, 3, 4, 5)],
                      [(0, 2, 1, .nan), (Self.day, 1, 2, .nan)]])
        for order in 1...3 {
            let c = credits(try run("attribution model markov order \(order)", d))
            #expect(abs(c.values.reduce(0, +) - 2) < 1e-9)
            #expect(c["website"] == nil)   // the conversion events are not touchpoints
        }
    }
}

/// The Markov removal effects against the `channelattribution` package from PyPI (installed by `make test`), which
/// estimates them by simulating the chain (with `max_step` raised to 200: its default cuts simulated paths at the longest observed path, which biases the effects low): same paths, agreement within 0.02.
@Suite struct ChannelAttributionCrossCheck {
    func python(_ script: String, input: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe; p.standardOutput = outPipe; p.standardError = errPipe
        try p.run()
        inPipe.fileHandleForWriting.write(Data(input.utf8)); try inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw QueryError("python failed: \(String(decoding: err, as: UTF8.self).suffix(600))") }
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: [1, 2]) func removalEffectsAgree(order: Int) throws {
        let script = """
        import sys, json, io
        import pandas as pd
        from ChannelAttribution import markov_model
        df = pd.read_csv(io.StringIO(sys.stdin.read()))
        r = markov_model(df, 'path', 'conv', var_null='null', order=\(order), out_more=True, verbose=False, flg_pro=False, seed=1, nsim_start=300000, max_step=200)
        re = r['removal_effects']
        print(json.dumps(dict(zip(re['channel_name'], re['removal_effect']))))
        """
        var rng = TestRandom(seed: 3)
        func next(_ n: Int) -> Int { rng.next(n) }
        for round in 0..<4 {
            let names = ["linkedin", "email", "website", "events", "display"]
            var paths: [(labels: [UInt32], conversions: Double, nulls: Double)] = []
            var csv = "path,conv,null\n"
            for _ in 0..<40 {
                var labels: [UInt32] = []
                for _ in 0..<(1 + next(5)) {
                    let l = UInt32(1 + next(names.count))
                    if labels.last != l { labels.append(l) }   // the package merges repeats; so do we for Markov
                }
                let conv = Double(next(6)), null = Double(next(6))
                if conv + null == 0 { continue }
                paths.append((labels, conv, null))
                csv += labels.map { names[Int($0) - 1] }.joined(separator: " > ") + ",\(Int(conv)),\(Int(null))\n"
            }
            let theirs = try JSONSerialization.jsonObject(with: Data((try python(script, input: csv).split(separator: "\n").last.map(String.init) ?? "").utf8)) as? [String: Double] ?? [:]
            let ours = DataDrivenAttribution.markovRemovalEffects(paths, labels: names.count + 1, order: order).effects
            #expect(!theirs.isEmpty)
            for (k, name) in names.enumerated() {
                guard let t = theirs[name] else { continue }
                #expect(abs(ours[k + 1] - t) < 0.02, "round \(round), order \(order), \(name): ours \(ours[k + 1]), channelattribution \(t)")
            }
        }
    }
}
