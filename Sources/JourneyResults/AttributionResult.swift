import Foundation
import JourneyCore
import JourneyPlanner

/// What any backend computes for `attribution`: per label the touches and each rule-based model's credits, the
/// conversions and their value, and for the data-driven models the journeys' paths (repeats merged) with their
/// conversions and nulls, and the label sets of converting journeys — the small models are solved from these here.
public struct AttributionAggregate: Sendable, Equatable {
    public struct Tally: Sendable, Equatable {
        public var conversions: Double, nulls: Double, value: Double
        public init(conversions: Double, nulls: Double, value: Double) { self.conversions = conversions; self.nulls = nulls; self.value = value }
    }
    /// Label names by code.
    public var labels: [String]
    /// The rule-based models computed, in the order of `credits`.
    public var heuristics: [String]
    public var credits: [Credit]
    public var touches: [Int]
    public var conversions: Int, value: Double, bare: Int, bareValue: Double, lost: Int
    public var paths: [[UInt32]: Tally]
    public var sets: [[UInt32]: Tally]
    public init(labels: [String], heuristics: [String], credits: [Credit], touches: [Int], conversions: Int, value: Double, bare: Int,
                bareValue: Double, lost: Int, paths: [[UInt32]: Tally], sets: [[UInt32]: Tally]) {
        self.labels = labels; self.heuristics = heuristics; self.credits = credits; self.touches = touches; self.conversions = conversions
        self.value = value; self.bare = bare; self.bareValue = bareValue; self.lost = lost; self.paths = paths; self.sets = sets
    }
}

extension ResultBuilder {
    /// A credit rounded to 1e-6 for ranking: sums added in another order (another core split, another backend)
    /// differ in the last bits, and must not reorder labels whose credits are equal.
    static func settled(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }

    public static func attribution(_ q: QueryPlan.Attribution, _ a: AttributionAggregate, filterNotes: [String]) -> [ResultTable] {
        let L = a.labels.count, show = q.by, convName = q.conversion.text
        let pos = q.position.map(Double.init)
        let wantMarkov = q.wants(.markov), wantShapley = q.wants(.shapley)
        // Data-driven credits: conversions (and value) with touchpoints, split by normalized effects.
        let touchedConv = Double(a.conversions - a.bare), touchedValue = a.value - a.bareValue
        var notes: [String] = []
        var markov: (credit: Credit, effects: [Double])?
        if wantMarkov {
            let order = q.markovOrder
            let paths = a.paths.map { (labels: $0.key, conversions: $0.value.conversions, nulls: $0.value.nulls) }
            let (effects, prob) = DataDrivenAttribution.markovRemovalEffects(paths, labels: L, order: order)
            let sum = effects.reduce(0, +)
            var c = Credit(labels: L)
            if sum > 0 { for l in 0..<L { c.conversions[l] = touchedConv * effects[l] / sum; c.value[l] = touchedValue * effects[l] / sum } }
            markov = (c, effects)
            notes.append("markov: order \(order), \(a.paths.count.grouped) distinct paths, conversion probability from the start \(String(format: "%.4f", prob)); credit = conversions × removal effect / sum of removal effects")
        }
        var shapley: Credit?
        if wantShapley {
            let players = Array(Set(a.sets.keys.flatMap { $0 })).sorted()
            let slot = Dictionary(uniqueKeysWithValues: players.enumerated().map { ($1, $0) })
            let sets = a.sets.map { (members: $0.key.map { slot[$0]! }, conversions: $0.value.conversions) }
            let phi = DataDrivenAttribution.shapley(sets, players: players.count)
            let phiValue = DataDrivenAttribution.shapley(a.sets.map { (members: $0.key.map { slot[$0]! }, conversions: $0.value.value) },
                                                         players: players.count)
            var c = Credit(labels: L)
            for (k, l) in players.enumerated() { c.conversions[Int(l)] = phi[k]; c.value[Int(l)] = phiValue[k] }
            shapley = c
            let how = players.count <= 12 ? "exact over all \((1 << players.count).grouped) coalitions"
                : "exact by the closed form (\(players.count) \(show.rawValue)s: more than 12 to enumerate)"
            notes.append("shapley: v(S) = conversions of the converting journeys whose \(show.rawValue)s all lie in S; \(how)")
        }
        let lookbackText = q.lookback?.text ?? "90d"
        notes.insert("\(a.conversions.grouped) conversions (\(convName)), value \(a.value.money); each credited to its touchpoints since the previous conversion within the lookback of \(lookbackText)"
                     + (a.bare > 0 ? "; \(a.bare.grouped) had no touchpoint in it (row '(no touchpoint)')" : ""), at: 0)
        notes.insert("\(a.lost.grouped) journeys did not convert (the markov model counts them)", at: 1)
        if q.wants(.timeDecay) { notes.append("time_decay: weight 2^(−age / \(q.halfLife?.text ?? "7d")) per touch, normalized") }
        if q.wants(.position) { notes.append("position: \(Int(pos[0]))/\(Int(pos[1]))/\(Int(pos[2])) to first/middle/last; two touches split first:last; one touch takes all") }
        notes += filterNotes

        let present = (0..<L).filter { a.touches[$0] > 0 }
        func bareRow(_ cols: Int) -> [[Value]] {
            guard a.bare > 0 else { return [] }
            return [[.text("(no touchpoint)")] + Array(repeating: Value.double(Double(a.bare)), count: cols)]
        }
        if q.model == .all {
            let credits = a.credits.map(\.conversions) + [markov!.credit.conversions, shapley!.conversions]
            let names = a.heuristics + ["markov", "shapley"]
            var rows: [[Value]] = present.sorted { settled(a.credits[2].conversions[$0]) != settled(a.credits[2].conversions[$1])
                ? settled(a.credits[2].conversions[$0]) > settled(a.credits[2].conversions[$1]) : $0 < $1 }.map { l in
                [.text(a.labels[l])] + credits.map { .double($0[l]) }
            }
            rows += bareRow(names.count)
            return [ResultTable(title: "attribution, all models, by \(show.rawValue)", columns: [show.rawValue] + names, rows: rows,
                                notes: notes + ["credited conversions per model; each column adds up to \(a.conversions.grouped)"],
                                chart: .groupedBars(label: 0, values: Array(1...names.count)))]
        }
        let credit: Credit
        var extra: (String, [Double])?
        if let m = markov { credit = m.credit; extra = ("removal effect", m.effects) }
        else if let s = shapley { credit = s }
        else { credit = a.credits[0] }
        var rows: [[Value]] = present.sorted { settled(credit.conversions[$0]) != settled(credit.conversions[$1])
            ? settled(credit.conversions[$0]) > settled(credit.conversions[$1]) : $0 < $1 }.map { l in
            var r: [Value] = [.text(a.labels[l]), .double(credit.conversions[l]),
                              .percent(credit.conversions[l] / Double(max(a.conversions, 1))), .money(credit.value[l]), .int(a.touches[l])]
            if let e = extra { r.append(.percent(e.1[l])) }
            return r
        }
        if a.bare > 0 {
            var r: [Value] = [.text("(no touchpoint)"), .double(Double(a.bare)), .percent(Double(a.bare) / Double(max(a.conversions, 1))),
                              .money(a.bareValue), .int(0)]
            if extra != nil { r.append(.null) }
            rows.append(r)
        }
        return [ResultTable(title: "attribution, model \(q.model.rawValue), by \(show.rawValue)",
                            columns: [show.rawValue, "conversions", "share", "revenue", "touchpoints"] + (extra.map { [$0.0] } ?? []),
                            rows: rows, notes: notes, chart: .bars(label: 0, value: 1))]
    }
}
