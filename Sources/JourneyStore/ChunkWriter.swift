import Foundation

/// Merges batches of new events into the stored chunks, inside the caller's transaction.
///
/// Per customer the result is ordered by time; at equal times stored events come first, then new ones in
/// file order (ties keep import order). A new event equal to one already there (same customer, time and every
/// stored field) is dropped and counted; the same event and channel from another source within the tolerance
/// of a kept event is flagged `merged`. The touched customers' new lists go into a tail of their chunk
/// (`ChunkTails`), or the chunk is written whole when it is new or its tails have grown to a quarter of it.
final class ChunkWriter {
    let db: Database
    let tolerance: Int64
    let importID: UInt32
    private let sumsColumn: String
    private let writeStatement: Statement
    private let deleteStatement: Statement
    private let tailStatement: Statement
    private let tailSizes: Statement
    private let deleteTails: Statement

    struct Outcome { var stored = 0, duplicates = 0, alreadyStored = 0, crossSource = 0, chunks = 0 }

    /// A chunk's tails are folded into it when they would hold more than 1/`foldShare` of its events (the tests
    /// set 0, never, and a large number, always, to compare both ways).
    nonisolated(unsafe) static var foldShare = 4

    init(store: Store, importID: UInt32) throws {
        db = store.db
        tolerance = Int64(try store.meta("dedup_tolerance_ms") ?? "60000") ?? 60000
        self.importID = importID
        sumsColumn = store.sumsColumn
        if try !ChunkTails.exist(db) { try db.execute(ChunkTails.create) }
        writeStatement = try db.prepare("""
            INSERT OR REPLACE INTO chunks(chunk, customers, events, merged, min_ts, max_ts, \(ChunkData.columnList), sums)
            VALUES(?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, ?)
            """)
        deleteStatement = try db.prepare("DELETE FROM chunks WHERE chunk = ?")
        tailStatement = try db.prepare("""
            INSERT INTO tails(chunk, part, customers, events, merged, stored, min_ts, max_ts, \(ChunkData.columnList), sums)
            VALUES(?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, ?)
            """)
        tailSizes = try db.prepare("""
            SELECT c.events, coalesce((SELECT sum(stored) FROM tails WHERE chunk = ?1), 0),
                   coalesce((SELECT max(part) FROM tails WHERE chunk = ?1), 0)
            FROM chunks c WHERE c.chunk = ?1
            """)
        deleteTails = try db.prepare("DELETE FROM tails WHERE chunk = ?")
        try upgrade(store)
    }

    /// A store of schema version 1 (chunk columns as raw arrays) is rewritten in version 2 (encoded, a fifth of
    /// the size) before anything is written to it, in one transaction: a store is never half upgraded.
    private func upgrade(_ store: Store) throws {
        func rewrite() throws {
            guard try store.chunkFormat() < 2 else { return }
            for chunk in try ChunkTails.chunkList(db).map(\.chunk) {
                if let d = try ChunkTails.read(db, chunk: chunk, format: 1, sumsColumn: sumsColumn) { try write(chunk, d) }
            }
            try store.setMeta("schema_version", "\(Schema.version)")
        }
        guard try store.chunkFormat() < 2 else { return }
        if db.inTransaction { try rewrite() } else { try db.transaction(rewrite) }
    }

    /// A stored chunk with its tails, checked (a damaged chunk is not merged into: its garbage would be written
    /// back with a fresh checksum).
    func read(_ chunk: Int64, only: [Int64]? = nil) throws -> ChunkData? {
        try ChunkTails.read(db, chunk: chunk, format: Int(Schema.version), sumsColumn: sumsColumn, only: only)
    }

    /// The chunks this writer wrote whole.
    private var writtenWhole: Set<Int64> = []

    /// Writes a chunk whole (its tails folded in, so they go).
    func write(_ chunk: Int64, _ d: ChunkData) throws {
        writtenWhole.insert(chunk)
        deleteTails.bindInt(chunk, at: 1)
        try deleteTails.run()
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

    /// Stores the new event lists of the customers one batch touched in `chunk` (whose stored state of those
    /// customers, tails applied, is `existing`): as a tail, or the chunk whole when it is new or its tails would
    /// pass a quarter of it (then it is read whole).
    private func store(_ touched: ChunkData, in chunk: Int64, existing: ChunkData?) throws {
        guard let existing else { return try write(chunk, touched) }
        tailSizes.bindInt(chunk, at: 1)
        defer { tailSizes.reset() }
        let fold = { try self.write(chunk, (try self.read(chunk) ?? ChunkData()).applying(touched)) }
        // A chunk this import wrote whole (a batch boundary fell inside it) is written whole again: the rewrite
        // is paid for by this import's own events, and a fresh store has no tails.
        if writtenWhole.contains(chunk) { return try fold() }
        guard try tailSizes.step() else { return try fold() }
        let baseEvents = Int(tailSizes.int(0)), inTails = Int(tailSizes.int(1)), part = tailSizes.int(2) + 1
        tailSizes.reset()
        // Also after 16 tails (tails that only take customers out hold no events, but each is a row to read).
        if (inTails + touched.columns.count) * Self.foldShare > baseEvents || (part > 16 && Self.foldShare > 0) { return try fold() }
        // What the tail changes in the chunk's totals.
        var customers = 0, events = 0, merged = 0
        var e = 0
        for (k, id) in touched.ids.enumerated() {
            let n = Int(touched.offsets[k + 1] - touched.offsets[k])
            let m = (Int(touched.offsets[k])..<Int(touched.offsets[k + 1])).reduce(0) { $0 + Int(touched.columns.merged[$1]) }
            while e < existing.ids.count && existing.ids[e] < id { e += 1 }
            if e < existing.ids.count && existing.ids[e] == id {
                let range = Int(existing.offsets[e])..<Int(existing.offsets[e + 1])
                events += n - range.count
                merged += m - range.reduce(0) { $0 + Int(existing.columns.merged[$1]) }
                if n == 0 { customers -= 1 }
            } else if n > 0 { customers += 1; events += n; merged += m }
        }
        let st = tailStatement
        st.bindInt(chunk, at: 1); st.bindInt(part, at: 2); st.bindInt(Int64(customers), at: 3); st.bindInt(Int64(events), at: 4)
        st.bindInt(Int64(merged), at: 5); st.bindInt(Int64(touched.columns.count), at: 6)
        st.bindInt(touched.columns.times.min() ?? 0, at: 7); st.bindInt(touched.columns.times.max() ?? 0, at: 8)
        let blobs = touched.encoded()
        for (k, b) in blobs.enumerated() { b.withUnsafeBytes { st.bindBytes($0, at: 9 + Int32(k)) } }
        ChunkChecksums.sums(blobs).withUnsafeBytes { st.bindBytes($0, at: 26) }
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
            // Only the customers this batch touches are read (a small file into a large store reads little).
            var wanted: [Int64] = []
            for k in g..<gEnd where wanted.last != customers[order[k]] { wanted.append(customers[order[k]]) }
            let existing = try read(chunk, only: wanted)
            let stored = existing ?? ChunkData()
            // Each touched customer's whole new list: its stored events and the batch's, merged.
            var touched = ChunkData()
            var ei = 0, bi = g
            while bi < gEnd {
                let id = customers[order[bi]]
                let start = touched.columns.count
                while ei < stored.ids.count && stored.ids[ei] < id { ei += 1 }
                var ea = 0, eb = 0
                if ei < stored.ids.count && stored.ids[ei] == id { ea = Int(stored.offsets[ei]); eb = Int(stored.offsets[ei + 1]) }
                var bj = bi
                while bj < gEnd && customers[order[bj]] == id { bj += 1 }
                let storedBefore = out.stored
                // Merge by time: stored events first at equal times.
                var e = ea, b = bi
                while e < eb || b < bj {
                    let takeExisting = b >= bj || (e < eb && stored.columns.times[e] <= batch.times[order[b]])
                    if takeExisting {
                        touched.columns.append(from: stored.columns, e); e += 1
                        continue
                    }
                    let k = order[b]; b += 1
                    // Exact duplicate: same time and every stored field among this customer's events so far (stored
                    // ones at an equal time were taken first, so they are all behind us).
                    var j = touched.columns.count - 1, dupOf: Int? = nil
                    while j >= start && touched.columns.times[j] == batch.times[k] {
                        if touched.columns.sameFields(j, as: batch, k) { dupOf = j; break }
                        j -= 1
                    }
                    if let d = dupOf {
                        if touched.columns.imports[d] == importID { out.duplicates += 1 } else { out.alreadyStored += 1 }
                        continue
                    }
                    touched.columns.append(from: batch, k)
                    out.stored += 1
                }
                bi = bj
                // Nothing new (every event of the batch was there already): the customer's list stays as it is.
                if out.stored == storedBefore { touched.columns.removeLast(touched.columns.count - start); continue }
                out.crossSource += flagCrossSource(&touched.columns, start, touched.columns.count)
                touched.ids.append(id)
                touched.offsets.append(Int32(touched.columns.count))
            }
            if !touched.ids.isEmpty { try store(touched, in: chunk, existing: existing) }
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

    /// Moves every event of each `from` customer onto its `to` customer (identity stitching): the `from`
    /// customers leave their chunks (a tail with their lists empty, or the chunk rewritten), then one merge puts
    /// the events in.
    func rehome(_ moves: [(from: Int64, to: Int64)]) throws -> Outcome {
        let target = Dictionary(moves.map { ($0.from, $0.to) }, uniquingKeysWith: { a, _ in a })
        var moved = EventColumns(), owners: [Int64] = []
        let byChunk = Dictionary(grouping: target.keys, by: { $0 / Store.chunkSize })
        for chunk in byChunk.keys.sorted() {
            guard let d = try read(chunk, only: byChunk[chunk, default: []].sorted()) else { continue }
            var leaving = ChunkData()
            for (k, id) in d.ids.enumerated() {
                guard let to = target[id] else { continue }
                for i in Int(d.offsets[k])..<Int(d.offsets[k + 1]) { moved.append(from: d.columns, i); owners.append(to) }
                leaving.ids.append(id); leaving.offsets.append(0)
            }
            if !leaving.ids.isEmpty { try store(leaving, in: chunk, existing: d) }
        }
        return try merge(moved, customers: owners)
    }
}
