import Foundation

/// Merges batches of new events into the stored chunks, inside the caller's transaction.
///
/// Per customer the result is ordered by time; at equal times stored events come first, then new ones in
/// file order (ties keep import order). A new event equal to one already there (same customer, time and
/// fingerprint) is dropped and counted; the same event and channel from another source within the tolerance
/// of a kept event is flagged `merged`.
final class ChunkWriter {
    let db: Database
    let tolerance: Int64
    let importID: UInt32
    private let readStatement: Statement
    private let writeStatement: Statement
    private let deleteStatement: Statement

    struct Outcome { var stored = 0, duplicates = 0, alreadyStored = 0, crossSource = 0, chunks = 0 }

    init(store: Store, importID: UInt32) throws {
        db = store.db
        tolerance = Int64(try store.meta("dedup_tolerance_ms") ?? "60000") ?? 60000
        self.importID = importID
        readStatement = try db.prepare("SELECT \(ChunkData.columnList), \(store.sumsColumn) FROM chunks WHERE chunk = ?")
        writeStatement = try db.prepare("""
            INSERT OR REPLACE INTO chunks(chunk, customers, events, merged, min_ts, max_ts, \(ChunkData.columnList), sums)
            VALUES(?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, ?)
            """)
        deleteStatement = try db.prepare("DELETE FROM chunks WHERE chunk = ?")
        try upgrade(store)
    }

    /// A store of schema version 1 (chunk columns as raw arrays) is rewritten in version 2 (encoded, a quarter
    /// of the size) before anything is written to it: in one transaction, so a store is never half upgraded.
    private func upgrade(_ store: Store) throws {
        func rewrite() throws {
            guard try store.chunkFormat() < 2 else { return }
            var chunks: [Int64] = []
            let list = try db.prepare("SELECT chunk FROM chunks ORDER BY chunk")
            while try list.step() { chunks.append(list.int(0)) }
            for chunk in chunks {
                if let d = try read(chunk, format: 1) { try write(chunk, d) }
            }
            try store.setMeta("schema_version", "\(Schema.version)")
        }
        if db.inTransaction { try rewrite() } else { try db.transaction(rewrite) }
    }

    /// A stored chunk, checked (a damaged chunk is not merged into: its garbage would be written back with a
    /// fresh checksum).
    func read(_ chunk: Int64, format: Int = Int(Schema.version)) throws -> ChunkData? {
        readStatement.bindInt(chunk, at: 1)
        defer { readStatement.reset() }
        guard try readStatement.step() else { return nil }
        return try ChunkData(readStatement, format: format)
    }

    func write(_ chunk: Int64, _ d: ChunkData) throws {
        if d.ids.isEmpty {
            deleteStatement.bindInt(chunk, at: 1)
            try deleteStatement.run()
            return
        }
        let st = writeStatement
        st.bindInt(chunk, at: 1); st.bindInt(Int64(d.ids.count), at: 2); st.bindInt(Int64(d.columns.count), at: 3)
        st.bindInt(Int64(d.mergedCount), at: 4)
        st.bindInt(d.columns.times.min() ?? 0, at: 5); st.bindInt(d.columns.times.max() ?? 0, at: 6)
        let blobs = d.encoded()
        for (k, b) in blobs.enumerated() { b.withUnsafeBytes { st.bindBytes($0, at: 7 + Int32(k)) } }
        ChunkChecksums.sums(blobs).withUnsafeBytes { st.bindBytes($0, at: 24) }
        try st.run()
    }

    /// Merges `batch` (event `i` belongs to customer `customers[i]`) into the chunks.
    func merge(_ batch: EventColumns, customers: [Int64]) throws -> Outcome {
        var out = Outcome()
        let n = batch.count
        guard n > 0 else { return out }
        let order: [Int] = customers.withUnsafeBufferPointer { c in
            batch.times.withUnsafeBufferPointer { t in
                (0..<n).sorted { a, b in c[a] != c[b] ? c[a] < c[b] : (t[a] != t[b] ? t[a] < t[b] : a < b) }
            }
        }
        var g = 0
        while g < n {
            let chunk = customers[order[g]] / Store.chunkSize
            var gEnd = g
            while gEnd < n && customers[order[gEnd]] / Store.chunkSize == chunk { gEnd += 1 }
            let existing = try read(chunk) ?? ChunkData()
            var result = ChunkData()
            result.columns.reserve(existing.columns.count + (gEnd - g))
            var ei = 0, bi = g
            while ei < existing.ids.count || bi < gEnd {
                let eid = ei < existing.ids.count ? existing.ids[ei] : Int64.max
                let bid = bi < gEnd ? customers[order[bi]] : Int64.max
                let id = min(eid, bid)
                let start = result.columns.count
                var ea = 0, eb = 0
                if eid == id { ea = Int(existing.offsets[ei]); eb = Int(existing.offsets[ei + 1]); ei += 1 }
                var bj = bi
                if bid == id { while bj < gEnd && customers[order[bj]] == id { bj += 1 } }
                // Merge by time: stored events first at equal times.
                var e = ea, b = bi
                while e < eb || b < bj {
                    let takeExisting = b >= bj || (e < eb && existing.columns.times[e] <= batch.times[order[b]])
                    if takeExisting {
                        result.columns.append(from: existing.columns, e); e += 1
                        continue
                    }
                    let k = order[b]; b += 1
                    // Exact duplicate: same time and every stored field among this customer's events so far (stored
                    // ones at an equal time were taken first, so they are all behind us).
                    var j = result.columns.count - 1, dupOf: Int? = nil
                    while j >= start && result.columns.times[j] == batch.times[k] {
                        if result.columns.sameFields(j, as: batch, k) { dupOf = j; break }
                        j -= 1
                    }
                    if let d = dupOf {
                        if result.columns.imports[d] == importID { out.duplicates += 1 } else { out.alreadyStored += 1 }
                        continue
                    }
                    result.columns.append(from: batch, k)
                    out.stored += 1
                }
                bi = bj
                out.crossSource += flagCrossSource(&result.columns, start, result.columns.count)
                if result.columns.count > start {
                    result.ids.append(id)
                    result.offsets.append(Int32(result.columns.count))
                }
            }
            try write(chunk, result)
            out.chunks += 1
            g = gEnd
        }
        return out
    }

    /// Recomputes `merged` for one customer's events `lo..<hi`; returns how many became merged.
    private func flagCrossSource(_ c: inout EventColumns, _ lo: Int, _ hi: Int) -> Int {
        var newly = 0
        for i in lo..<hi {
            var dup = false
            if c.sources[i] != 0 {
                var j = i - 1
                while j >= lo && c.times[i] - c.times[j] <= tolerance {
                    if c.merged[j] == 0 && c.events[j] == c.events[i] && c.channels[j] == c.channels[i]
                        && c.sources[j] != 0 && c.sources[j] != c.sources[i] { dup = true; break }
                    j -= 1
                }
            }
            let flag: UInt8 = dup ? 1 : 0
            if flag != c.merged[i] {
                if dup { newly += 1 }
                c.merged[i] = flag
            }
        }
        return newly
    }

    /// Moves every event of each `from` customer onto its `to` customer (identity stitching): one rewrite per
    /// chunk to take them out, then one merge to put them in.
    func rehome(_ moves: [(from: Int64, to: Int64)]) throws -> Outcome {
        let target = Dictionary(moves.map { ($0.from, $0.to) }, uniquingKeysWith: { a, _ in a })
        var moved = EventColumns(), owners: [Int64] = []
        for chunk in Set(moves.map { $0.from / Store.chunkSize }).sorted() {
            guard let d = try read(chunk) else { continue }
            var rest = ChunkData()
            for (k, id) in d.ids.enumerated() {
                let range = Int(d.offsets[k])..<Int(d.offsets[k + 1])
                if let to = target[id] {
                    for i in range { moved.append(from: d.columns, i); owners.append(to) }
                } else {
                    for i in range { rest.columns.append(from: d.columns, i) }
                    rest.ids.append(id); rest.offsets.append(Int32(rest.columns.count))
                }
            }
            try write(chunk, rest)
        }
        return try merge(moved, customers: owners)
    }
}
