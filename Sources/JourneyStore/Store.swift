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
        var ro = false
        if exists && access(path, W_OK) != 0 { ro = true }
        if !exists {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty && access(dir, W_OK) != 0 { throw StoreError("\(path): cannot create the store (directory not writable)") }
        }
        do {
            db = try Database(path: path, readOnly: ro)
        } catch let e as SQLiteError {
            throw StoreError("\(path): cannot open the store: \(e.message)")
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
            throw StoreError("\(path): \(e.message)")
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
        if !readOnly {
            try db.execute("PRAGMA journal_mode = WAL")
            // Finish the packing an interrupted import left behind.
            if try db.scalarInt("SELECT count(*) FROM dirty_chunks") > 0 { _ = try SequencePacker(store: self).packDirty() }
        }
    }

    private func initialize() throws {
        try db.execute(Schema.create)
        try db.transaction {
            try db.execute("INSERT OR REPLACE INTO meta VALUES('schema_version', '\(Schema.version)'), ('next_seq', '1'), ('dedup_tolerance_ms', '60000')")
            let st = try db.prepare("INSERT OR IGNORE INTO stages(ord, name) VALUES(?, ?)")
            for (i, s) in Schema.defaultStages.enumerated() { try st.bind([.int(Int64(i)), .text(s)]); try st.run() }
            let al = try db.prepare("INSERT OR IGNORE INTO aliases VALUES(?, ?, ?)")
            for (d, a, c) in Schema.defaultAliases { try al.bind([.text(d), .text(a), .text(c)]); try al.run() }
        }
    }

    func requireWritable() throws {
        if readOnly { throw StoreError("\(path): the store is read-only (no write permission); nothing was changed") }
    }

    func meta(_ key: String) throws -> String? { try db.scalarText("SELECT value FROM meta WHERE key=?", [.text(key)]) }
    func setMeta(_ key: String, _ value: String) throws {
        let st = try db.prepare("INSERT OR REPLACE INTO meta VALUES(?, ?)")
        try st.bind([.text(key), .text(value)]); try st.run()
    }

    // MARK: Reading

    public func summary() throws -> StoreSummary {
        let customers = Int(try db.scalarInt("SELECT coalesce(sum(customers),0) FROM chunks"))
        let events = Int(try db.scalarInt("SELECT coalesce(sum(events),0) FROM chunks"))
        let accounts = Int(try db.scalarInt("SELECT count(*) FROM accounts"))
        let r = try db.prepare("SELECT min(ts), max(ts) FROM events WHERE merged = 0")
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
        c.channels = try names("channel")
        c.campaigns = try names("campaign")
        c.properties = try names("property").filter { !$0.isEmpty }
        c.customerAttributes = ["segment", "status", "industry", "company_size", "country", "first_contact", "account"]
        let extra = try db.prepare("SELECT DISTINCT j.key FROM customers, json_each(customers.attrs) j WHERE customers.attrs IS NOT NULL LIMIT 200")
        while try extra.step() { if let k = extra.text(0), !c.customerAttributes.contains(k) { c.customerAttributes.append(k) } }
        return c
    }

    /// Every customer's packed journey, read chunk by chunk.
    public func loadSequences() throws -> PackedSequences {
        var seq = PackedSequences()
        let n = Int(try db.scalarInt("SELECT coalesce(sum(events),0) FROM chunks"))
        let c = Int(try db.scalarInt("SELECT coalesce(sum(customers),0) FROM chunks"))
        seq.reserve(events: n, customers: c)
        let st = try db.prepare("SELECT ids, offsets, times, codes, channels, stages, kinds, campaigns, vals, customers, events FROM chunks ORDER BY chunk")
        while try st.step() {
            let base = Int32(seq.times.count)
            append(st.blob(0), to: &seq.customerIDs)
            var offs: [Int32] = []
            append(st.blob(1), to: &offs)
            // Each chunk's offsets start at 0 and end at its event count; drop the leading 0.
            for o in offs.dropFirst() { seq.offsets.append(base + o) }
            append(st.blob(2), to: &seq.times)
            append(st.blob(3), to: &seq.events)
            append(st.blob(4), to: &seq.channels)
            append(st.blob(5), to: &seq.stages)
            append(st.blob(6), to: &seq.kinds)
            append(st.blob(7), to: &seq.campaigns)
            append(st.blob(8), to: &seq.values)
        }
        return seq
    }

    private func append<T>(_ blob: UnsafeRawBufferPointer, to array: inout [T]) {
        let count = blob.count / MemoryLayout<T>.stride
        guard count > 0, let base = blob.baseAddress else { return }
        let typed = UnsafeBufferPointer(start: base.assumingMemoryBound(to: T.self), count: count)
        array.append(contentsOf: typed)
    }

    /// Customers (store ids) that have at least one event with `code` in `domain` (event, channel or stage).
    public func customersHaving(domain: String, code: Int) throws -> [Int64] {
        let st = try db.prepare("SELECT chunk, ids FROM postings WHERE domain=? AND code=? ORDER BY chunk")
        try st.bind([.text(domain), .int(Int64(code))])
        var out: [Int64] = []
        while try st.step() {
            let base = st.int(0) * Store.chunkSize
            let b = st.blob(1)
            for i in stride(from: 0, to: b.count, by: 2) {
                out.append(base + Int64(b.load(fromByteOffset: i, as: UInt16.self)))
            }
        }
        return out
    }

    /// Customer attributes for journey-level filters and breakdowns, indexed like `customerIDs`.
    public func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] {
        let column: String
        switch name {
        case "segment", "status", "industry", "country": column = "c.\(name)"
        case "company_size": column = "CAST(c.company_size AS TEXT)"
        case "first_contact": column = "strftime('%Y-%m-%d', c.first_contact / 1000.0, 'unixepoch')"
        case "account": column = "a.key"
        case "customer_id", "id": column = "c.key"
        default:
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw StoreError("bad attribute name '\(name)'") }
            column = "json_extract(c.attrs, '$.\(name)')"
        }
        var map: [Int64: String] = [:]
        let st = try db.prepare("SELECT c.id, \(column) FROM customers c LEFT JOIN accounts a ON a.id = c.account")
        while try st.step() { if let t = st.text(1) { map[st.int(0)] = t } }
        return ids.map { map[$0] }
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
        var map: [Int64: String] = [:]
        let st = try db.prepare("SELECT c.id, \(column) FROM customers c JOIN accounts a ON a.id = c.account")
        while try st.step() { if let t = st.text(1) { map[st.int(0)] = t } }
        return ids.map { map[$0] }
    }

    /// Account store id per customer (0 when none), indexed like `ids`.
    public func accounts(for ids: [Int64]) throws -> [Int64] {
        var map: [Int64: Int64] = [:]
        let st = try db.prepare("SELECT id, account FROM customers WHERE account IS NOT NULL")
        while try st.step() { map[st.int(0)] = st.int(1) }
        return ids.map { map[$0] ?? 0 }
    }

    public func customerKeys(for ids: [Int64]) throws -> [String] {
        var map: [Int64: String] = [:]
        let st = try db.prepare("SELECT id, key FROM customers")
        while try st.step() { map[st.int(0)] = st.text(1) }
        return ids.map { map[$0] ?? "#\($0)" }
    }

    /// Table definitions, for `.schema`.
    public func schemaText() throws -> String {
        let st = try db.prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
        var out: [String] = []
        while try st.step() { out.append((st.text(0) ?? "") + ";") }
        return out.joined(separator: "\n")
    }
}
