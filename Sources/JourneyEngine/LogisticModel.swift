import Foundation

/// A logistic regression fitted by Newton's method with a small ridge penalty on standardized features — the
/// lead model of `score` (docs/semantics.md, "score"). Plain and explainable: one coefficient per feature, per
/// standard deviation.
struct LogisticModel: Equatable {
    var mean: [Double], scale: [Double]
    /// Intercept first, then one coefficient per feature (per standard deviation of it; 0 for a constant feature).
    var beta: [Double]
    var iterations = 0

    static let ridge = 1.0

    /// Fits on rows (`x[r * p + j]`) and 0/1 labels.
    static func fit(_ x: [Double], labels y: [Bool], features p: Int) -> LogisticModel {
        let n = y.count
        var mean = [Double](repeating: 0, count: p), scale = [Double](repeating: 1, count: p)
        for r in 0..<n { for j in 0..<p { mean[j] += x[r * p + j] } }
        for j in 0..<p { mean[j] /= Double(max(n, 1)) }
        var sq = [Double](repeating: 0, count: p)
        for r in 0..<n { for j in 0..<p { let d = x[r * p + j] - mean[j]; sq[j] += d * d } }
        for j in 0..<p { let sd = (sq[j] / Double(max(n - 1, 1))).squareRoot(); scale[j] = sd > 1e-12 ? sd : 0 }
        var m = LogisticModel(mean: mean, scale: scale, beta: [Double](repeating: 0, count: p + 1))
        guard n > 0 else { return m }
        // Start from the base rate; Newton steps until they no longer move the coefficients.
        let rate = Double(y.filter { $0 }.count) / Double(n)
        m.beta[0] = rate > 0 && rate < 1 ? log(rate / (1 - rate)) : 0
        let d = p + 1
        var z = [Double](repeating: 0, count: d)
        for it in 1...50 {
            var g = [Double](repeating: 0, count: d), h = [Double](repeating: 0, count: d * d)
            for r in 0..<n {
                m.standardized(x, row: r, into: &z)
                let q = m.probability(z)
                let w = q * (1 - q), e = (y[r] ? 1 : 0) - q
                for a in 0..<d {
                    g[a] += e * z[a]
                    let wa = w * z[a]
                    if wa != 0 { for b in a..<d { h[a * d + b] += wa * z[b] } }
                }
            }
            for a in 0..<d { for b in 0..<a { h[a * d + b] = h[b * d + a] } }
            for a in 1..<d { g[a] -= ridge * m.beta[a]; h[a * d + a] += ridge }
            guard let step = solve(h, g, d) else { break }
            // Damped: halve the step until the penalized likelihood does not fall (a full Newton step can
            // overshoot far when a few features almost separate the classes).
            let before = m.objective(x, y, z: &z)
            var t = 1.0, moved = m
            while true {
                for a in 0..<d { moved.beta[a] = m.beta[a] + t * step[a] }
                if moved.objective(x, y, z: &z) >= before - 1e-12 * abs(before) || t < 1e-6 { break }
                t /= 2
            }
            var biggest = 0.0
            for a in 0..<d { biggest = max(biggest, abs(moved.beta[a] - m.beta[a])) }
            m.beta = moved.beta
            m.iterations = it
            if biggest < 1e-10 { break }
        }
        return m
    }

    /// The penalized log-likelihood being maximized.
    func objective(_ x: [Double], _ y: [Bool], z: inout [Double]) -> Double {
        var sum = 0.0
        for r in 0..<y.count {
            standardized(x, row: r, into: &z)
            var s = 0.0
            for a in 0..<beta.count { s += beta[a] * z[a] }
            // log σ(s) for y = 1, log σ(-s) for y = 0, computed without overflow.
            let m = y[r] ? s : -s
            sum += m >= 0 ? -log1p(exp(-m)) : m - log1p(exp(m))
        }
        for a in 1..<beta.count { sum -= LogisticModel.ridge * beta[a] * beta[a] / 2 }
        return sum
    }

    /// Row `r` as the model sees it: 1, then each feature standardized (0 for a constant one).
    func standardized(_ x: [Double], row r: Int, into z: inout [Double]) {
        let p = mean.count
        z[0] = 1
        for j in 0..<p { z[j + 1] = scale[j] > 0 ? (x[r * p + j] - mean[j]) / scale[j] : 0 }
    }

    func probability(_ z: [Double]) -> Double {
        var s = 0.0
        for a in 0..<beta.count { s += beta[a] * z[a] }
        return 1 / (1 + exp(-s))
    }

    func probability(_ x: [Double], row r: Int) -> Double {
        var z = [Double](repeating: 0, count: beta.count)
        standardized(x, row: r, into: &z)
        return probability(z)
    }

    /// Gaussian elimination with partial pivoting; nil when singular.
    static func solve(_ a0: [Double], _ b0: [Double], _ n: Int) -> [Double]? {
        var a = a0, b = b0
        for col in 0..<n {
            var pivot = col
            for r in (col + 1)..<max(n, col + 1) where abs(a[r * n + col]) > abs(a[pivot * n + col]) { pivot = r }
            guard abs(a[pivot * n + col]) > 1e-300 else { return nil }
            if pivot != col {
                for k in 0..<n { a.swapAt(col * n + k, pivot * n + k) }
                b.swapAt(col, pivot)
            }
            for r in (col + 1)..<max(n, col + 1) {
                let f = a[r * n + col] / a[col * n + col]
                if f == 0 { continue }
                for k in col..<n { a[r * n + k] -= f * a[col * n + k] }
                b[r] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = b[r]
            for k in (r + 1)..<max(n, r + 1) { s -= a[r * n + k] * x[k] }
            x[r] = s / a[r * n + r]
        }
        return x
    }
}

/// The area under the ROC curve: the chance a random positive scores above a random negative (ties count half).
func areaUnderCurve(_ scores: [Double], _ labels: [Bool]) -> Double {
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    var rankSum = 0.0, i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        let rank = Double(i + j) / 2 + 1
        for k in i...j where labels[order[k]] { rankSum += rank }
        i = j + 1
    }
    let pos = Double(labels.filter { $0 }.count), neg = Double(labels.count) - pos
    guard pos > 0 && neg > 0 else { return .nan }
    return (rankSum - pos * (pos + 1) / 2) / (pos * neg)
}

/// Calibration by deciles of the predicted probability: per bin its size, mean predicted and observed rate.
func calibrationDeciles(_ scores: [Double], _ labels: [Bool]) -> [(count: Int, predicted: Double, observed: Double)] {
    let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
    let n = order.count
    guard n > 0 else { return [] }
    return (0..<10).compactMap { b in
        let lo = n * b / 10, hi = n * (b + 1) / 10
        guard hi > lo else { return nil }
        let bin = order[lo..<hi]
        return (bin.count, bin.reduce(0) { $0 + scores[$1] } / Double(bin.count), Double(bin.filter { labels[$0] }.count) / Double(bin.count))
    }
}
