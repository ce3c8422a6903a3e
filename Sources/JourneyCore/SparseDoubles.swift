/// A column of numbers most events do not have (an event's value: only conversions carry one), stored as a
/// bit per event, a running count per 64 events and the present numbers only — about 0.2 bytes per event plus
/// 8 per number, instead of 8 per event. A missing number reads as NaN.
///
///     var v = SparseDoubles(); v.append(.nan); v.append(12.5)
///     v[1]   // 12.5
public struct SparseDoubles: RandomAccessCollection, Sendable {
    /// Bit `i % 64` of word `i / 64`: event `i` has a number.
    public private(set) var bits: [UInt64] = []
    /// Per word: the numbers stored before it.
    public private(set) var ranks: [UInt32] = []
    public private(set) var stored: [Double] = []
    public private(set) var count = 0

    public init() {}

    /// `count` events, of which those at `positions` (increasing) have `values`.
    public init(count: Int, positions: [Int], values: [Double]) {
        precondition(positions.count == values.count)
        self.count = count
        bits = [UInt64](repeating: 0, count: (count + 63) / 64)
        for p in positions { bits[p >> 6] |= 1 << UInt64(p & 63) }
        ranks = [UInt32](repeating: 0, count: bits.count)
        var before: UInt32 = 0
        for w in bits.indices { ranks[w] = before; before += UInt32(bits[w].nonzeroBitCount) }
        stored = values
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(i: Int) -> Double {
        let word = bits[i >> 6], bit = UInt64(1) << UInt64(i & 63)
        guard word & bit != 0 else { return .nan }
        return stored[Int(ranks[i >> 6]) + (word & (bit &- 1)).nonzeroBitCount]
    }

    public mutating func append(_ x: Double) {
        if count & 63 == 0 { bits.append(0); ranks.append(UInt32(stored.count)) }
        if !x.isNaN { bits[count >> 6] |= 1 << UInt64(count & 63); stored.append(x) }
        count += 1
    }

    public mutating func reserveCapacity(_ n: Int) { bits.reserveCapacity((n + 63) / 64); ranks.reserveCapacity((n + 63) / 64) }

    public var byteSize: Int { bits.count * 8 + ranks.count * 4 + stored.count * 8 }

    /// Runs `body` with an unsafe view for the hot loops.
    public func withView<R>(_ body: (UnsafeSparseDoubles) throws -> R) rethrows -> R {
        try bits.withUnsafeBufferPointer { b in
            try ranks.withUnsafeBufferPointer { r in
                try stored.withUnsafeBufferPointer { s in try body(UnsafeSparseDoubles(bits: b, ranks: r, stored: s)) }
            }
        }
    }
}

/// `SparseDoubles` through unsafe pointers: two loads and a population count per read, no reference counting.
public struct UnsafeSparseDoubles {
    let bits: UnsafeBufferPointer<UInt64>
    let ranks: UnsafeBufferPointer<UInt32>
    let stored: UnsafeBufferPointer<Double>

    @inline(__always) public subscript(i: Int) -> Double {
        let word = bits[i >> 6], bit = UInt64(1) << UInt64(i & 63)
        guard word & bit != 0 else { return .nan }
        return stored[Int(ranks[i >> 6]) + (word & (bit &- 1)).nonzeroBitCount]
    }
}
