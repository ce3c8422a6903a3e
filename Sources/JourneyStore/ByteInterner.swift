/// Maps byte strings to integers without allocating per lookup: keys live end to end in one array,
/// slots are an open-addressing table of key indices. Used for customer keys and raw categorical spellings,
/// which real files repeat millions of times.
struct ByteInterner {
    private var keyBytes: [UInt8] = []
    private var keyStarts: [Int] = [0]
    private(set) var values: [Int64] = []
    private var hashes: [UInt64] = []
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [Int32](repeating: -1, count: n)
        mask = n - 1
    }

    var count: Int { values.count }

    @inline(__always) static func hash(_ p: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(p.count)
        var i = 0
        let n = p.count
        while i + 8 <= n {
            h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n { tail |= UInt64(p[i]) << shift; shift += 8; i += 1 }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 29)
    }

    /// The key found last: sorted exports repeat the previous row's customer, account or source, and comparing
    /// against it is cheaper than hashing.
    private var last = -1

    /// The value stored for `key`, if any.
    @inline(__always) mutating func find(_ key: UnsafeRawBufferPointer) -> Int64? {
        if last >= 0 {
            let a = keyStarts[last], b = keyStarts[last + 1]
            if b - a == key.count && keyBytes.withUnsafeBufferPointer({ key.count == 0 || memcmp($0.baseAddress! + a, key.baseAddress!, key.count) == 0 }) {
                return values[last]
            }
        }
        let h = Self.hash(key)
        var s = Int(truncatingIfNeeded: h) & mask
        let found: Int? = keyBytes.withUnsafeBufferPointer { kb -> Int? in
            while true {
                let idx = Int(slots[s])
                if idx < 0 { return nil }
                if hashes[idx] == h {
                    let a = keyStarts[idx], b = keyStarts[idx + 1]
                    if b - a == key.count && (key.count == 0 || memcmp(kb.baseAddress! + a, key.baseAddress!, key.count) == 0) {
                        return idx
                    }
                }
                s = (s + 1) & mask
            }
        }
        guard let found else { return nil }
        last = found
        return values[found]
    }

    /// Stores `value` for `key` (which must not be present yet).
    mutating func insert(_ key: UnsafeRawBufferPointer, value: Int64) {
        if (values.count + 1) * 2 > slots.count { grow() }
        let h = Self.hash(key)
        keyBytes.append(contentsOf: key)
        keyStarts.append(keyBytes.count)
        values.append(value)
        hashes.append(h)
        place(values.count - 1, h)
    }

    mutating func insert(_ key: String, value: Int64) {
        var k = key
        k.withUTF8 { insert(UnsafeRawBufferPointer($0), value: value) }
    }

    private mutating func place(_ idx: Int, _ h: UInt64) {
        var s = Int(truncatingIfNeeded: h) & mask
        while slots[s] >= 0 { s = (s + 1) & mask }
        slots[s] = Int32(idx)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for i in 0..<values.count { place(i, hashes[i]) }
    }
}

import Foundation
