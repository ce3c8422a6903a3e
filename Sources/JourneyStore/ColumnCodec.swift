/// How one chunk column is stored in chunk format 2: a tag byte, the value count (a varint), then the values in
/// the smallest of a few encodings, chosen per column and chunk by the bytes it takes:
///
///     constant  every value the same                      the value
///     frame     values in a narrow range                  minimum, divisor, width (1, 2, 4 or 8 bytes), (value − minimum) / divisor each
///     delta     slowly changing (times, ids, offsets)     common divisor, then (value − previous) / divisor each
///     sparse    mostly one value (campaign, merged flag)  that value, then (gap, value) for each other one
///     runs      long runs (the import that stored it)     (value, run length) for each run
///     raw       anything else (doubles with many values)  the values as they are in memory
///
/// Variable-length numbers are LEB128 varints, signed ones zigzag-mapped first. Decoding checks every length
/// against the blob (a damaged blob is an error, never a read past it) and the count against what the chunk
/// says it holds. Times in customer order change little from one event to the next, codes fit a byte when the
/// catalog is small: on the b2b bench data this is 61 → about 10 bytes per event (bench/RESULTS.md).
enum ColumnCodec {
    enum Tag: UInt8 { case raw = 0, constant = 1, frame = 2, delta = 3, sparse = 4, runs = 5 }

    static let damaged = ChunkChecksums.damaged

    // MARK: Integers

    /// The encoded bytes of an integer column (any width up to 64 bits).
    static func encode<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBufferPointer { encode($0) }
    }

    static func encode<T: FixedWidthInteger>(_ p: UnsafeBufferPointer<T>) -> [UInt8] {
        let n = p.count
        var out = ByteWriter()
        guard n > 0 else { out.byte(Tag.constant.rawValue); out.varint(0); out.signed(0); return out.bytes }
        @inline(__always) func v(_ i: Int) -> Int64 { Int64(truncatingIfNeeded: p[i]) }
        // One pass for every candidate's size.
        var lo = v(0), hi = v(0), runs = 1, runBytes = 0, divisor: UInt64 = 0
        var zeros = 0, firsts = 0, minusOnes = 0
        var prev: Int64 = 0, runStart = 0
        for i in 0..<n {
            let x = v(i)
            if x < lo { lo = x }
            if x > hi { hi = x }
            if divisor != 1 { divisor = gcd(divisor, (x &- prev).magnitude) }   // once 1, always 1: no division per value
            if i > 0 && x != prev { runBytes += ByteWriter.size(zigzag(prev)) + ByteWriter.size(UInt64(i - runStart)); runs += 1; runStart = i }
            if x == 0 { zeros += 1 }
            if x == v(0) { firsts += 1 }
            if x == -1 { minusOnes += 1 }
            prev = x
        }
        runBytes += ByteWriter.size(zigzag(prev)) + ByteWriter.size(UInt64(n - runStart))
        out.byte(0); out.varint(UInt64(n))
        if runs == 1 { out.bytes[0] = Tag.constant.rawValue; out.signed(lo); return out.bytes }

        if divisor == 0 || divisor > UInt64(Int64.max) { divisor = 1 }
        let s = Int64(divisor)
        // Every value is a multiple of the divisor (the first delta is the first value), so is their range.
        let range = UInt64(bitPattern: hi &- lo) / divisor
        let width = range <= 0xFF ? 1 : range <= 0xFFFF ? 2 : range <= 0xFFFF_FFFF ? 4 : 8
        let frameBytes = ByteWriter.size(zigzag(lo)) + ByteWriter.size(divisor) + 1 + n * width
        // Deltas take a byte per value at least, sparse two per exception: sized only when they could win.
        var deltaBytes = Int.max
        if width > 1 {
            deltaBytes = ByteWriter.size(divisor)
            prev = 0
            for i in 0..<n { let x = v(i); deltaBytes += ByteWriter.size(zigzag((x &- prev) / s)); prev = x }
        }
        let common: Int64 = zeros >= firsts && zeros >= minusOnes ? 0 : firsts >= minusOnes ? v(0) : -1
        let exceptions = n - (common == 0 ? zeros : common == -1 ? minusOnes : firsts)
        var sparseBytes = Int.max
        if exceptions * 2 < frameBytes {
            sparseBytes = ByteWriter.size(zigzag(common)) + ByteWriter.size(UInt64(n))
            var last = -1
            for i in 0..<n where v(i) != common { sparseBytes += ByteWriter.size(UInt64(i - last)) + ByteWriter.size(zigzag(v(i))); last = i }
        }
        runBytes += ByteWriter.size(UInt64(runs))
        // A frame decodes several times faster than varints (no branch per byte): it is taken while it costs at
        // most a quarter more (times in customer order: 4 bytes a frame against 3.4 as deltas, on the b2b data).
        let best = min(frameBytes, deltaBytes, sparseBytes, runBytes, n * MemoryLayout<T>.size)

        if frameBytes <= best + best / 4 {
            out.bytes[0] = Tag.frame.rawValue
            out.signed(lo); out.varint(divisor); out.byte(UInt8(width))
            out.bytes.reserveCapacity(out.bytes.count + n * width)
            for i in 0..<n {
                var u = UInt64(bitPattern: v(i) &- lo) / divisor
                for _ in 0..<width { out.bytes.append(UInt8(truncatingIfNeeded: u)); u >>= 8 }
            }
        } else if best == deltaBytes {
            out.bytes[0] = Tag.delta.rawValue
            out.varint(divisor)
            prev = 0
            for i in 0..<n { let x = v(i); out.signed((x &- prev) / s); prev = x }
        } else if best == sparseBytes {
            out.bytes[0] = Tag.sparse.rawValue
            out.signed(common); out.varint(UInt64(exceptions))
            var last = -1
            for i in 0..<n where v(i) != common { out.varint(UInt64(i - last)); out.signed(v(i)); last = i }
        } else if best == runBytes {
            out.bytes[0] = Tag.runs.rawValue
            out.varint(UInt64(runs))
            runStart = 0
            for i in 1...n where i == n || v(i) != v(i - 1) { out.signed(v(i - 1)); out.varint(UInt64(i - runStart)); runStart = i }
        } else {
            out.bytes[0] = Tag.raw.rawValue
            out.bytes.append(contentsOf: UnsafeRawBufferPointer(p))
        }
        return out.bytes
    }

    /// A frame's header (minimum, divisor, width) and its `n` values' bytes.
    private static func frame(_ r: inout ByteReader, _ n: Int) throws -> (lo: Int64, divisor: Int64, width: Int, body: UnsafeRawBufferPointer) {
        let lo = try r.signed()
        let s = Int64(truncatingIfNeeded: try r.varint())
        let width = Int(try r.byte())
        guard [1, 2, 4, 8].contains(width) else { throw damaged }
        return (lo, s, width, try r.take(n * width))
    }

    /// The number of values an encoded column holds.
    static func count(_ blob: UnsafeRawBufferPointer) throws -> Int {
        var r = ByteReader(blob)
        _ = try r.byte()
        return try r.count()
    }

    /// Decodes an integer column into `out`, which has room for `count` values; the column must hold exactly
    /// that many.
    static func decode<T: FixedWidthInteger>(_ blob: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<T>, count n: Int) throws {
        var r = ByteReader(blob)
        guard let tag = Tag(rawValue: try r.byte()) else { throw damaged }
        guard try r.count() == n else { throw damaged }
        switch tag {
        case .constant:
            let x = T(truncatingIfNeeded: try r.signed())
            out.update(repeating: x, count: n)
        case .frame:
            let (lo, s, width, body) = try frame(&r, n)
            func widen<W: FixedWidthInteger>(_: W.Type) {
                if s == 1 {
                    for i in 0..<n { out[i] = T(truncatingIfNeeded: lo &+ Int64(truncatingIfNeeded: body.loadUnaligned(fromByteOffset: i * width, as: W.self).littleEndian)) }
                } else {
                    for i in 0..<n { out[i] = T(truncatingIfNeeded: lo &+ Int64(truncatingIfNeeded: body.loadUnaligned(fromByteOffset: i * width, as: W.self).littleEndian) &* s) }
                }
            }
            switch width {
            case 1: if lo == 0 && s == 1 { for i in 0..<n { out[i] = T(truncatingIfNeeded: body[i]) } } else { widen(UInt8.self) }
            case 2: widen(UInt16.self)
            case 4: widen(UInt32.self)
            default: widen(UInt64.self)
            }
        case .delta:
            let s = Int64(truncatingIfNeeded: try r.varint())
            var prev: Int64 = 0, i = 0
            // The hot loop of a load (times): while a whole varint surely fits, no bounds checks per byte.
            if let base = r.p.baseAddress {
                var at = r.i
                let safeEnd = r.p.count - 10
                while i < n && at <= safeEnd {
                    var x: UInt64 = 0, shift: UInt64 = 0, b: UInt8
                    repeat { b = base.load(fromByteOffset: at, as: UInt8.self); at += 1; x |= UInt64(b & 0x7F) << shift; shift += 7 } while b >= 0x80 && shift < 70
                    guard b < 0x80 else { throw damaged }
                    prev = prev &+ ((Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)) &* s)
                    out[i] = T(truncatingIfNeeded: prev)
                    i += 1
                }
                r.i = at
            }
            while i < n { prev = prev &+ (try r.signed() &* s); out[i] = T(truncatingIfNeeded: prev); i += 1 }
        case .sparse:
            let common = T(truncatingIfNeeded: try r.signed())
            let k = try r.count()
            out.update(repeating: common, count: n)
            var i = -1
            for _ in 0..<k {
                i += try r.count()
                guard i >= 0 && i < n else { throw damaged }
                out[i] = T(truncatingIfNeeded: try r.signed())
            }
        case .runs:
            let runs = try r.count()
            var i = 0
            for _ in 0..<runs {
                let x = T(truncatingIfNeeded: try r.signed())
                let len = try r.count()
                guard len <= n - i else { throw damaged }
                (out + i).update(repeating: x, count: len)
                i += len
            }
            guard i == n else { throw damaged }
        case .raw:
            let body = try r.take(n * MemoryLayout<T>.size)
            if n > 0, let base = body.baseAddress { UnsafeMutableRawPointer(out).copyMemory(from: base, byteCount: n * MemoryLayout<T>.size) }
        }
        guard r.atEnd else { throw damaged }
    }

    /// Decodes an integer column whose count the caller does not know beforehand.
    static func decode<T: FixedWidthInteger>(_ blob: UnsafeRawBufferPointer, as: T.Type = T.self) throws -> [T] {
        let n = try count(blob)
        // A damaged count could ask for any size: no column holds more values than its blob has bits
        // (a constant or runs column aside, which are bounded by the chunk's own counts later).
        guard n <= max(blob.count * 8, 1 << 24) else { throw damaged }
        return try [T](unsafeUninitializedCapacity: n) { buf, count in
            if n > 0, let base = buf.baseAddress { try decode(blob, into: base, count: n) }
            count = n
        }
    }

    /// Only the values at `ranges` (sorted, disjoint, within the column's `n`), concatenated: what a writer needs
    /// of a chunk for the few customers a small import touches. Frames, raw and constant columns are read in
    /// place; the others are walked from the start (they are small: ids, offsets, sparse and run columns).
    static func decode<T: FixedWidthInteger>(_ blob: UnsafeRawBufferPointer, count n: Int, picking ranges: [Range<Int>]) throws -> [T] {
        let total = ranges.reduce(0) { $0 + $1.count }
        guard ranges.allSatisfy({ $0.lowerBound >= 0 && $0.upperBound <= n }) else { throw damaged }
        var r = ByteReader(blob)
        guard let tag = Tag(rawValue: try r.byte()) else { throw damaged }
        guard try r.count() == n else { throw damaged }
        var out: [T] = []
        out.reserveCapacity(total)
        switch tag {
        case .constant:
            out = [T](repeating: T(truncatingIfNeeded: try r.signed()), count: total)
        case .frame:
            let (lo, s, width, body) = try frame(&r, n)
            for range in ranges {
                for i in range {
                    var u: UInt64 = 0
                    for b in 0..<width { u |= UInt64(body[i * width + b]) << (8 * UInt64(b)) }
                    out.append(T(truncatingIfNeeded: lo &+ Int64(bitPattern: u) &* s))
                }
            }
        case .raw:
            let body = try r.take(n * MemoryLayout<T>.size)
            for range in ranges {
                for i in range { out.append(body.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)) }
            }
        case .sparse:
            // The common value everywhere, then the exceptions that fall in a range.
            let common = T(truncatingIfNeeded: try r.signed())
            out = [T](repeating: common, count: total)
            var starts: [Int] = [], at = 0
            for range in ranges { starts.append(at); at += range.count }
            let k = try r.count()
            var i = -1, q = 0
            for _ in 0..<k {
                i += try r.count()
                guard i >= 0 && i < n else { throw damaged }
                let x = try r.signed()
                while q < ranges.count && ranges[q].upperBound <= i { q += 1 }
                if q < ranges.count && ranges[q].contains(i) { out[starts[q] + i - ranges[q].lowerBound] = T(truncatingIfNeeded: x) }
            }
        case .runs:
            let runs = try r.count()
            var i = 0, q = 0
            for _ in 0..<runs {
                let x = T(truncatingIfNeeded: try r.signed())
                let len = try r.count()
                guard len <= n - i else { throw damaged }
                let run = i..<(i + len)
                while q < ranges.count && ranges[q].upperBound <= run.upperBound {
                    let overlap = ranges[q].clamped(to: run)
                    out.append(contentsOf: repeatElement(x, count: overlap.count)); q += 1
                }
                if q < ranges.count { out.append(contentsOf: repeatElement(x, count: ranges[q].clamped(to: run).count)) }
                i += len
            }
            guard i == n else { throw damaged }
        case .delta:
            // Walked from the start (each value is the one before plus its delta), kept where a range asks.
            let s = Int64(truncatingIfNeeded: try r.varint())
            var prev: Int64 = 0, q = 0
            let end = ranges.last?.upperBound ?? 0
            for i in 0..<end {
                prev = prev &+ (try r.signed() &* s)
                while q < ranges.count && ranges[q].upperBound <= i { q += 1 }
                if q < ranges.count && ranges[q].contains(i) { out.append(T(truncatingIfNeeded: prev)) }
            }
            return out
        }
        guard r.atEnd else { throw damaged }
        return out
    }

    /// `decodeDoubles`, only at `ranges` (sorted, disjoint), concatenated.
    static func decodeDoubles(_ blob: UnsafeRawBufferPointer, count n: Int, picking ranges: [Range<Int>]) throws -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(ranges.reduce(0) { $0 + $1.count })
        var starts: [Int] = []
        for range in ranges { starts.append(out.count); out.append(contentsOf: repeatElement(Double.nan, count: range.count)) }
        var k = 0
        try forEachValue(blob, count: n) { i, v in
            while k < ranges.count && ranges[k].upperBound <= i { k += 1 }
            if k < ranges.count && ranges[k].contains(i) { out[starts[k] + i - ranges[k].lowerBound] = v }
        }
        return out
    }

    // MARK: Doubles (the event value: NaN where an event has none)

    static func encode(_ values: [Double]) -> [UInt8] {
        var out = ByteWriter()
        let present = values.reduce(0) { $0 + ($1.isNaN ? 0 : 1) }
        if present * 10 < values.count * 8 {
            out.byte(Tag.sparse.rawValue); out.varint(UInt64(values.count)); out.varint(UInt64(present))
            var last = -1
            for (i, x) in values.enumerated() where !x.isNaN {
                out.varint(UInt64(i - last)); last = i
                withUnsafeBytes(of: x.bitPattern.littleEndian) { out.bytes.append(contentsOf: $0) }
            }
        } else {
            out.byte(Tag.raw.rawValue); out.varint(UInt64(values.count))
            values.withUnsafeBytes { out.bytes.append(contentsOf: $0) }
        }
        return out.bytes
    }

    /// Calls `body(i, value)` for each event `i` of the column that has a value, in order.
    static func forEachValue(_ blob: UnsafeRawBufferPointer, count n: Int, _ body: (Int, Double) -> Void) throws {
        var r = ByteReader(blob)
        let tag = try r.byte()
        guard try r.count() == n else { throw damaged }
        if tag == Tag.sparse.rawValue {
            let k = try r.count()
            var i = -1
            for _ in 0..<k {
                i += try r.count()
                guard i >= 0 && i < n else { throw damaged }
                let bits = try r.take(8).loadUnaligned(as: UInt64.self)
                body(i, Double(bitPattern: UInt64(littleEndian: bits)))
            }
        } else if tag == Tag.raw.rawValue {
            let body8 = try r.take(n * 8)
            for i in 0..<n {
                let x = Double(bitPattern: UInt64(littleEndian: body8.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
                if !x.isNaN { body(i, x) }
            }
        } else { throw damaged }
        guard r.atEnd else { throw damaged }
    }

    static func decodeDoubles(_ blob: UnsafeRawBufferPointer) throws -> [Double] {
        let n = try count(blob)
        guard n <= blob.count * 8 + (1 << 24) else { throw damaged }
        var out = [Double](repeating: .nan, count: n)
        try forEachValue(blob, count: n) { out[$0] = $1 }
        return out
    }

    // MARK: Varints

    @inline(__always) static func zigzag(_ x: Int64) -> UInt64 { UInt64(bitPattern: (x << 1) ^ (x >> 63)) }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var a = a, b = b
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}

/// Bytes appended with varints.
struct ByteWriter {
    var bytes: [UInt8] = []
    @inline(__always) mutating func byte(_ b: UInt8) { bytes.append(b) }
    @inline(__always) mutating func varint(_ x: UInt64) {
        var x = x
        while x >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: x) | 0x80); x >>= 7 }
        bytes.append(UInt8(x))
    }
    @inline(__always) mutating func signed(_ x: Int64) { varint(ColumnCodec.zigzag(x)) }
    @inline(__always) static func size(_ x: UInt64) -> Int { x == 0 ? 1 : (64 - x.leadingZeroBitCount + 6) / 7 }
}

/// Reads what `ByteWriter` wrote; every read is checked against the end.
struct ByteReader {
    let p: UnsafeRawBufferPointer
    var i = 0
    init(_ p: UnsafeRawBufferPointer) { self.p = p }
    var atEnd: Bool { i == p.count }

    @inline(__always) mutating func byte() throws -> UInt8 {
        guard i < p.count else { throw ColumnCodec.damaged }
        defer { i += 1 }
        return p[i]
    }

    @inline(__always) mutating func varint() throws -> UInt64 {
        var x: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard i < p.count, shift < 64 else { throw ColumnCodec.damaged }
            let b = p[i]; i += 1
            x |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return x }
            shift += 7
        }
    }

    @inline(__always) mutating func signed() throws -> Int64 {
        let z = try varint()
        return Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1)
    }

    /// A count or a gap: a varint that must fit an Int with room to spare.
    @inline(__always) mutating func count() throws -> Int {
        let x = try varint()
        guard x < 1 << 40 else { throw ColumnCodec.damaged }
        return Int(x)
    }

    mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= p.count - i else { throw ColumnCodec.damaged }
        defer { i += n }
        return UnsafeRawBufferPointer(rebasing: p[i..<(i + n)])
    }
}
