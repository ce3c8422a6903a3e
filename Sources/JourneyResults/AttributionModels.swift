import Foundation
import JourneyCore

/// Credit per label: conversions and value.
public struct Credit: Equatable, Sendable {
    public var conversions: [Double]
    public var value: [Double]
    public init(labels: Int) { conversions = [Double](repeating: 0, count: labels); value = conversions }
}

/// The data-driven models over aggregated journeys.
public enum DataDrivenAttribution {
    /// Markov-chain removal effects of order `order` (states = the last `order` labels; shorter at the start).
    /// Journeys with no touchpoint are left out (they have nothing to remove). Returns the removal effect per label
    /// and the chain's conversion probability from the start.
    public static func markovRemovalEffects(_ paths: [(labels: [UInt32], conversions: Double, nulls: Double)],
                                            labels: Int, order: Int) -> (effects: [Double], probability: Double) {
        // States: 0 start, 1 conversion, 2 null, then one per distinct tuple.
        var index: [[UInt32]: Int] = [:]
        var tuples: [[UInt32]] = [[], [], []]
        var counts: [[Int: Double]] = [[:], [:], [:]]
        func state(_ t: ArraySlice<UInt32>) -> Int {
            let key = Array(t)
            if let s = index[key] { return s }
            index[key] = tuples.count; tuples.append(key); counts.append([:])
            return tuples.count - 1
        }
        // In a fixed order (the paths may come from a hash table): states are numbered, and sums taken, the same
        // way every run, so the answer is the same to the last bit.
        let ordered = paths.sorted { a, b in a.labels.lexicographicallyPrecedes(b.labels) || (a.labels == b.labels && (a.conversions, a.nulls) < (b.conversions, b.nulls)) }
        for p in ordered where !p.labels.isEmpty && p.conversions + p.nulls > 0 {
            var prev = 0
            for i in 0..<p.labels.count {
                let s = state(p.labels[max(0, i + 1 - order)...i])
                counts[prev][s, default: 0] += p.conversions + p.nulls
                prev = s
            }
            if p.conversions > 0 { counts[prev][1, default: 0] += p.conversions }
            if p.nulls > 0 { counts[prev][2, default: 0] += p.nulls }
        }
        // Transition probabilities, row by row.
        let n = tuples.count
        var rows: [[(Int, Double)]] = Array(repeating: [], count: n)
        for s in 0..<n where s != 1 && s != 2 {
            let sorted = counts[s].sorted { $0.key < $1.key }
            let total = sorted.reduce(0) { $0 + $1.value }
            guard total > 0 else { continue }
            rows[s] = sorted.map { ($0.key, $0.value / total) }
        }
        func probability(removed: UInt32?) -> Double {
            var dead = [Bool](repeating: false, count: n)
            if let r = removed { for s in 3..<n where tuples[s].contains(r) { dead[s] = true } }
            var p = [Double](repeating: 0, count: n)
            p[1] = 1
            // Gauss–Seidel sweeps until nothing moves (the chain is absorbing: every journey ends).
            for _ in 0..<100_000 {
                var change = 0.0
                for s in stride(from: n - 1, through: 0, by: -1) where s != 1 && s != 2 && !dead[s] {
                    var x = 0.0
                    for (t, q) in rows[s] where !dead[t] { x += q * p[t] }
                    change = max(change, abs(x - p[s]))
                    p[s] = x
                }
                if change < 1e-15 { break }
            }
            return p[0]
        }
        let base = probability(removed: nil)
        var effects = [Double](repeating: 0, count: labels)
        guard base > 0 else { return (effects, 0) }
        let present = Set(paths.flatMap(\.labels))
        for l in present where Int(l) < labels { effects[Int(l)] = 1 - probability(removed: l) / base }
        return (effects, base)
    }

    /// Shapley values over the labels (players) of converting journeys, with v(S) = the conversions of the
    /// journeys whose labels all lie in S (the "simplified" characteristic function of Zhao et al. 2018; v(∅) = 0,
    /// so the values add up to the conversions). Up to `exactLimit` players every coalition is enumerated; beyond,
    /// the closed form this v has — each journey's conversions shared equally by its distinct labels — gives the
    /// same values exactly without enumerating.
    public static func shapley(_ unordered: [(members: [Int], conversions: Double)], players: Int, exactLimit: Int = 12) -> [Double] {
        // A fixed order of summing (the sets may come from a hash table): the same answer to the last bit every run.
        let sets = unordered.sorted { a, b in a.members.lexicographicallyPrecedes(b.members) || (a.members == b.members && a.conversions < b.conversions) }
        var phi = [Double](repeating: 0, count: players)
        guard players <= exactLimit else {
            for s in sets where !s.members.isEmpty { for p in s.members { phi[p] += s.conversions / Double(s.members.count) } }
            return phi
        }
        let size = 1 << players
        var v = [Double](repeating: 0, count: size)
        for s in sets where !s.members.isEmpty {
            var m = 0
            for p in s.members { m |= 1 << p }
            v[m] += s.conversions
        }
        // Sums over subsets (zeta transform): v[S] = conversions of journeys whose set lies within S.
        for b in 0..<players {
            for m in 0..<size where m & (1 << b) != 0 { v[m] += v[m ^ (1 << b)] }
        }
        var fact = [Double](repeating: 1, count: players + 1)
        for k in stride(from: 1, through: players, by: 1) { fact[k] = fact[k - 1] * Double(k) }
        for m in 0..<size {
            let k = m.nonzeroBitCount
            if k == players { continue }
            let w = fact[k] * fact[players - k - 1] / fact[players]
            for i in 0..<players where m & (1 << i) == 0 { phi[i] += w * (v[m | (1 << i)] - v[m]) }
        }
        return phi
    }
}
