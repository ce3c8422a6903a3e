import JourneyEngine

/// Attributes for tests whose journeys have none: no customer or account attribute, no account.
struct EmptyAttributes: AttributeSource {
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accounts(for ids: [Int64]) throws -> [Int64] { ids.map { _ in 0 } }
}

/// The tests' random numbers: a 64-bit LCG (Knuth's MMIX constants), the same sequence on every machine.
struct TestRandom {
    var seed: UInt64
    init(seed: UInt64) { self.seed = seed }
    /// Uniform in 0..<n.
    mutating func next(_ n: Int) -> Int {
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        return Int((seed >> 33) % UInt64(max(n, 1)))
    }
}
