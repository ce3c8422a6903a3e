import Foundation

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same numbers on every machine (the
/// generator's files, the forecast's simulated band).
public struct SeededRandom {
    private var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    public mutating func chance(_ p: Double) -> Bool { unit() < p }
    /// Exponential with the given mean.
    public mutating func exponential(mean: Double) -> Double {
        var u = unit()
        if u < 1e-12 { u = 1e-12 }
        return -mean * log(u)
    }
    /// Poisson-like count with the given mean (sum of exponentials), at least `min`.
    public mutating func count(mean: Double, min lo: Int = 0) -> Int {
        var n = 0, t = exponential(mean: 1)
        while t < mean { n += 1; t += exponential(mean: 1) }
        return Swift.max(n, lo)
    }
    public mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
    public mutating func weighted<T>(_ items: [(T, Double)]) -> T {
        let total = items.reduce(0) { $0 + $1.1 }
        var r = unit() * total
        for (item, w) in items { r -= w; if r < 0 { return item } }
        return items[items.count - 1].0
    }
}

