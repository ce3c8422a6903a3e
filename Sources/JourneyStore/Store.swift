import CSQLite
import Foundation
import JourneyCore

/// A failure a user can cause with a store: the message names the file.
public struct StoreError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What the welcome line and `stats` show first.
public struct StoreSummary: Sendable {
    public var customers: Int
    public var accounts: Int
    public var events: Int
    public var first: Int64?
    public var last: Int64?
}

/// An indexed journey event store in one SQLite file.
public final class Store {
    /// A test seam: runs after a load has read the chunk list and before its connections read the chunks (the
    /// tests commit an import there, from another connection, to prove a load never mixes two states).
    var afterChunkList: (() -> Void)?
    /// Asked between chunks while the journeys load and while the quality report reads: true stops with
    /// `QueryCancelled` (Ctrl-C in the shell).
    public var isCancelled: () -> Bool = { false } { didSet { let c = isCancelled; db.interruptWhen(c) } }
    /// `sums` when the chunks carry checksums (`ChunkChecksums`); `NULL` in an older store opened read-only.
    /// Opened without the WAL's shared memory (see `Database.init`); the loader's connections open alike.
    let immutable: Bool
    lazy var sumsColumn: String = (try? db.scalarInt("SELECT count(*) FROM pragma_table_info('chunks') WHERE name = 'sums'")) == 1 ? "sums" : "NULL"
    public let path: String
    public private(set) var readOnly: Bool
    let db: Database
    /// Customers per packed chunk (by id range).
    static let chunkSize: Int64 = 16384

    /// Opens `path`, creating an empty store when the file is missing and `create` is set.
    public init(path: String, create: Bool = true) throws {
        self.path = path
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: path, isDirectory: &isDir)
        if isDir.boolValue { throw StoreError("\(path): is a directory, not a store file") }
        if !exists && !create { throw StoreError("\(path): no such store") }
        if exists, let h = FileHandle(forReadingAtPath: path) {
            let head = h.readData(ofLength: 16)
            try? h.close()
            if !head.isEmpty && !Data("SQLite format 3\0".utf8).starts(with: head) && !head.starts(with: Data("SQLite format 3\0".utf8)) {
                throw StoreError("\(path): not a journey store (the file is not an SQLite database)")
            }
        }
        // Read-only when we may not write it, or when it is marked read-only (no write bit), which root honours too.
        var ro = false
        var st = stat()
        if exists && (access(path, W_OK) != 0 || (stat(path, &st) == 0 && st.st_mode & 0o222 == 0)) { ro = true }
        if !exists {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty && access(dir, W_OK) != 0 { throw StoreError("\(path): cannot create the store (directory not writable)") }
        }
        // Read-only in a directory we cannot create the WAL's -shm file in, and no -wal to read: immutable.
        let dir = (path as NSString).deletingLastPathComponent
        immutable = ro && access(dir.isEmpty ? "." : dir, W_OK) != 0 && !fm.fileExists(atPath: path + "-wal") && !fm.fileExists(atPath: path + "-shm")
        do {
            db = try Database(path: path, readOnly: ro, immutable: immutable)
        } catch let e as SQLiteError {
            throw StoreError("\(path): cannot open the store: \(e.description)")
        }
        readOnly = ro
        try checkSchema()
    }

    private func checkSchema() throws {
        let hasMeta: Bool
        do {
            hasMeta = try db.scalarInt("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'") > 0
        } catch let e as SQLiteError {
            if e.isNotADatabase { throw StoreError("\(path): not a journey store (the file is not an SQLite database)") }
            throw StoreError("\(path): \(e.description)")
        }
        if !hasMeta {
            let tables = try db.scalarInt("SELECT count(*) FROM sqlite_master")
            if tables > 0 { throw StoreError("\(path): an SQLite database, but not a journey store (it has no journey schema)") }
            if readOnly { throw StoreError("\(path): the store is empty and read-only, so it cannot be initialized") }
            try initialize()
            return
        }
        let v = Int64(try db.scalarText("SELECT value FROM meta WHERE key='schema_version'") ?? "0") ?? 0
        if v > Schema.version {
            throw StoreError("\(path): written by a newer journey (store schema version \(v); this journey reads version \(Schema.version) and older). Upgrade journey to open it.")
        }
        // WAL with synchronous=NORMAL: a killed process loses nothing committed; only a power cut can lose the last commits.
        if !readOnly { try db.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL") }
        // Stores from before touchpoint costs gain the column (an empty one: no costs until a catalog gives them).
        if !readOnly, try !touchpointsHaveCost() { try db.execute("ALTER TABLE touchpoints ADD COLUMN cost REAL") }
        // Stores from before chunk checksums gain the column (their chunks are checked from their next rewrite).
        if !readOnly, try db.scalarInt("SELECT count(*) FROM pragma_table_info('chunks') WHERE name = 'sums'") == 0 {
            try db.execute("ALTER TABLE chunks ADD COLUMN sums BLOB")
        }
        // A test hook for a full disk where no small file system can be mounted: at most N pages (SQLITE_FULL after).
        if !readOnly, let n = ProcessInfo.processInfo.environment["JOURNEY_TEST_MAX_PAGES"].flatMap(Int.init) {
            try db.execute("PRAGMA max_page_count = \(n)")
        }
        try db.execute("PRAGMA cache_size = -16384")   // 16 MiB: the customer index and small tables (chunks are read by the loader's own connections)
    }

    private func initialize() throws {
        try db.execute(Schema.pragmas)
        try db.transaction {
            try db.execute(Schema.create)
            try db.execute("INSERT OR REPLACE INTO meta VALUES('schema_version', '\(Schema.version)'), ('dedup_tolerance_ms', '60000')")
            let st = try db.prepare("INSERT OR IGNORE INTO stages(ord, name) VALUES(?, ?)")
            for (i, s) in Schema.defaultStages.enumerated() { try st.bind([.int(Int64(i)), .text(s)]); try st.run() }
            let al = try db.prepare("INSERT OR IGNORE INTO aliases VALUES(?, ?, ?)")
            for (d, a, c) in Schema.defaultAliases { try al.bind([.text(d), .text(a), .text(c)]); try al.run() }
        }
    }

    func requireWritable() throws {
        if readOnly { throw StoreError("\(path): the store is read-only (no write permission); nothing was changed") }
    }

    /// How the chunks' columns are stored: 1 raw arrays, 2 encoded (`ColumnCodec`). The schema version; read
    /// it inside the transaction that reads the chunks (an import may upgrade the store between two reads).
    func chunkFormat() throws -> Int { Int(try meta("schema_version") ?? "1") ?? 1 }

    func meta(_ key: String) throws -> String? { try db.scalarText("SELECT value FROM meta WHERE key=?", [.text(key)]) }
    func setMeta(_ key: String, _ value: String) throws {
        let st = try db.prepare("INSERT OR REPLACE INTO meta VALUES(?, ?)")
        try st.bind([.text(key), .text(value)]); try st.run()
    }

    // MARK: Reading

    public func summary() throws -> StoreSummary { try consistently { try summaryInSnapshot() } }

    private func summaryInSnapshot() throws -> StoreSummary {
        let chunks = try ChunkTails.chunkList(db)
        let customers = chunks.reduce(0) { $0 + $1.customers }, events = chunks.reduce(0) { $0 + $1.events - $1.merged }
        let accounts = Int(try db.scalarInt("SELECT count(*) FROM accounts"))
        let r = try db.prepare(try ChunkTails.exist(db)
            ? "SELECT min(a), max(b) FROM (SELECT min_ts AS a, max_ts AS b FROM chunks UNION ALL SELECT min_ts, max_ts FROM tails WHERE stored > 0)"
            : "SELECT min(min_ts), max(max_ts) FROM chunks")
        var first: Int64?, last: Int64?
        if try r.step(), !r.isNull(0) { first = r.int(0); last = r.int(1) }
        return StoreSummary(customers: customers, accounts: accounts, events: events, first: first, last: last)
    }

    /// The stage order, dictionary names and attribute names.
    public func catalog() throws -> Catalog {
        var c = Catalog()
        let st = try db.prepare("SELECT name FROM stages ORDER BY ord")
        while try st.step() { c.stages.append(st.text(0) ?? "") }
        func names(_ domain: String) throws -> [String] {
            let n = Int(try db.scalarInt("SELECT coalesce(max(code),0) FROM dictionary WHERE domain=?", [.text(domain)]))
            var out = [String](repeating: "", count: n + 1)
            let q = try db.prepare("SELECT code, name FROM dictionary WHERE domain=?")
            try q.bind([.text(domain)])
            while try q.step() { out[Int(q.int(0))] = q.text(1) ?? "" }
            return out
        }
        c.events = try names("event")
        c.eventCosts = try eventCosts(events: c.events.count)
        c.channels = try names("channel")
        c.campaigns = try names("campaign")
        c.devices = try names("device")
        c.sources = try names("source")
        c.properties = try names("property").filter { !$0.isEmpty }
        c.customerAttributes = ["segment", "status", "industry", "company_size", "country", "first_contact", "account"]
        // Free attributes: recorded at import (a store from before that is scanned once and recorded when writable).
        let extra: [String]
        if let kept = try meta("customer_attrs") { extra = kept.split(separator: "\n").map(String.init) }
        else {
            extra = try Self.scanCustomerAttributes(db)
            if !readOnly { try? setMeta("customer_attrs", extra.joined(separator: "\n")) }
        }
        for k in extra where !c.customerAttributes.contains(k) { c.customerAttributes.append(k) }
        return c
    }

    /// The keys of the customers' free attributes (JSON `attrs`), at most 200.
    static func scanCustomerAttributes(_ db: Database) throws -> [String] {
        let st = try db.prepare("SELECT DISTINCT j.key FROM customers, json_each(customers.attrs) j WHERE customers.attrs IS NOT NULL LIMIT 200")
        var out: [String] = []
        while try st.step() { if let k = st.text(0) { out.append(k) } }
        return out
    }

    func touchpointsHaveCost() throws -> Bool {
        try db.scalarInt("SELECT count(*) FROM pragma_table_info('touchpoints') WHERE name = 'cost'") > 0
    }

    /// What one touch of each event costs, by event code (0 where the catalog gives none).
    func eventCosts(events: Int) throws -> [Double] {
        var costs = [Double](repeating: 0, count: events)
        guard try touchpointsHaveCost() else { return costs }
        let st = try db.prepare("SELECT d.code, t.cost FROM touchpoints t JOIN dictionary d ON d.domain = 'event' AND d.name = t.event WHERE t.cost IS NOT NULL")
        while try st.step() {
            let code = Int(st.int(0))
            if code >= 0 && code < costs.count { costs[code] = st.double(1) }
        }
        return costs
    }

    /// What the touchpoint catalog fills in for events whose rows left stage, channel or kind empty: by event
    /// code, 0 where it gives nothing.
    func touchpointFill() throws -> TouchpointFill {
        let tp = try db.prepare("""
            SELECT d.code, coalesce((SELECT ord + 1 FROM stages WHERE name = t.stage), 0),
                   coalesce((SELECT code FROM dictionary WHERE domain = 'channel' AND name = t.channel), 0),
                   CASE t.kind WHEN 'paid' THEN 1 WHEN 'owned' THEN 2 WHEN 'earned' THEN 3 ELSE 0 END
            FROM touchpoints t JOIN dictionary d ON d.domain = 'event' AND d.name = t.event
            """)
        var fill = TouchpointFill()
        while try tp.step() {
            let code = Int(tp.int(0))
            if fill.stage.count <= code {
                let more = code + 1 - fill.stage.count
                fill.stage += [UInt8](repeating: 0, count: more); fill.channel += [UInt16](repeating: 0, count: more)
                fill.kind += [UInt8](repeating: 0, count: more)
            }
            fill.stage[code] = UInt8(tp.int(1)); fill.channel[code] = UInt16(tp.int(2)); fill.kind[code] = UInt8(tp.int(3))
        }
        return fill
    }

    /// Each chunk's stored columns (merged events included), for the quality report.
    func forEachChunk(_ body: (ChunkData) throws -> Void) throws {
        try db.readTransaction {
            let format = try chunkFormat()
            for c in try ChunkTails.chunkList(db) {
                guard let d = try ChunkTails.read(db, chunk: c.chunk, format: format, sumsColumn: sumsColumn) else { continue }
                try body(d)
            }
        }
    }

    /// Customer attributes for journey-level filters and breakdowns, indexed like `customerIDs`.
    public func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] {
        let column: String
        switch name {
        case "segment", "status", "industry", "country": column = "c.\(name)"
        case "company_size": column = "CAST(c.company_size AS TEXT)"
        case "first_contact": return try firstContact(for: ids)
        case "account": column = "a.key"
        case "customer_id", "id": column = "c.key"
        default:
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw StoreError("bad attribute name '\(name)'") }
            column = "json_extract(c.attrs, '$.\(name)')"
        }
        return try perCustomer("SELECT c.id, \(column) FROM customers c LEFT JOIN accounts a ON a.id = c.account", ids: ids, missing: nil) { $0.text(1) }
    }

    /// First contact: the customer master data's date, else the customer's first event (`YYYY-MM-DD`).
    func firstContact(for ids: [Int64]) throws -> [String?] {
        var map: [Int64: Int64] = [:]
        try forEachChunk { d in
            for (k, id) in d.ids.enumerated() where d.offsets[k + 1] > d.offsets[k] { map[id] = d.columns.times[Int(d.offsets[k])] }
        }
        let m = try db.prepare("SELECT id, first_contact FROM customers WHERE first_contact IS NOT NULL")
        while try m.step() { map[m.int(0)] = m.int(1) }
        return ids.map { map[$0].map { UTC.format(ms: $0, dateOnly: true) } }
    }

    /// Account attribute for customers (account.size, account.industry, ...).
    public func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] {
        let column: String
        switch name {
        case "name", "industry", "country": column = "a.\(name)"
        case "size": column = "CAST(a.size AS TEXT)"
        case "id", "key": column = "a.key"
        default:
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw StoreError("bad attribute name '\(name)'") }
            column = "json_extract(a.attrs, '$.\(name)')"
        }
        return try perCustomer("SELECT c.id, \(column) FROM customers c JOIN accounts a ON a.id = c.account", ids: ids, missing: nil) { $0.text(1) }
    }

    /// Account store id per customer (0 when none), indexed like `ids`.
    public func accounts(for ids: [Int64]) throws -> [Int64] {
        try perCustomer("SELECT id, account FROM customers WHERE account IS NOT NULL", ids: ids, missing: 0) { $0.int(1) }
    }

    /// For each customer id, its account's key, or the customer's own key when it has no account (the names of
    /// account-level rows).
    public func accountKeys(forCustomers ids: [Int64]) throws -> [String] {
        let st = try db.prepare("SELECT a.key, c.key FROM customers c LEFT JOIN accounts a ON a.id = c.account WHERE c.id = ?")
        return try ids.map { id in
            st.bindInt(id, at: 1)
            defer { st.reset() }
            return try st.step() ? st.text(0) ?? st.text(1) ?? "#\(id)" : "#\(id)"
        }
    }

    public func customerKeys(for ids: [Int64]) throws -> [String] {
        // A short list (the rows a statement shows) is looked up one by one; a long one read in one pass.
        if ids.count <= 1_000 {
            let st = try db.prepare("SELECT key FROM customers WHERE id = ?")
            return try ids.map { id in
                st.bindInt(id, at: 1)
                defer { st.reset() }
                return try st.step() ? st.text(0) ?? "#\(id)" : "#\(id)"
            }
        }
        let keys: [String?] = try perCustomer("SELECT id, key FROM customers", ids: ids, missing: nil) { $0.text(1) }
        return zip(ids, keys).map { $1 ?? "#\($0)" }
    }

    /// One value per customer id in `ids` from `sql`, whose first column is the customer id; `missing` where
    /// the query has no row. When `ids` ascend (as the loaded journeys' do) the rows, read in id order, are
    /// merged in one pass; otherwise through a dictionary.
    func perCustomer<T>(_ sql: String, ids: [Int64], missing: T, _ value: (Statement) -> T) throws -> [T] {
        let st = try db.prepare(sql + " ORDER BY 1")
        if zip(ids, ids.dropFirst()).allSatisfy({ $0 < $1 }) {
            var out = [T](repeating: missing, count: ids.count)
            var k = 0
            while k < ids.count, try st.step() {
                let id = st.int(0)
                while k < ids.count && ids[k] < id { k += 1 }
                if k < ids.count && ids[k] == id { out[k] = value(st); k += 1 }
            }
            return out
        }
        var map: [Int64: T] = [:]
        while try st.step() { map[st.int(0)] = value(st) }
        return ids.map { map[$0] ?? missing }
    }

    /// The quarantined rows, newest import first (`.quarantine`): file, line, reason, detail and the raw text.
    public func quarantine(limit: Int) throws -> (total: Int, rows: [(file: String, line: Int, reason: String, detail: String, raw: String)]) {
        let count = try db.prepare("SELECT count(*) FROM quarantine")
        let total = try count.step() ? Int(count.int(0)) : 0
        let st = try db.prepare("SELECT file, line, reason, detail, raw FROM quarantine ORDER BY rowid DESC LIMIT ?")
        try st.bind([.int(Int64(limit))])
        var rows: [(String, Int, String, String, String)] = []
        while try st.step() { rows.append((st.text(0) ?? "", Int(st.int(1)), st.text(2) ?? "", st.text(3) ?? "", st.text(4) ?? "")) }
        return (total, rows.reversed())
    }

    /// Table definitions, for `.schema`.
    public func schemaText() throws -> String {
        let st = try db.prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
        var out: [String] = []
        while try st.step() { out.append((st.text(0) ?? "") + ";") }
        return out.joined(separator: "\n")
    }
}
