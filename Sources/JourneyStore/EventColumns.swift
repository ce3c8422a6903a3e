import Foundation

/// Every stored field of a run of events, column by column. A chunk holds these for its customers;
/// an import batch holds them for its parsed rows. Codes are dictionary codes; 0 means "none".
struct EventColumns {
    var times: [Int64] = []
    /// Which import stored the event (the `imports` table).
    var imports: [UInt32] = []
    var events: [UInt32] = []
    var channels: [UInt16] = []     // as on the row; the touchpoint catalog fills 0 when loading
    var stages: [UInt8] = []        // ordinal + 1, as on the row
    var kinds: [UInt8] = []         // 1 paid, 2 owned, 3 earned
    var campaigns: [UInt32] = []
    var devices: [UInt16] = []
    var sources: [UInt16] = []
    var onlines: [Int8] = []        // -1 unknown, 0 offline, 1 online
    var values: [Double] = []       // NaN: none
    /// 1: the same touchpoint recorded by another source within the tolerance; kept, left out of queries.
    var merged: [UInt8] = []
    /// Free properties as JSON text; event i's bytes are propBytes[propOffsets[i] ..< propOffsets[i+1]].
    var propOffsets: [Int32] = [0]
    var propBytes: [UInt8] = []

    var count: Int { times.count }

    mutating func reserve(_ n: Int) {
        times.reserveCapacity(n); imports.reserveCapacity(n); events.reserveCapacity(n)
        channels.reserveCapacity(n); stages.reserveCapacity(n); kinds.reserveCapacity(n); campaigns.reserveCapacity(n)
        devices.reserveCapacity(n); sources.reserveCapacity(n); onlines.reserveCapacity(n); values.reserveCapacity(n)
        merged.reserveCapacity(n); propOffsets.reserveCapacity(n + 1)
    }

    /// Appends event `i` of `other`.
    @inline(__always) mutating func append(from o: EventColumns, _ i: Int) {
        times.append(o.times[i]); imports.append(o.imports[i]); events.append(o.events[i])
        channels.append(o.channels[i]); stages.append(o.stages[i]); kinds.append(o.kinds[i]); campaigns.append(o.campaigns[i])
        devices.append(o.devices[i]); sources.append(o.sources[i]); onlines.append(o.onlines[i]); values.append(o.values[i])
        merged.append(o.merged[i])
        let a = Int(o.propOffsets[i]), b = Int(o.propOffsets[i + 1])
        if b > a { propBytes.append(contentsOf: o.propBytes[a..<b]) }
        propOffsets.append(Int32(propBytes.count))
    }

    /// Appends events `r` of `o`.
    mutating func append(from o: EventColumns, _ r: Range<Int>) {
        guard !r.isEmpty else { return }
        times.append(contentsOf: o.times[r]); imports.append(contentsOf: o.imports[r]); events.append(contentsOf: o.events[r])
        channels.append(contentsOf: o.channels[r]); stages.append(contentsOf: o.stages[r]); kinds.append(contentsOf: o.kinds[r])
        campaigns.append(contentsOf: o.campaigns[r]); devices.append(contentsOf: o.devices[r]); sources.append(contentsOf: o.sources[r])
        onlines.append(contentsOf: o.onlines[r]); values.append(contentsOf: o.values[r]); merged.append(contentsOf: o.merged[r])
        let base = Int32(propBytes.count) - o.propOffsets[r.lowerBound]
        propBytes.append(contentsOf: o.propBytes[Int(o.propOffsets[r.lowerBound])..<Int(o.propOffsets[r.upperBound])])
        for i in r { propOffsets.append(o.propOffsets[i + 1] + base) }
    }

    /// Drops the last `k` events.
    mutating func removeLast(_ k: Int) {
        guard k > 0 else { return }
        times.removeLast(k); imports.removeLast(k); events.removeLast(k); channels.removeLast(k); stages.removeLast(k)
        kinds.removeLast(k); campaigns.removeLast(k); devices.removeLast(k); sources.removeLast(k); onlines.removeLast(k)
        values.removeLast(k); merged.removeLast(k); propOffsets.removeLast(k)
        propBytes.removeLast(propBytes.count - Int(propOffsets[propOffsets.count - 1]))
    }

    mutating func removeAll() {
        times.removeAll(keepingCapacity: true); imports.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true); channels.removeAll(keepingCapacity: true); stages.removeAll(keepingCapacity: true)
        kinds.removeAll(keepingCapacity: true); campaigns.removeAll(keepingCapacity: true); devices.removeAll(keepingCapacity: true)
        sources.removeAll(keepingCapacity: true); onlines.removeAll(keepingCapacity: true); values.removeAll(keepingCapacity: true)
        merged.removeAll(keepingCapacity: true); propOffsets.removeAll(keepingCapacity: true); propOffsets.append(0)
        propBytes.removeAll(keepingCapacity: true)
    }

    /// Whether event `i` and event `j` of `o` agree in every stored field but the import and the merged flag
    /// (an exact duplicate when they also belong to one customer at one time).
    func sameFields(_ i: Int, as o: EventColumns, _ j: Int) -> Bool {
        guard times[i] == o.times[j], events[i] == o.events[j], channels[i] == o.channels[j], stages[i] == o.stages[j],
              kinds[i] == o.kinds[j], campaigns[i] == o.campaigns[j], devices[i] == o.devices[j], sources[i] == o.sources[j],
              onlines[i] == o.onlines[j], values[i].isNaN ? o.values[j].isNaN : values[i].bitPattern == o.values[j].bitPattern
        else { return false }
        let a = Int(propOffsets[i]), b = Int(propOffsets[i + 1]), c = Int(o.propOffsets[j]), d = Int(o.propOffsets[j + 1])
        return b - a == d - c && propBytes[a..<b].elementsEqual(o.propBytes[c..<d])
    }

    func props(_ i: Int) -> String? {
        let a = Int(propOffsets[i]), b = Int(propOffsets[i + 1])
        return b > a ? String(decoding: propBytes[a..<b], as: UTF8.self) : nil
    }
}

/// One chunk: the customers of one id range (`Store.chunkSize` ids) and their events, time-ordered per
/// customer with ties in import order.
struct ChunkData {
    var ids: [Int64] = []
    var offsets: [Int32] = [0]
    var columns = EventColumns()

    var mergedCount: Int { columns.merged.reduce(0) { $0 + Int($1) } }
}

extension ChunkData {
    /// The chunk row's BLOB columns. `hashes` is empty from chunk format 2 on (an exact duplicate is found by
    /// comparing the stored fields, `EventColumns.sameFields`); format 1 stores kept a fingerprint there.
    static let columnList = "ids, offsets, times, hashes, imports, codes, channels, stages, kinds, campaigns, devices, sources, onlines, vals, mflags, prop_offsets, props"

    /// Reads a chunk row (`SELECT columnList, sums`) stored in chunk format `format` (`Store.chunkFormat`),
    /// checked against its checksums and its columns against each other: a damaged row is an error.
    init(_ st: Statement, format: Int) throws {
        try ChunkChecksums.check(st, ChunkChecksums.names, first: 0, sumsColumn: Int32(ChunkChecksums.names.count))
        if format >= 2 {
            func d<T: FixedWidthInteger>(_ col: Int32, _ into: inout [T]) throws { into = try ColumnCodec.decode(st.blob(col)) }
            try d(0, &ids); try d(1, &offsets)
            try d(2, &columns.times); try d(4, &columns.imports); try d(5, &columns.events)
            try d(6, &columns.channels); try d(7, &columns.stages); try d(8, &columns.kinds); try d(9, &columns.campaigns)
            try d(10, &columns.devices); try d(11, &columns.sources); try d(12, &columns.onlines)
            columns.values = try ColumnCodec.decodeDoubles(st.blob(13))
            try d(14, &columns.merged); try d(15, &columns.propOffsets); try d(16, &columns.propBytes)
        } else {
            func read<T>(_ col: Int32, _ into: inout [T]) {
                let b = st.blob(col)
                let n = b.count / MemoryLayout<T>.stride
                into.removeAll(keepingCapacity: true)
                if n > 0, let base = b.baseAddress {
                    into.append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: T.self), count: n))
                }
            }
            read(0, &ids); read(1, &offsets)
            read(2, &columns.times); read(4, &columns.imports); read(5, &columns.events)
            read(6, &columns.channels); read(7, &columns.stages); read(8, &columns.kinds); read(9, &columns.campaigns)
            read(10, &columns.devices); read(11, &columns.sources); read(12, &columns.onlines); read(13, &columns.values)
            read(14, &columns.merged); read(15, &columns.propOffsets); read(16, &columns.propBytes)
        }
        if columns.propOffsets.isEmpty { columns.propOffsets = [0] }
        if offsets.isEmpty { offsets = [0] }
        guard isWhole else { throw ChunkChecksums.damaged }
    }

    /// Only the customers `wanted` (sorted ids; those the chunk lacks are left out) of a chunk row in format 2,
    /// every column, checked like a whole row: what a writer needs to merge a few customers' new events.
    init(_ st: Statement, only wanted: [Int64]) throws {
        try ChunkChecksums.check(st, ChunkChecksums.names, first: 0, sumsColumn: Int32(ChunkChecksums.names.count))
        let allIds: [Int64] = try ColumnCodec.decode(st.blob(0)), allOffsets: [Int32] = try ColumnCodec.decode(st.blob(1))
        guard allOffsets.count == allIds.count + 1, allOffsets.first == 0,
              zip(allOffsets, allOffsets.dropFirst()).allSatisfy({ $0 <= $1 }) else { throw ChunkChecksums.damaged }
        let n = Int(allOffsets[allIds.count])
        var ranges: [Range<Int>] = []
        var w = 0
        for (k, id) in allIds.enumerated() {
            while w < wanted.count && wanted[w] < id { w += 1 }
            guard w < wanted.count, wanted[w] == id else { continue }
            ranges.append(Int(allOffsets[k])..<Int(allOffsets[k + 1]))
            ids.append(id); offsets.append(offsets[offsets.count - 1] + allOffsets[k + 1] - allOffsets[k])
        }
        func d<T: FixedWidthInteger>(_ col: Int32, _ into: inout [T]) throws { into = try ColumnCodec.decode(st.blob(col), count: n, picking: ranges) }
        try d(2, &columns.times); try d(4, &columns.imports); try d(5, &columns.events)
        try d(6, &columns.channels); try d(7, &columns.stages); try d(8, &columns.kinds); try d(9, &columns.campaigns)
        try d(10, &columns.devices); try d(11, &columns.sources); try d(12, &columns.onlines)
        columns.values = try ColumnCodec.decodeDoubles(st.blob(13), count: n, picking: ranges)
        try d(14, &columns.merged)
        let propOffsets: [Int32] = try ColumnCodec.decode(st.blob(15))
        let propCount = try ColumnCodec.count(st.blob(16))
        guard propOffsets.count == n + 1, propOffsets.first == 0, propOffsets.last.map(Int.init) == propCount,
              zip(propOffsets, propOffsets.dropFirst()).allSatisfy({ $0 <= $1 }) else { throw ChunkChecksums.damaged }
        var byteRanges: [Range<Int>] = []
        for range in ranges {
            for i in range { columns.propOffsets.append(columns.propOffsets[columns.propOffsets.count - 1] + propOffsets[i + 1] - propOffsets[i]) }
            byteRanges.append(Int(propOffsets[range.lowerBound])..<Int(propOffsets[range.upperBound]))
        }
        columns.propBytes = try ColumnCodec.decode(st.blob(16), count: propCount, picking: byteRanges)
        guard isWhole else { throw ChunkChecksums.damaged }
    }

    /// Every column's length agrees with the others and every offset lies in its column.
    private var isWhole: Bool {
        let c = columns, n = c.times.count
        guard offsets.count == ids.count + 1, offsets.first == 0, offsets.last.map(Int.init) == n,
              zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else { return false }
        for count in [c.imports.count, c.events.count, c.channels.count, c.stages.count, c.kinds.count, c.campaigns.count,
                      c.devices.count, c.sources.count, c.onlines.count, c.values.count, c.merged.count] where count != n { return false }
        return c.propOffsets.count == n + 1 && c.propOffsets.first == 0 && c.propOffsets.last.map(Int.init) == c.propBytes.count
            && zip(c.propOffsets, c.propOffsets.dropFirst()).allSatisfy { $0 <= $1 }
    }

    /// The row's BLOBs in chunk format 2, in `columnList` order.
    func encoded() -> [[UInt8]] {
        let c = columns
        return [ColumnCodec.encode(ids), ColumnCodec.encode(offsets), ColumnCodec.encode(c.times), [],
                ColumnCodec.encode(c.imports), ColumnCodec.encode(c.events), ColumnCodec.encode(c.channels),
                ColumnCodec.encode(c.stages), ColumnCodec.encode(c.kinds), ColumnCodec.encode(c.campaigns),
                ColumnCodec.encode(c.devices), ColumnCodec.encode(c.sources), ColumnCodec.encode(c.onlines),
                ColumnCodec.encode(c.values), ColumnCodec.encode(c.merged), ColumnCodec.encode(c.propOffsets),
                ColumnCodec.encode(c.propBytes)]
    }
}
