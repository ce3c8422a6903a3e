import Foundation

/// Whether two rates differ more than chance: x1 of n1 against x2 of n2, two-sided. Fisher's exact test when an
/// expected count of the 2×2 table is under 5 (where the normal approximation misleads), else the pooled
/// two-proportion z-test.
public enum RateTest {
    public static func pValue(_ x1: Int, _ n1: Int, _ x2: Int, _ n2: Int) -> (p: Double, test: String)? {
        guard n1 > 0, n2 > 0 else { return nil }
        let n = n1 + n2, c = x1 + x2
        let expected = [Double(n1 * c), Double(n1 * (n - c)), Double(n2 * c), Double(n2 * (n - c))].map { $0 / Double(n) }
        if expected.contains(where: { $0 < 5 }) { return (fisher(x1, n1, x2, n2), "Fisher's exact test") }
        let p = Double(c) / Double(n)
        let se = (p * (1 - p) * (1 / Double(n1) + 1 / Double(n2))).squareRoot()
        guard se > 0 else { return (1, "two-proportion z-test") }
        let z = (Double(x1) / Double(n1) - Double(x2) / Double(n2)) / se
        return (erfc(abs(z) / 2.0.squareRoot()), "two-proportion z-test")
    }

    /// Fisher's exact test, two-sided: the probability of every table with the same margins no more likely
    /// than the one observed.
    public static func fisher(_ x1: Int, _ n1: Int, _ x2: Int, _ n2: Int) -> Double {
        let c = x1 + x2, n = n1 + n2
        func logChoose(_ a: Int, _ b: Int) -> Double { lgamma(Double(a + 1)) - lgamma(Double(b + 1)) - lgamma(Double(a - b + 1)) }
        func logP(_ k: Int) -> Double { logChoose(c, k) + logChoose(n - c, n1 - k) - logChoose(n, n1) }
        let observed = logP(x1)
        var p = 0.0
        for k in max(0, c - n2)...min(c, n1) where logP(k) <= observed + 1e-7 { p += exp(logP(k)) }
        return min(1, p)
    }
}
