import Testing
import Foundation
@testable import JourneyEngine

/// The lead model's mathematics against plain versions: the fit against gradient ascent on the same penalized
/// likelihood, AUC against counting every pair, calibration against sorting by hand.
@Suite struct LogisticModelTests {
    /// Rows with a known signal: y = 1 with probability σ(-1 + 1.5 x0 - x1 + 0·x2), x2 constant for some seeds.
    func data(seed: UInt64, n: Int, p: Int) -> ([Double], [Bool]) {
        var r = TestRandom(seed: seed)
        var x: [Double] = [], y: [Bool] = []
        for _ in 0..<n {
            let row = (0..<p).map { j in j == 2 && seed % 2 == 0 ? 3.0 : Double(r.next(2001)) / 1000 - 1 }
            let s = -1 + 1.5 * row[0] - row[1]
            y.append(Double(r.next(100_000)) / 100_000 < 1 / (1 + exp(-s)))
            x += row
        }
        return (x, y)
    }

    /// Gradient ascent on the same objective (log-likelihood of standardized features, ridge 1 on all but the intercept).
    func plainFit(_ x: [Double], _ y: [Bool], p: Int, mean: [Double], scale: [Double]) -> [Double] {
        var beta = [Double](repeating: 0, count: p + 1)
        let n = y.count
        for _ in 0..<5_000 {
            var g = [Double](repeating: 0, count: p + 1)
            for r in 0..<n {
                let z = [1.0] + (0..<p).map { scale[$0] > 0 ? (x[r * p + $0] - mean[$0]) / scale[$0] : 0 }
                let q = 1 / (1 + exp(-zip(beta, z).reduce(0) { $0 + $1.0 * $1.1 }))
                for a in 0...p { g[a] += ((y[r] ? 1 : 0) - q) * z[a] }
            }
            for a in 1...p { g[a] -= beta[a] }
            for a in 0...p { beta[a] += 1.5 * g[a] / Double(n) }
        }
        return beta
    }

    @Test func theFitMaximizesThePenalizedLikelihood() {
        for seed in 1...4 as ClosedRange<UInt64> {
            let p = 3
            let (x, y) = data(seed: seed, n: 200, p: p)
            let m = LogisticModel.fit(x, labels: y, features: p)
            let plain = plainFit(x, y, p: p, mean: m.mean, scale: m.scale)
            for a in 0...p { #expect(abs(m.beta[a] - plain[a]) < 1e-3, "seed \(seed) coefficient \(a): \(m.beta[a]) vs \(plain[a])") }
            #expect(m.beta[1] > 0 && m.beta[2] < 0, "the signal's signs")
            if seed % 2 == 0 { #expect(m.scale[2] == 0 && m.beta[3] == 0, "a constant feature gets no coefficient") }
        }
    }

    /// Almost separable classes, where undamped Newton steps run away: the fit still ends where the penalized
    /// gradient is zero.
    @Test func nearlySeparableClassesStillConverge() {
        var r = TestRandom(seed: 3)
        var x: [Double] = [], y: [Bool] = []
        for _ in 0..<1500 {
            let a = Double(r.next(1000)) / 1000, b = Double(r.next(1000)) / 1000
            x += [a, b, a * b]; y.append(a > 0.97 && r.next(10) != 0)
        }
        let m = LogisticModel.fit(x, labels: y, features: 3)
        var g = [Double](repeating: 0, count: 4), z = [Double](repeating: 0, count: 4)
        for row in 0..<y.count {
            m.standardized(x, row: row, into: &z)
            let q = m.probability(z)
            for a in 0..<4 { g[a] += ((y[row] ? 1 : 0) - q) * z[a] }
        }
        for a in 1..<4 { g[a] -= m.beta[a] }
        #expect(g.allSatisfy { abs($0) < 1e-6 }, "penalized gradient \(g) at \(m.beta)")
        #expect(m.beta.allSatisfy { $0.isFinite })
    }

    @Test func aucCountsPairs() {
        var r = TestRandom(seed: 9)
        for _ in 0..<50 {
            let n = 1 + r.next(60)
            let scores = (0..<n).map { _ in Double(r.next(8)) / 8 }, labels = (0..<n).map { _ in r.next(3) == 0 }
            var wins = 0.0, pairs = 0.0
            for i in 0..<n where labels[i] { for j in 0..<n where !labels[j] { pairs += 1; wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0 } }
            let auc = areaUnderCurve(scores, labels)
            if pairs == 0 { #expect(auc.isNaN) } else { #expect(abs(auc - wins / pairs) < 1e-12) }
        }
    }

    @Test func calibrationBinsByDeciles() {
        let scores = (0..<25).map { Double($0) / 25 }, labels = (0..<25).map { $0 % 3 == 0 }
        let bins = calibrationDeciles(scores, labels)
        #expect(bins.map(\.count) == [2, 3, 2, 3, 2, 3, 2, 3, 2, 3])
        #expect(bins[0].predicted == (0.0 + 0.04) / 2 && bins[0].observed == 0.5)   // scores 0, 0.04; labels of 0 and 1
        #expect(bins.reduce(0) { $0 + $1.count } == 25)
    }
}
