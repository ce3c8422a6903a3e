import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine

struct NoAttributes: AttributeSource {
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { "s\($0 % 3)" } }
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accounts(for ids: [Int64]) throws -> [Int64] { ids.map { $0 / 2 + 1 } }
}

/// Plain reference, written from the definitions in docs/semantics.md rather than from the engine's loop.
/// The events are read in tie order: with ties together, the events of one time sorted by the first step they
/// are (events that are no step last), then by import order; otherwise in import order.
/// W = the events after the entry within the window; sequential step k = the first event of W after step k−1's
/// that is step k's; strict = exactly the next event (ties together: the first of step k's events at step k−1's
/// time or at the first time after it); any order = each event of W, in order, takes the first unmatched step
/// it is; entry best = the maximum over all entries. Exclusions: an excluded event strictly between step a's
/// event and step b's (or, when b was not reached, the last event the match looked at) — with ties together
/// by time: strictly after a's time and strictly before b's (not reached: no later than the last event's).
/// `strictly later`: only events at a later time than the previous step's can be the next step; strict order
/// then means the next event at a later time.
func referenceLevel(events raw: [(t: Int64, e: Int)], steps: [Int], within: Int64?, best: Bool, order: String,
                    exclusions: [(e: Int, from: Int, to: Int)] = [], channels rawChannels: [Int]? = nil, optional: [Bool]? = nil,
                    ties: TieRule = .together) -> (level: Int, mask: UInt32, indices: [Int]) {
    let n = steps.count
    let opt = optional ?? [Bool](repeating: false, count: n)
    // The tie order: a permutation of the import positions.
    var perm = Array(raw.indices)
    if ties == .together {
        func firstStep(_ i: Int) -> Int { steps.firstIndex(of: raw[i].e) ?? n }
        perm.sort { a, b in raw[a].t != raw[b].t ? raw[a].t < raw[b].t : firstStep(a) != firstStep(b) ? firstStep(a) < firstStep(b) : a < b }
    }
    let events = perm.map { raw[$0] }
    let channels = rawChannels.map { ch in perm.map { ch[$0] } }
    var bestLevel = 0, bestMask: UInt32 = 0, bestTime = Int64.min, bestIdx: [Int] = []
    for s in events.indices {
        let isEntry = order == "any" ? steps.contains(events[s].e) : events[s].e == steps[0]
        guard isEntry else { continue }
        let t0 = events[s].t
        let window = events.indices.filter { $0 >= s && (within == nil || events[$0].t - t0 <= within!) }
        // `same channel`: an event counts for a step only with the entry's channel; no channel (0) matches none.
        func held(_ j: Int) -> Bool { channels == nil || (channels![s] != 0 && channels![j] == channels![s]) }
        var idx: [Int] = []
        var last = s
        if order == "any" {
            var slot = [Int](repeating: -1, count: n)
            var matched = 0
            for j in window where matched < n {
                last = j
                if j == s || held(j), let k = (0..<n).first(where: { slot[$0] < 0 && steps[$0] == events[j].e }) { slot[k] = j; matched += 1 }
            }
            for k in 0..<n { if slot[k] < 0 { break }; idx.append(slot[k]) }
        } else {
            idx = [s]
            var prev = s
            // Targets from step k: k itself, and past optional steps the next ones up to the first required one.
            func targets(_ k: Int) -> [Int] { var t = [k]; var p = k; while p < n - 1 && opt[p] { p += 1; t.append(p) }; return t }
            // The events that may be the next step: after the previous one (at a later time, if strictly later).
            func eligible(_ j: Int) -> Bool { j > prev && (ties != .strictlyLater || events[j].t > events[prev].t) }
            // Strict order with ties together: the events at the previous step's time and at the first time after it.
            func strictCandidates() -> [Int] {
                let after = window.filter { $0 > prev }
                let nextTime = after.first { events[$0].t > events[prev].t }.map { events[$0].t }
                return after.filter { events[$0].t == events[prev].t || events[$0].t == nextTime }
            }
            while idx.count < n {
                let k = idx.count
                let ts = targets(k)
                var best: (j: Int, t: Int)? = nil
                for t in ts {
                    let cand: Int?
                    if order == "strict" && ties == .together {
                        cand = strictCandidates().first { events[$0].e == steps[t] && held($0) }
                    } else if order == "strict" {
                        let nextOne = window.first(where: eligible)
                        cand = nextOne.flatMap { events[$0].e == steps[t] && held($0) ? $0 : nil }
                    } else {
                        cand = window.first { eligible($0) && events[$0].e == steps[t] && held($0) }
                    }
                    if let c = cand, best == nil || c < best!.j { best = (c, t) }
                }
                guard let b = best else { break }
                while idx.count < b.t { idx.append(-1) }
                idx.append(b.j)
                prev = b.j
            }
            if idx.count == n { last = prev }
            else if order == "strict" && ties == .together { last = strictCandidates().last ?? prev }
            else if order == "strict" { last = window.first(where: eligible) ?? window.last { $0 > prev } ?? prev }
            else { last = window.last ?? s }
        }
        var level = idx.count
        for x in exclusions where x.from < level && idx[x.from] >= 0 {
            let reached = x.to < level && idx[x.to] >= 0
            if ties == .together {
                let ta = events[idx[x.from]].t, tb = reached ? events[idx[x.to]].t : events[last].t
                let (a, b) = (min(ta, tb), max(ta, tb))
                if events.contains(where: { $0.e == x.e && $0.t > a && (reached ? $0.t < b : $0.t <= b) }) { level = 0 }
            } else {
                let a = idx[x.from], b = reached ? idx[x.to] : last + 1
                if events.indices.contains(where: { $0 > min(a, b) && $0 < max(a, b) && events[$0].e == x.e }) { level = 0 }
            }
        }
        // Entry best: the furthest level, with the steps of the latest entry reaching it (ties: the earlier).
        if level > bestLevel || (level == bestLevel && level > 0 && t0 > bestTime) {
            bestLevel = level; bestTime = t0
            bestMask = 0
            for k in 0..<level where idx[k] >= 0 { bestMask |= 1 << UInt32(k) }
            bestIdx = (0..<level).map { idx[$0] >= 0 ? perm[idx[$0]] : -1 }
        }
        if !best { return (bestLevel, bestMask, bestIdx) }
    }
    return (bestLevel, bestMask, bestIdx)
}

@Suite struct FunnelReferenceTests {
    @Test func engineMatchesReferenceOnRandomData() throws {
        var rng = TestRandom(seed: 42)
        func next(_ n: Int) -> Int { rng.next(n) }
        for trial in 0..<2000 {
            var seq = PackedSequences()
            var journeys: [[(t: Int64, e: Int)]] = []
            var channelOf: [Int] = []
            var channelsByCustomer: [[Int]] = []
            let customers = 1 + next(20)
            for c in 0..<customers {
                var t: Int64 = 0
                var evs: [(t: Int64, e: Int)] = []
                for _ in 0..<next(9) {
                    t += Int64(next(4)) * 1000   // ties are common
                    evs.append((t, 1 + next(5)))    // code 5 is only ever an exclusion
                }
                journeys.append(evs)
                seq.customerIDs.append(Int64(c + 1))
                for e in evs {
                    let ch = next(3)   // 0: no channel
                    channelOf.append(ch)
                    seq.times.append(e.t); seq.events.append(UInt32(e.e)); seq.channels.append(UInt16(ch)); seq.stages.append(0)
                    seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
                }
                seq.offsets.append(Int32(seq.times.count))
                channelsByCustomer.append(Array(channelOf.suffix(evs.count)))
            }
            var cat = Catalog()
            cat.events = ["", "a", "b", "c", "d", "x"]
            let steps = (0..<(1 + next(4))).map { _ in 1 + next(4) }
            let within: Int64? = next(2) == 0 ? nil : Int64(next(10)) * 1000
            let best = next(2) == 0
            let order = ["sequential", "sequential", "strict", "any"][next(4)]
            var exclusions: [(e: Int, from: Int, to: Int)] = []
            if steps.count >= 2 && next(3) == 0 {
                let a = next(steps.count - 1)
                exclusions.append((next(2) == 0 ? 5 : 1 + next(4), a, a + 1 + next(steps.count - 1 - a)))
            }
            let same = next(3) == 0
            let optional = order == "any" ? steps.map { _ in false } : steps.indices.map { $0 > 0 && next(3) == 0 }
            let ties: TieRule = [.together, .together, .importOrder, .strictlyLater][order == "any" ? next(3) : next(4)]
            var plan = FunnelPlan(steps: steps.map { s in .event((0...5).map { $0 == s }) }, stepWithin: steps.map { _ in nil },
                                  within: within, order: FunnelOrder(rawValue: order)!, entry: best ? .best : .first, eventFilter: nil,
                                  exclusions: exclusions.map { x in (.event((0...5).map { $0 == x.e }), x.from, x.to) })
            if same { plan.same = .channel }
            plan.optional = optional
            plan.ties = ties
            seq.withView { v in
                let scratch = UnsafeMutablePointer<Int>.allocate(capacity: 8), idx = UnsafeMutablePointer<Int>.allocate(capacity: 8)
                defer { scratch.deallocate(); idx.deallocate() }
                var tieOrder: [Int] = []
                for c in 0..<customers {
                    let lo = Int(v.offsets[c])
                    // Odd trials index every journey (`IndexedEntryBest` for entry best), even ones follow each entry.
                    let level = FunnelMatcher.match(plan, v, lo, Int(v.offsets[c + 1]), scratch: scratch, matched: idx, order: &tieOrder,
                                                    indexedFrom: trial % 2 == 1 ? 0 : .max)
                    let m = (level: level, eventIndex: idx)
                    let ref = referenceLevel(events: journeys[c], steps: steps, within: within, best: best, order: order, exclusions: exclusions,
                                             channels: same ? channelsByCustomer[c] : nil, optional: optional, ties: ties)
                    var mask: UInt32 = 0
                    for k in 0..<m.level where m.eventIndex[k] >= 0 { mask |= 1 << UInt32(k) }
                    let picked = (0..<m.level).map { m.eventIndex[$0] >= 0 ? m.eventIndex[$0] - lo : -1 }
                    #expect(m.level == ref.level && mask == ref.mask && picked == ref.indices, "trial \(trial) customer \(c) steps \(steps) within \(String(describing: within)) best \(best) \(order) \(ties) same \(same) optional \(optional) exclusions \(exclusions) events \(journeys[c]) engine \(picked) reference \(ref.indices)")
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
        let t = try ex.run(try Parser.parse("funnel a > b > c"))[0]
        #expect(t.rows.map { $0[1] } == [.int(3), .int(2), .int(1)])
        #expect(t.rows[1][2] == .percent(2.0 / 3.0))
        #expect(t.rows[0][4] == .int(1))
        #expect(t.rows[1][5] == .duration(86_400_000))
    }
}

/// The whole statement (tight scan, presence pruning, counting in the scan threads) against the reference on
/// random journeys, with steps named by event and by stage, entry first and best.
@Suite struct FunnelStatementTests {
    @Test func statementCountsMatchReference() throws {
        var rng = TestRandom(seed: 9)
        func next(_ n: Int) -> Int { rng.next(n) }
        for trial in 0..<400 {
            var seq = PackedSequences()
            var journeys: [[(t: Int64, e: Int)]] = []
            // Enough customers now and then for the scan to split over both cores.
            let customers = next(10) == 0 ? 25_000 + next(100) : 1 + next(40)
            // Now and then catalogs past 64 events and 16 stages, where steps share presence bits (customers are
            // read in vain, never skipped wrongly).
            let wide = next(3) == 0
            let eventCodes = wide ? [0, 1, 65, 129, 2, 193] : [0, 1, 2, 3, 4, 5]
            let stageCodes = wide ? [0, 1, 17, 33, 2, 49] : [0, 1, 2, 3, 4, 5]
            for c in 0..<customers {
                var t: Int64 = 0
                var evs: [(t: Int64, e: Int)] = []
                for _ in 0..<next(8) { t += Int64(next(4)) * 1000; evs.append((t, 1 + next(5))) }
                journeys.append(evs)
                seq.customerIDs.append(Int64(c + 1))
                for e in evs {
                    seq.times.append(e.t); seq.events.append(UInt32(eventCodes[e.e])); seq.channels.append(0)
                    seq.stages.append(UInt8(stageCodes[e.e])); seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
                }
                seq.offsets.append(Int32(seq.times.count))
            }
            var cat = Catalog()
            cat.events = (0..<(wide ? 200 : 6)).map { "x\($0)" }
            cat.stages = (1..<(wide ? 60 : 6)).map { "t\($0)" }
            for (i, name) in ["", "a", "b", "c", "d", "x"].enumerated() { cat.events[eventCodes[i]] = name }
            for i in 1...5 { cat.stages[stageCodes[i] - 1] = "s\(i)" }
            let steps = (0..<(1 + next(4))).map { _ in 1 + next(4) }
            let within: Int64? = next(2) == 0 ? nil : Int64(next(10)) * 1000
            let best = next(2) == 0
            let byStage = next(2) == 0
            let names = steps.map { byStage ? "stage:s\($0)" : "event:\(cat.events[eventCodes[$0]])" }
            // Now and then a journey-level filter: only customers who touched d count.
            let touched = next(4) == 0
            let ties: TieRule = [.together, .together, .importOrder, .strictlyLater][next(4)]
            // Now and then an event-level filter: b events are invisible.
            let hideB = next(4) == 0
            var text = "funnel " + names.joined(separator: " > ")
            if let within { text += " within \(within / 1000)s" }
            if best { text += " entry best" }
            if touched { text += " where touched event:d" }
            if hideB { text += touched ? " and not event:b" : " where not event:b" }
            if ties != .together { text += " \(ties.rawValue)" }
            let table = try Executor(data: JourneyData(sequences: seq, catalog: cat, attributes: EmptyAttributes())).run(try Parser.parse(text))[0]
            var want = [Int](repeating: 0, count: steps.count)
            for j in journeys where !touched || j.contains(where: { $0.e == 4 }) {
                let ref = referenceLevel(events: hideB ? j.filter { $0.e != 2 } : j, steps: steps, within: within, best: best, order: "sequential", exclusions: [],
                                         channels: nil, optional: steps.map { _ in false }, ties: ties)
                for k in 0..<ref.level { want[k] += 1 }
            }
            let got = table.rows.map { r -> Int in if case .int(let n) = r[1] { return n }; return -1 }
            #expect(got == want, "trial \(trial): \(text) on \(customers) customers")
        }
    }
}

@Suite struct OnePassEntryBestTests {
    /// The one-pass entry best (`SimpleFunnel`) picks the same level and the same events as trying every entry
    /// (`FunnelMatcher.match`): the latest entry reaching the furthest level, ties in time to the earlier.
    @Test func sameEventsAsTryingEveryEntry() {
        var rng = TestRandom(seed: 77)
        func next(_ n: Int) -> Int { rng.next(n) }
        for _ in 0..<3000 {
            var seq = PackedSequences()
            var t: Int64 = 0
            for _ in 0..<next(16) {
                t += Int64(next(3)) * 1000    // many equal times
                seq.times.append(t); seq.events.append(UInt32(1 + next(3))); seq.channels.append(0); seq.stages.append(0)
                seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
            }
            seq.customerIDs.append(1); seq.offsets.append(Int32(seq.times.count))
            let steps = (0..<(1 + next(4))).map { _ in 1 + next(3) }
            let within: Int64? = next(3) == 0 ? nil : Int64(next(6)) * 1000
            var plan = FunnelPlan(steps: steps.map { s in .event((0...3).map { $0 == s }) }, stepWithin: steps.map { _ in nil },
                                  within: within, order: .sequential, entry: next(4) == 0 ? .first : .best, eventFilter: nil)
            plan.ties = next(3) == 0 ? .importOrder : .together
            guard let simple = SimpleFunnel(plan) else { Issue.record("not a simple plan"); return }
            defer { simple.free() }
            let n = steps.count
            let scratch = UnsafeMutablePointer<Int>.allocate(capacity: n + n * n), a = UnsafeMutablePointer<Int>.allocate(capacity: n),
                b = UnsafeMutablePointer<Int>.allocate(capacity: n)
            defer { scratch.deallocate(); a.deallocate(); b.deallocate() }
            seq.withView { v in
                let hi = seq.times.count
                let one = FunnelMatcher.matchSimple(simple, v, 0, hi, scratch: scratch, matched: a)
                var order: [Int] = []
                let every = FunnelMatcher.match(plan, v, 0, hi, scratch: scratch, matched: b, order: &order)
                #expect(one == every && (0..<one).allSatisfy { a[$0] == b[$0] },
                        "steps \(steps) within \(String(describing: within)) \(plan.entry) \(plan.ties) events \(Array(zip(seq.times, seq.events)))")
            }
        }
    }
}

@Suite struct LongJourneyTests {
    /// Entry best on a general plan (an exclusion, `same channel`, an optional step) over one customer with 60,000
    /// events: linear (`IndexedEntryBest`), where following every entry forward would take 60,000²/2 steps.
    @Test func sixtyThousandEntries() {
        var seq = PackedSequences()
        // a × 30,000, x, a × 29,998, b — one second apart, all on channel 1.
        let codes = [UInt32](repeating: 1, count: 30_000) + [3] + [UInt32](repeating: 1, count: 29_998) + [2]
        for (i, e) in codes.enumerated() {
            seq.times.append(Int64(i) * 1000); seq.events.append(e); seq.channels.append(1); seq.stages.append(0)
            seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
        }
        seq.customerIDs = [1]; seq.offsets.append(Int32(seq.times.count))
        for (ties, optional) in [(TieRule.together, false), (.importOrder, true), (.strictlyLater, false)] {
            var plan = FunnelPlan(steps: [1, 4, 2].map { s in .event((0...4).map { $0 == s }) }, stepWithin: [nil, nil, nil],
                                  within: nil, order: .sequential, entry: .best, eventFilter: nil,
                                  exclusions: [(.event((0...4).map { $0 == 3 }), 0, 2)])
            plan.same = .channel; plan.ties = ties
            plan.optional = [false, true, false]
            if !optional { plan.steps.remove(at: 1) }
            let p = optional ? plan : {
                var q = FunnelPlan(steps: [1, 2].map { s in .event((0...4).map { $0 == s }) }, stepWithin: [nil, nil], within: nil,
                                   order: .sequential, entry: .best, eventFilter: nil, exclusions: [(.event((0...4).map { $0 == 3 }), 0, 1)])
                q.same = .channel; q.ties = ties
                return q
            }()
            let scratch = UnsafeMutablePointer<Int>.allocate(capacity: 3), idx = UnsafeMutablePointer<Int>.allocate(capacity: 3)
            defer { scratch.deallocate(); idx.deallocate() }
            var order: [Int] = []
            let level = seq.withView { v in FunnelMatcher.match(p, v, 0, codes.count, scratch: scratch, matched: idx, order: &order) }
            // Entries before the x are excluded; the latest a reaches b (the optional step skipped).
            #expect(level == p.steps.count, "\(ties)")
            #expect(idx[0] == codes.count - 2 && idx[p.steps.count - 1] == codes.count - 1, "\(ties)")
            if optional { #expect(idx[1] == -1) }
        }
        // Strict and any order: 60,000 entries, and the last step never done; each entry's window holds only the
        // entries, so the bound from the steps present skips all but the latest.
        let entries = [UInt32](repeating: 1, count: 60_000) + [2]
        var seq2 = PackedSequences()
        for (i, e) in entries.enumerated() {
            seq2.times.append(Int64(i) * 1000); seq2.events.append(e); seq2.channels.append(1); seq2.stages.append(0)
            seq2.kinds.append(0); seq2.campaigns.append(0); seq2.values.append(.nan)
        }
        seq2.customerIDs = [1]; seq2.offsets.append(Int32(seq2.times.count))
        for order in [FunnelOrder.strict, .any] {
            let p = FunnelPlan(steps: [1, 2, 3].map { s in .event((0...3).map { $0 == s }) }, stepWithin: [nil, nil, nil], within: nil,
                               order: order, entry: .best, eventFilter: nil)
            let scratch = UnsafeMutablePointer<Int>.allocate(capacity: 3), idx = UnsafeMutablePointer<Int>.allocate(capacity: 3)
            defer { scratch.deallocate(); idx.deallocate() }
            var order2: [Int] = []
            let level = seq2.withView { v in FunnelMatcher.match(p, v, 0, entries.count, scratch: scratch, matched: idx, order: &order2) }
            // The latest a followed by b: a > b reached; c never.
            #expect(level == 2 && idx[0] == entries.count - 2 && idx[1] == entries.count - 1, "\(order): \(level)")
        }
    }
}

@Suite struct FunnelScanChoiceTests {
    /// `explain` says which scan runs a funnel: the tight scan exactly for the plans `SimpleFunnel` takes.
    @Test func explainNamesTheScanThatRuns() throws {
        var seq = PackedSequences()
        seq.customerIDs = [1]; seq.offsets = [0, 0]
        var cat = Catalog(); cat.events = ["", "a", "b", "c"]; cat.stages = ["s1"]
        let data = JourneyData(sequences: seq, catalog: cat, attributes: EmptyAttributes())
        let cases: [(String, Bool)] = [
            ("funnel a > b > c", true), ("funnel a > b entry best within 3d", true), ("funnel a > b where not event:c", true),
            ("funnel a > b same channel", false), ("funnel a > b? > c", false), ("funnel a > b within 1d > c", false),
            ("funnel a > b strictly later", false), ("funnel a > b ties in import order", true), ("funnel a > b entry best ties in import order", true), ("funnel a > b order strict", false), ("funnel a > b order any", false),
            ("funnel a > b excluding c", false), ("funnel a > stage:s1", false), ("funnel (a or b) > c", false),
        ]
        for (text, tight) in cases {
            guard case .funnel(let q) = try Planner.plan(try Parser.parse(text), catalog: cat) else { Issue.record("plan \(text)"); continue }
            #expect(try Executor(data: data).compile(q).tight == tight, "\(text)")
        }
    }
}
