/// Events imported after a chunk was written go into its *tails* (table `tails`), so an import costs what it
/// adds, not the size of the chunks it touches: a tail row holds, for each customer one import touched, that
/// customer's whole new event list (every column, as in a chunk). Reading a chunk applies its tails in order,
/// each list replacing the customer's earlier one. An import folds a chunk's tails back into it once they hold
/// a quarter as many events as the chunk (`ChunkWriter`), so reading stays close to one row per chunk and the
/// rewrite is paid once per quarter of new data.
///
/// A tail row also carries what it changes in the chunk's totals (customers, events, merged), so the loader
/// knows where every chunk lands before reading any of them.
enum ChunkTails {
    static let create = """
    CREATE TABLE IF NOT EXISTS tails(
        chunk INTEGER NOT NULL, part INTEGER NOT NULL,
        customers INTEGER NOT NULL, events INTEGER NOT NULL, merged INTEGER NOT NULL, stored INTEGER NOT NULL,
        min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL,
        \(ChunkData.columnList.replacingOccurrences(of: ",", with: " BLOB,")) BLOB, sums BLOB,
        PRIMARY KEY(chunk, part));
    """

    /// Whether the store has the table (stores from before 2026-12-03 gain it with their next import).
    static func exist(_ db: Database) throws -> Bool {
        try db.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tails'") > 0
    }

    /// Every chunk with its totals after its tails, in chunk order: `tails` = how many it has.
    static func chunkList(_ db: Database) throws -> [(chunk: Int64, customers: Int, events: Int, merged: Int, tails: Int)] {
        let sql = try exist(db) ? """
            SELECT c.chunk, c.customers + coalesce(t.customers, 0), c.events + coalesce(t.events, 0),
                   c.merged + coalesce(t.merged, 0), coalesce(t.n, 0)
            FROM chunks c LEFT JOIN (SELECT chunk, sum(customers) AS customers, sum(events) AS events, sum(merged) AS merged,
                                            count(*) AS n FROM tails GROUP BY chunk) t ON t.chunk = c.chunk
            ORDER BY c.chunk
            """ : "SELECT chunk, customers, events, merged, 0 FROM chunks ORDER BY chunk"
        let st = try db.prepare(sql)
        var out: [(Int64, Int, Int, Int, Int)] = []
        while try st.step() { out.append((st.int(0), Int(st.int(1)), Int(st.int(2)), Int(st.int(3)), Int(st.int(4)))) }
        return out
    }

    /// One chunk with its tails applied, read through `db` (any connection), checked against its checksums.
    /// `only`: just these customers (sorted ids; format 2) — the tails may add others.
    static func read(_ db: Database, chunk: Int64, format: Int, sumsColumn: String, only: [Int64]? = nil) throws -> ChunkData? {
        let st = try db.prepare("SELECT \(ChunkData.columnList), \(sumsColumn) FROM chunks WHERE chunk = ?")
        st.bindInt(chunk, at: 1)
        guard try st.step() else { return nil }
        var d = try only.map { try ChunkData(st, only: $0) } ?? ChunkData(st, format: format)
        guard try exist(db) else { return d }
        let t = try db.prepare("SELECT \(ChunkData.columnList), sums FROM tails WHERE chunk = ? ORDER BY part")
        t.bindInt(chunk, at: 1)
        while try t.step() { d = d.applying(try ChunkData(t, format: format)) }
        return d
    }
}

extension ChunkTails {
    /// A chunk's tails laid over each other: the latest list of each customer they hold, empty lists kept (they
    /// take a customer out).
    static func overlay(_ db: Database, chunk: Int64, format: Int) throws -> ChunkData {
        let t = try db.prepare("SELECT \(ChunkData.columnList), sums FROM tails WHERE chunk = ? ORDER BY part")
        t.bindInt(chunk, at: 1)
        var out = ChunkData()
        while try t.step() { out = out.applying(try ChunkData(t, format: format), keepingEmpty: true) }
        return out
    }
}

extension ChunkData {
    /// This chunk with `tail`'s customers' event lists in place of their earlier ones (a customer new to the
    /// chunk joins it in id order; an empty list takes the customer out, or stays as that with `keepingEmpty`).
    /// Copied a run of customers at a time.
    func applying(_ tail: ChunkData, keepingEmpty: Bool = false) -> ChunkData {
        var out = ChunkData()
        out.columns.reserve(columns.count + tail.columns.count)
        var a = 0, b = 0
        while a < ids.count || b < tail.ids.count {
            let ida = a < ids.count ? ids[a] : Int64.max, idb = b < tail.ids.count ? tail.ids[b] : Int64.max
            if idb <= ida {
                if ida == idb { a += 1 }
                out.append(tail, customers: b..<(b + 1), keepingEmpty: keepingEmpty); b += 1
            } else {
                // Customers up to the tail's next one, in one run.
                var end = a + 1
                while end < ids.count && ids[end] < idb { end += 1 }
                out.append(self, customers: a..<end, keepingEmpty: keepingEmpty); a = end
            }
        }
        return out
    }

    /// Appends customers `ks` of `d` (their ids, offsets and events), leaving out those without events unless
    /// `keepingEmpty`.
    mutating func append(_ d: ChunkData, customers ks: Range<Int>, keepingEmpty: Bool = false) {
        guard !ks.isEmpty else { return }
        let lo = Int(d.offsets[ks.lowerBound]), hi = Int(d.offsets[ks.upperBound])
        let shift = Int32(columns.count) - Int32(lo)
        columns.append(from: d.columns, lo..<hi)
        for k in ks where keepingEmpty || d.offsets[k + 1] > d.offsets[k] { ids.append(d.ids[k]); offsets.append(d.offsets[k + 1] + shift) }
    }
}
