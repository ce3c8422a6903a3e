import Foundation
import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine

/// `customers matching` / `count matching` against a plain backtracking reference on random journeys and patterns.
@Suite struct PatternMatcherTests {
    static let day: Int64 = 86_400_000
    static let names = ["", "a", "b", "c"]

    /// Events: (time in days, event 1…3).
    func data(_ journeys: [[(Int64, Int)]]) -> JourneyData {
        var seq = PackedSequences()
        for (c, j) in journeys.enumerated() {
            seq.customerIDs.append(Int64(c + 1))
            for (t, e) in j {
                seq.times.append(t * Self.day); seq.events.append(UInt32(e)); seq.channels.append(0); seq.stages.append(0)
                seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
            }
            seq.offsets.append(Int32(seq.times.count))
        }
        var cat = Catalog()
        cat.stages = ["awareness"]
        cat.events = Self.names
        return JourneyData(sequences: seq, catalog: cat, attributes: EmptyAttributes())
    }

    /// Matches per customer from the engine.
    func engine(_ text: String, _ d: JourneyData) throws -> [[(Int, Int)]] {
        guard case .matching(let q) = try Planner.plan(try Parser.parse(text), catalog: d.catalog) else { throw QueryError("not a match statement") }
        let ex = Executor(data: d)
        var out = [[(Int, Int)]](repeating: [], count: d.sequences.customerCount)
        _ = try ex.forEachMatch(q) { c, _, ms in
            let base = Int(d.sequences.offsets[c])
            out[c] = ms.map { ($0.0 - base, $0.1 - base) }
        }
        return out
    }

    // MARK: reference

    /// Every k such that `p` matches events[i..<k] exactly (backtracking, plainly).
    func ends(_ p: Pattern, _ ev: [(Int64, Int)], _ i: Int) -> Set<Int> {
        switch p {
        case .step(let e):
            guard i < ev.count else { return [] }
            return test(e, ev[i].1) ? [i + 1] : []
        case .sequence(let ps):
            var cur: Set<Int> = [i]
            for q in ps { cur = Set(cur.flatMap { ends(q, ev, $0) }) }
            return cur
        case .alternation(let ps):
            return Set(ps.flatMap { ends($0, ev, i) })
        case .then(let a, let b, let w):
            var out = Set<Int>()
            for k1 in ends(a, ev, i) {
                // The gap is measured from a's last event (or, when a matched nothing, the event at its place).
                let markIndex = k1 > i ? k1 - 1 : i
                // Any events may come between (g ≥ k1); the bound applies to b's first event, if b takes one.
                for g in k1...ev.count {
                    for k2 in ends(b, ev, g) {
                        if k2 > g, let w, markIndex < ev.count, (ev[g].0 - ev[markIndex].0) * Self.day > w.milliseconds { continue }
                        out.insert(k2)
                    }
                }
            }
            return out
        case .repetition(let q, let lo, let hi):
            var out = Set<Int>(), seen = Set<Int>()
            var cur: Set<Int> = [i]
            var n = 0
            while true {
                if n >= lo {
                    let fresh = cur.subtracting(seen)
                    out.formUnion(cur)
                    if hi == nil && fresh.isEmpty { break }
                    seen.formUnion(cur)
                }
                if let hi, n >= hi { break }
                cur = Set(cur.flatMap { ends(q, ev, $0) })
                n += 1
                if cur.isEmpty { break }
            }
            return out
        }
    }

    /// The steps every match of `p` needs (the reference's own reading of the pattern).
    static func requiredSteps(_ p: Pattern) -> [Expr] {
        switch p {
        case .step(let e): return [e]
        case .sequence(let ps): return ps.flatMap(requiredSteps)
        case .then(let a, let b, _): return requiredSteps(a) + requiredSteps(b)
        case .repetition(let q, let lo, _): return lo > 0 ? requiredSteps(q) : []
        case .alternation: return []
        }
    }

    func test(_ e: Expr, _ code: Int) -> Bool {
        switch e {
        case .any: return true
        case .name(let n): return Self.names.firstIndex(of: n.text) == code
        case .or(let a, let b): return test(a, code) || test(b, code)
        case .not(let a, _): return !test(a, code)
        default: return false
        }
    }

    /// Earliest-ending non-overlapping matches, each starting as late as possible.
    func reference(_ p: Pattern, within: Int64?, _ ev: [(Int64, Int)]) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        var from = 0
        var e = 0
        while e < ev.count {
            var found: Int? = nil
            for s in stride(from: e, through: from, by: -1) {
                if let w = within, (ev[e].0 - ev[s].0) * Self.day > w { continue }
                if ends(p, ev, s).contains(e + 1) { found = s; break }
            }
            if let s = found { out.append((s, e)); from = e + 1 }
            e += 1
        }
        return out
    }

    // MARK: tests

    func randomPattern(_ next: (Int) -> Int, depth: Int = 0) -> String {
        let atom = ["a", "b", "c", "any", "(a or b)", "not c"][next(6)]
        switch depth > 2 ? 0 : next(7) {
        case 0, 1: return atom
        case 2: return randomPattern(next, depth: depth + 1) + " " + randomPattern(next, depth: depth + 1)
        case 3: return "(" + randomPattern(next, depth: depth + 1) + " | " + randomPattern(next, depth: depth + 1) + ")"
        case 4: return "(" + randomPattern(next, depth: depth + 1) + ")" + ["?", "*", "+", "{2}", "{1,3}", "{2,}"][next(6)]
        case 5: return "(" + randomPattern(next, depth: depth + 1) + " then " + randomPattern(next, depth: depth + 1) + (next(2) == 0 ? " within 2d" : "") + ")"
        default: return atom + ["?", "*", "+"][next(3)]
        }
    }

    @Test func engineMatchesReferenceOnRandomPatterns() throws {
        var rng = TestRandom(seed: 77)
        func next(_ n: Int) -> Int { rng.next(n) }
        var checked = 0
        for _ in 0..<1500 {
            var journeys: [[(Int64, Int)]] = []
            for _ in 0..<(1 + next(6)) {
                var t: Int64 = 0, j: [(Int64, Int)] = []
                for _ in 0..<next(9) { t += Int64(next(3)); j.append((t, 1 + next(3))) }
                journeys.append(j)
            }
            let text = randomPattern(next)
            let window: Int64? = next(3) == 0 ? 3 * Self.day : nil
            let stmt = "customers matching " + text + (window != nil ? " within 3d" : "")
            guard case .matching(let q) = try Parser.parse(stmt) else { Issue.record("parse \(stmt)"); continue }
            let got = try engine(stmt, data(journeys))
            // What `explain` says is run through the automaton: the customers with events for every required step
            // (a customer with a match is always among them).
            let required = Self.requiredSteps(q.pattern)
            let having = journeys.filter { j in !j.isEmpty && required.allSatisfy { e in j.contains { test(e, $0.1) } } }
            guard case .matching(let mq) = try Planner.plan(.matching(q), catalog: data(journeys).catalog) else { Issue.record("plan"); continue }
            let scanned = try Executor(data: data(journeys)).matchScanned(mq)
            #expect(scanned.customers == having.count && scanned.events == having.reduce(0) { $0 + $1.count }, "\(stmt)")
            for (c, j) in journeys.enumerated() {
                // Ties together: the reference reads the events at one time sorted by the first pattern step (as
                // written) they are, events that are none last, then in import order; matches name import positions.
                let steps = q.pattern.steps
                func first(_ e: Int) -> Int { steps.firstIndex { test($0, e) } ?? steps.count }
                let perm = j.indices.sorted { a, b in j[a].0 != j[b].0 ? j[a].0 < j[b].0 : first(j[a].1) != first(j[b].1) ? first(j[a].1) < first(j[b].1) : a < b }
                let want = reference(q.pattern, within: q.within?.milliseconds, perm.map { j[$0] }).map { (perm[$0.0], perm[$0.1]) }
                #expect(got[c].map { [$0.0, $0.1] } == want.map { [$0.0, $0.1] }, "\(stmt) on \(j)")
                if !want.isEmpty { #expect(having.contains { $0.elementsEqual(j) { $0 == $1 } }) }
                checked += 1
            }
        }
        #expect(checked > 1000)
    }

    @Test func handWorkedExamples() throws {
        // a b a b b c: `a b` matches twice, `a any* c` once (from the second a, the latest start), `(a b)+` twice.
        let d = data([[(0, 1), (1, 2), (2, 1), (3, 2), (4, 2), (5, 3)]])
        #expect(try engine("customers matching a b", d)[0].map { [$0.0, $0.1] } == [[0, 1], [2, 3]])
        #expect(try engine("customers matching a any* c", d)[0].map { [$0.0, $0.1] } == [[2, 5]])
        #expect(try engine("customers matching a then c within 2d", d)[0].isEmpty)   // c is 3 days after the last a
        #expect(try engine("customers matching a then c within 3d", d)[0].map { [$0.0, $0.1] } == [[2, 5]])
        #expect(try engine("customers matching b{2}", d)[0].map { [$0.0, $0.1] } == [[3, 4]])
        #expect(try engine("customers matching a any* c within 2d", d)[0].isEmpty)
    }

    /// Found by `make fuzz` (run): stacked repetitions (`c++…+`, 40 deep) doubled the automaton per `+` and took
    /// over 3 GB. The compiler now stops at 100,000 states with a message; a sane pattern is untouched.
    @Test func explodingPatternsAreRefused() throws {
        let d = data([[(0, 1), (1, 2), (2, 3)]])
        let stacked = "customers matching a c" + String(repeating: "+", count: 40)
        do { _ = try engine(stacked, d); Issue.record("compiled") } catch let e as QueryError {
            #expect(e.description.contains("the pattern is too large"), "\(e)")
        }
        let nested = "customers matching " + String(repeating: "(", count: 30) + "a" + String(repeating: ")+", count: 30)
        #expect(throws: QueryError.self) { try engine(nested, d) }
        #expect(try engine("customers matching (a b)+ c", d)[0].map { [$0.0, $0.1] } == [[0, 2]])
    }

    /// Events at one time are taken in tie order: `a then b` and `a b` match b(0) a(0) written in that order.
    @Test func tiesAreTakenInStepOrder() throws {
        let d = data([[(0, 2), (0, 1)], [(0, 2), (1, 1)]])
        #expect(try engine("customers matching a then b", d).map(\.count) == [1, 0])
        #expect(try engine("customers matching a b", d).map(\.count) == [1, 0])
        #expect(try engine("customers matching b a", d).map(\.count) == [1, 1])   // tie order follows the pattern
    }

    @Test func aPathologicalPatternStaysLinear() throws {
        // (a*)* a* a* … over 20,000 a's: the automaton has a bounded number of threads per node.
        let d = data([(0..<20_000).map { (Int64($0), 1) }])
        let t = Date()
        let m = try engine("customers matching (a*)* a* a* a* b", d)
        #expect(m[0].isEmpty)
        #expect(Date().timeIntervalSince(t) < 30)   // a backtracking matcher would not finish
    }

    @Test func patternErrors() {
        func error(_ s: String) -> String { do { _ = try Parser.parse(s); return "" } catch let d as Diagnostic { return d.render(source: s) } catch { return "\(error)" } }
        #expect(error("customers matching").contains("expected a pattern after 'matching'"))
        #expect(error("customers matching a{3,1}").contains("needs m ≤ n"))
        #expect(error("customers matching (a | b").contains("expected ')'"))
        #expect(error("count matching a b by").contains("error:"))
    }
}
