import JourneyTestSupport
import Foundation
import Testing
@testable import JourneyStore
import JourneyCore
import JourneyGenerator

/// The chunk column encodings (`ColumnCodec`): every shape of column comes back exactly, each shape is stored
/// the way it is meant to be, and damaged bytes are an error, never a crash or a read past the blob.
@Suite struct ColumnCodecTests {
    struct Rng { var s: UInt64
        mutating func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    func roundTrip<T: FixedWidthInteger>(_ values: [T], _ what: String) throws -> ColumnCodec.Tag? {
        let blob = ColumnCodec.encode(values)
        let back: [T] = try blob.withUnsafeBytes { try ColumnCodec.decode($0) }
        #expect(back == values, "\(T.self) \(what): not the same after encoding")
        // Picking ranges (what a writer reads for a few customers) gives the same values as slicing.
        var r = Rng(s: UInt64(values.count) &+ 99)
        for _ in 0..<20 {
            var ranges: [Range<Int>] = [], at = 0
            while at < values.count {
                let start = min(values.count, at + r.below(40)), end = min(values.count, start + r.below(30))
                if r.below(3) > 0 { ranges.append(start..<end) }
                at = end + 1
            }
            let picked: [T] = try blob.withUnsafeBytes { try ColumnCodec.decode($0, count: values.count, picking: ranges) }
            #expect(picked == ranges.flatMap { Array(values[$0]) }, "\(T.self) \(what): picked ranges differ")
        }
        return ColumnCodec.Tag(rawValue: blob[0])
    }

    /// Columns shaped like the stored ones, and edge values, in every width.
    @Test func everyShapeComesBackExactly() throws {
        var r = Rng(s: 7)
        let n = 5000
        // Times in customer order: runs of increasing seconds, a jump back at each customer.
        var times: [Int64] = [], t: Int64 = 1_700_000_000_000
        for i in 0..<n { t = i % 7 == 0 ? 1_700_000_000_000 + Int64(r.below(100_000_000)) * 1000 : t + Int64(r.below(30 * 86_400)) * 1000; times.append(t) }
        #expect(try roundTrip(times, "times") == .frame)
        #expect(try roundTrip((0..<n).map { Int64($0 * 3 + 1) }, "ids") == .delta)
        #expect(try roundTrip([UInt32](repeating: 7, count: n), "constant") == .constant)
        #expect(try roundTrip((0..<n).map { _ in UInt32(r.below(40)) }, "codes") == .frame)
        #expect(try roundTrip((0..<n).map { i in i % 97 == 0 ? UInt32(r.below(1000)) : 0 }, "campaigns") == .sparse)
        #expect(try roundTrip((0..<n).map { UInt32($0 / 1000) }, "imports") == .runs)
        #expect(try roundTrip((0..<n).map { i in i % 50 == 0 ? Int8(1) : -1 }, "onlines") == .sparse)
        // Edges: the extremes of each type, empty, a single value, wrap-around deltas.
        _ = try roundTrip([Int64.min, Int64.max, 0, -1, Int64.max, Int64.min], "Int64 extremes")
        _ = try roundTrip([UInt32.max, 0, UInt32.max], "UInt32 extremes")
        _ = try roundTrip([Int32.min, Int32.max], "Int32 extremes")
        _ = try roundTrip([UInt16.max, 1], "UInt16 extremes")
        _ = try roundTrip([Int8.min, Int8.max, 0], "Int8 extremes")
        _ = try roundTrip([UInt8](), "empty")
        _ = try roundTrip([Int64(42)], "one value")
        _ = try roundTrip((0..<n).map { _ in Int64(bitPattern: r.next()) }, "random Int64")
        _ = try roundTrip((0..<n).map { _ in UInt8(truncatingIfNeeded: r.next()) }, "random bytes")
    }

    @Test func valuesComeBackWithTheirNaNs() throws {
        var r = Rng(s: 3)
        for density in [0, 1, 10, 100] {
            let values: [Double] = (0..<3000).map { _ in r.below(100) < density ? Double(r.below(100_000)) / 100 : .nan }
            let blob = ColumnCodec.encode(values)
            let back = try blob.withUnsafeBytes { try ColumnCodec.decodeDoubles($0) }
            #expect(back.count == values.count)
            let ranges = [3..<10, 10..<10, 500..<900, 2990..<3000]
            let picked = try blob.withUnsafeBytes { try ColumnCodec.decodeDoubles($0, count: values.count, picking: ranges) }
            let want = ranges.flatMap { Array(values[$0]) }
            #expect(picked.count == want.count && zip(picked, want).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 }, "picked values, density \(density)%")
            #expect(zip(back, values).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 }, "density \(density)%")
        }
    }

    /// Cut short, a byte changed, or noise: decoding throws or gives some values, and never reads past the blob
    /// (an address sanitizer or the bounds checks of a debug build would stop the test otherwise).
    @Test func damagedBlobsAreErrors() throws {
        var r = Rng(s: 11)
        let columns: [[UInt8]] = [
            ColumnCodec.encode((0..<400).map { Int64($0) * 86_400_000 + Int64(r.below(1000)) }),
            ColumnCodec.encode((0..<400).map { _ in UInt32(r.below(300)) }),
            ColumnCodec.encode((0..<400).map { i in i % 37 == 0 ? UInt32(i) : 0 }),
            ColumnCodec.encode((0..<400).map { UInt32($0 / 100) }),
        ]
        let values = ColumnCodec.encode((0..<400).map { i in i % 9 == 0 ? 12.5 : Double.nan })
        var errors = 0
        for blob in columns + [values] {
            for cut in [0, 1, 2, blob.count / 2, blob.count - 1] {
                let short = Array(blob.prefix(cut))
                do {
                    if blob == values { _ = try short.withUnsafeBytes { try ColumnCodec.decodeDoubles($0) } }
                    else { _ = try short.withUnsafeBytes { try ColumnCodec.decode($0, as: UInt32.self) } }
                } catch { errors += 1 }
            }
            for _ in 0..<200 {
                var bad = blob
                bad[r.below(bad.count)] = UInt8(truncatingIfNeeded: r.next())
                _ = try? bad.withUnsafeBytes { try ColumnCodec.decode($0, as: Int64.self) }
                _ = try? bad.withUnsafeBytes { try ColumnCodec.decodeDoubles($0) }
            }
        }
        for _ in 0..<500 {
            let noise = (0..<r.below(64)).map { _ in UInt8(truncatingIfNeeded: r.next()) }
            _ = try? noise.withUnsafeBytes { try ColumnCodec.decode($0, as: UInt16.self) }
        }
        #expect(errors == (columns.count + 1) * 5, "every cut column is an error")
    }
}
