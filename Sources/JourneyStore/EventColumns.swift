import Foundation

/// Every stored field of a run of events, column by column. A chunk holds these for its customers;
/// an import batch holds them for its parsed rows. Codes are dictionary codes; 0 means "none".
struct EventColumns {
    var times: [Int64] = []
    /// Fingerprint of every stored field but the customer: an exact duplicate has the same (customer, time, hash).
    var hashes: [Int64] = []
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
        times.reserveCapacity(n); hashes.reserveCapacity(n); imports.reserveCapacity(n); events.reserveCapacity(n)
        channels.reserveCapacity(n); stages.reserveCapacity(n); kinds.reserveCapacity(n); campaigns.reserveCapacity(n)
        devices.reserveCapacity(n); sources.reserveCapacity(n); onlines.reserveCapacity(n); values.reserveCapacity(n)
        merged.reserveCapacity(n); propOffsets.reserveCapacity(n + 1)
    }

    /// Appends event `i` of `other`.
    @inline(__always) mutating func append(from o: EventColumns, _ i: Int) {
        times.append(o.times[i]); hashes.append(o.hashes[i]); imports.append(o.imports[i]); events.append(o.events[i])
        channels.append(o.channels[i]); stages.append(o.stages[i]); kinds.append(o.kinds[i]); campaigns.append(o.campaigns[i])
        devices.append(o.devices[i]); sources.append(o.sources[i]); onlines.append(o.onlines[i]); values.append(o.values[i])
        merged.append(o.merged[i])
        let a = Int(o.propOffsets[i]), b = Int(o.propOffsets[i + 1])
        if b > a { propBytes.append(contentsOf: o.propBytes[a..<b]) }
        propOffsets.append(Int32(propBytes.count))
    }

    mutating func removeAll() {
        times.removeAll(keepingCapacity: true); hashes.removeAll(keepingCapacity: true); imports.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true); channels.removeAll(keepingCapacity: true); stages.removeAll(keepingCapacity: true)
        kinds.removeAll(keepingCapacity: true); campaigns.removeAll(keepingCapacity: true); devices.removeAll(keepingCapacity: true)
        sources.removeAll(keepingCapacity: true); onlines.removeAll(keepingCapacity: true); values.removeAll(keepingCapacity: true)
        merged.removeAll(keepingCapacity: true); propOffsets.removeAll(keepingCapacity: true); propOffsets.append(0)
        propBytes.removeAll(keepingCapacity: true)
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
    static let columnList = "ids, offsets, times, hashes, imports, codes, channels, stages, kinds, campaigns, devices, sources, onlines, vals, mflags, prop_offsets, props"

    /// Reads a chunk row's BLOBs, starting at result column `first` (in `columnList` order).
    init(_ st: Statement, first: Int32) {
        func read<T>(_ col: Int32, _ into: inout [T]) {
            let b = st.blob(first + col)
            let n = b.count / MemoryLayout<T>.stride
            into.removeAll(keepingCapacity: true)
            if n > 0, let base = b.baseAddress {
                into.append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: T.self), count: n))
            }
        }
        read(0, &ids); read(1, &offsets)
        read(2, &columns.times); read(3, &columns.hashes); read(4, &columns.imports); read(5, &columns.events)
        read(6, &columns.channels); read(7, &columns.stages); read(8, &columns.kinds); read(9, &columns.campaigns)
        read(10, &columns.devices); read(11, &columns.sources); read(12, &columns.onlines); read(13, &columns.values)
        read(14, &columns.merged); read(15, &columns.propOffsets); read(16, &columns.propBytes)
        if columns.propOffsets.isEmpty { columns.propOffsets = [0] }
        if offsets.isEmpty { offsets = [0] }
    }

    /// Checks a row of `SELECT columnList, sums` against its checksums and its sizes against each other.
    static func verify(_ st: Statement) throws {
        let names = ChunkChecksums.names
        try ChunkChecksums.check(st, names, first: 0, sumsColumn: Int32(names.count))
        let ids = st.blob(0).count / 8, offsets = st.blob(1).count / 4, events = st.blob(2).count / 8
        guard offsets == ids + 1 || (ids == 0 && offsets <= 1) else { throw ChunkChecksums.damaged }
        // hashes, imports, codes, channels, stages, kinds, campaigns, vals, mflags: one value per event each.
        for (col, width): (Int32, Int) in [(3, 8), (4, 4), (5, 4), (6, 2), (7, 1), (8, 1), (9, 4), (13, 8), (14, 1)] {
            guard st.blob(col).count == events * width else { throw ChunkChecksums.damaged }
        }
    }

    /// Binds the BLOBs as parameters starting at `first` (in `columnList` order).
    func bind(_ st: Statement, first: Int32) {
        func put<T>(_ col: Int32, _ a: [T]) { a.withUnsafeBytes { st.bindBytes($0, at: first + col) } }
        put(0, ids); put(1, offsets)
        put(2, columns.times); put(3, columns.hashes); put(4, columns.imports); put(5, columns.events)
        put(6, columns.channels); put(7, columns.stages); put(8, columns.kinds); put(9, columns.campaigns)
        put(10, columns.devices); put(11, columns.sources); put(12, columns.onlines); put(13, columns.values)
        put(14, columns.merged); put(15, columns.propOffsets); put(16, columns.propBytes)
    }
}
