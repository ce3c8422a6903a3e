import Foundation
import JourneyCore

public struct ImportOptions: Sendable {
    public var format: ImportFormat?
    public var table: ImportTable?
    /// `--map column=field`
    public var mappings: [String: String] = [:]
    /// Rows per committed transaction.
    public var batchSize = 200_000
    /// Draw a progress bar on standard error.
    public var progress = false
    /// When another import into the store is running: wait for it (saying so), or fail at once.
    public var waitForOtherImports = true
    public init() {}
}

/// What one file's import did.
public struct ImportReport: Sendable {
    public var file: String
    public var table: ImportTable
    public var rowsRead = 0
    public var stored = 0
    /// Exact duplicates inside this import, merged into one.
    public var duplicates = 0
    /// Rows the store already held (a re-import).
    public var alreadyStored = 0
    /// The same touchpoint recorded by two sources within the tolerance, merged once.
    public var crossSource = 0
    public var quarantined: [String: Int] = [:]
    /// The first few quarantined rows: line, reason, detail.
    public var problems: [(line: Int, reason: String, detail: String)] = []
    public var identitiesStitched = 0
    public var seconds = 0.0
    /// How the file's columns were read: `column → field`, and the columns kept as properties.
    public var columns = ""
    /// Things the import did that a user should know (a column read another way than meant, values not read).
    public var warnings: [String] = []
    /// Values that are not numbers (kept as text in the property `value`), with the first one's line.
    public var unreadableValues = 0
    public var firstUnreadableValue: (line: Int, text: String)?

    public var quarantinedTotal: Int { quarantined.values.reduce(0, +) }
    /// The events this import adds to what queries count: stored, less those merged as recorded by two sources.
    public var counted: Int { max(0, stored - crossSource) }

    public var summary: String {
        let speed = seconds > 0 ? String(format: " in %.2fs (%@ rows/s)", seconds, Int(Double(rowsRead) / max(seconds, 1e-9)).grouped) : ""
        var lines: [String]
        if table == .events {
            // Numbers that add up to the rows read, and the first one is what `count events` gains.
            lines = ["\(file): \(rowsRead.grouped) rows read, \(counted.grouped) events added to queries\(speed)",
                     "  merged: \(duplicates.grouped) exact duplicates, \(crossSource.grouped) recorded by two sources (kept, left out of queries); "
                     + "already in the store: \(alreadyStored.grouped); quarantined: \(quarantinedTotal.grouped)"]
            if identitiesStitched > 0 { lines.append("  identities stitched: \(identitiesStitched.grouped) anonymous ids joined to customers") }
        }
        else { lines = ["\(file): \(rowsRead.grouped) rows read, \(stored.grouped) \(table.rawValue) stored\(speed)"] }
        if !columns.isEmpty { lines.append("  columns: \(columns)") }
        if let v = firstUnreadableValue {
            lines.append("  warning: \(unreadableValues.grouped) values are not numbers (line \(v.line): '\(v.text)'); they are kept as text in the property 'value', not as revenue")
        }
        for w in warnings { lines.append("  warning: \(w)") }
        if quarantined.isEmpty {
            if table != .events { lines.append("  quarantined: none") }
        } else {
            let parts = quarantined.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value.grouped)" }
            lines.append("  quarantined: \(quarantinedTotal.grouped) (\(parts.joined(separator: ", "))) — see the quarantine table")
            for p in problems { lines.append("  \(file):\(p.line): \(p.reason)\(p.detail.isEmpty ? "" : ": \(p.detail)")") }
            if quarantinedTotal > problems.count { lines.append("  … and \((quarantinedTotal - problems.count).grouped) more") }
        }
        return lines.joined(separator: "\n")
    }
}


extension Store {
    /// Imports one file (events, customers, accounts, identities or touchpoints, by header or `options.table`).
    public func importFile(_ path: String, options: ImportOptions = ImportOptions()) throws -> ImportReport {
        try requireWritable()
        let lock = try WriteLock(store: self.path, wait: options.waitForOtherImports)
        defer { withExtendedLifetime(lock) {} }
        do {
            return try importLocked(path, options: options)
        } catch let e as SQLiteError {
            throw StoreError(describe(e, importing: path))
        }
    }

    /// What a failed write means for the user, in words (SQLite's own message in brackets).
    func describe(_ e: SQLiteError, importing file: String) -> String {
        let kept = "every batch committed before stays stored and the failed one left nothing behind"
        if e.isFull {
            return "\(path): the disk is full (\(e.message)) while importing \(file); \(kept); free space and import the file again (rows already stored are skipped)"
        }
        if e.isCorrupt { return "\(path): the store file is damaged (\(e.message)); nothing more was written to it" }
        if e.isIOError { return "\(path): the disk reported a read or write error (\(e.message)) while importing \(file); \(kept)" }
        if e.isReadOnly { return "\(path): the store cannot be written (\(e.message)); nothing was changed" }
        return "\(path): \(e.message) while importing \(file); \(kept)"
    }

    private func importLocked(_ path: String, options: ImportOptions) throws -> ImportReport {
        let format = options.format ?? (path.hasSuffix(".ndjson") || path.hasSuffix(".jsonl") || path.hasSuffix(".json") ? .ndjson : .csv)
        let source: RowSource
        do {
            source = format == .csv ? try CSVRowSource(path: path) : try NDJSONRowSource(path: path)
        } catch let e as InputError { throw StoreError(e.description) }
        if format == .ndjson {
            // NDJSON's columns are discovered row by row: it can only hold events.
            return try EventImporter(store: self, source: source, options: options).run()
        }
        let table = options.table ?? ColumnMapping.detectTable(header: source.header, overrides: options.mappings)
        guard let table else {
            throw StoreError("\(path): cannot tell what the file holds from its header (\(source.header.joined(separator: ", "))); events need customer_id, timestamp and event — or name the table with --table events|customers|accounts|identities|touchpoints")
        }
        switch table {
        case .events: return try EventImporter(store: self, source: source, options: options).run()
        default: return try MasterDataImporter(store: self, source: source, table: table, options: options).run()
        }
    }
}

/// Streams event rows into the store: parses straight from bytes, cleans, encodes into a columnar batch, and
/// every `batchSize` rows merges the batch into the chunks in one transaction (`ChunkWriter`).
final class EventImporter {
    /// Tests set true (always look keys up) or false (always read them whole) to compare both ways; nil decides
    /// by the store's and the file's sizes.
    nonisolated(unsafe) static var lookUpKeys: Bool?

    let store: Store
    let db: Database
    let source: RowSource
    let options: ImportOptions
    var report: ImportReport
    var mapping: ColumnMapping
    var normalizer: ValueNormalizer

    // Names and their codes.
    var dict: [String: [String: Int64]] = [:]
    var nextCode: [String: Int64] = [:]
    /// Per domain (index in `domains`): raw spelling → code (stage/kind/online: negative = not understood).
    var raw = [ByteInterner](repeating: ByteInterner(), count: RawDomain.allCases.count)

    /// The fields whose raw spellings are memoized; `rawValue` indexes `raw`, the name is the dictionary domain.
    enum RawDomain: Int, CaseIterable { case event, channel, campaign, device, source, stage, kind, online }
    /// Column of each field (by `Field.allCases` position), -1 when the file has none: read per row without hashing.
    var column = [Int](repeating: -1, count: Field.allCases.count)
    var stageOrd: [String: Int64] = [:]
    var customers = ByteInterner(capacity: 1 << 16)
    var nextCustomer: Int64 = 1
    /// Account id by customer id (ids are dense from 1); 0 = none known. When keys are looked up as the file
    /// names them (`lookup`), only those customers are known: a dictionary, not an array as long as the store.
    var customerAccount: [Int64] = []
    var lookedUpAccount: [Int64: Int64] = [:]
    private func setAccount(_ customer: Int64, _ account: Int64) {
        if lookup != nil { lookedUpAccount[customer] = account; return }
        let i = Int(customer)
        if i >= customerAccount.count { customerAccount.append(contentsOf: repeatElement(0, count: max(i + 1 - customerAccount.count, customerAccount.count))) }
        customerAccount[i] = account
    }
    private func accountOf(_ customer: Int64) -> Int64 {
        if lookup != nil { return lookedUpAccount[customer] ?? 0 }
        let i = Int(customer)
        return i < customerAccount.count ? customerAccount[i] : 0
    }
    var accounts = ByteInterner()
    var nextAccount: Int64 = 1
    var identities = ByteInterner()               // anonymous id → customer
    var anonymousCustomers = ByteInterner()       // anonymous id → its own "anon:" customer
    var newIdentities: [(String, Int64)] = []
    /// Set when the store is larger than the file: keys not seen yet in this import are looked up there.
    var lookup: KeyLookup?

    // The batch and what the next flush writes besides it.
    var batch = EventColumns()
    var batchCustomers: [Int64] = []
    var pendingNames: [(String, Int64, String)] = []
    /// New customers of this batch (ids consecutive from the first): id, key, anonymous, account (0 = none).
    var pendingCustomers: [(Int64, String, Bool, Int64)] = []
    var pendingAccounts: [(Int64, String)] = []
    var pendingAccountLinks: [(Int64, Int64)] = []
    var pendingQuarantine: [(Int, String, String, String)] = []
    var importID: UInt32 = 0
    var writer: ChunkWriter!

    init(store: Store, source: RowSource, options: ImportOptions) throws {
        self.store = store
        self.db = store.db
        self.source = source
        self.options = options
        report = ImportReport(file: source.path, table: .events)
        mapping = try ColumnMapping(header: source.header, table: .events, overrides: options.mappings)
        var aliases: [String: [String: String]] = [:]
        let a = try db.prepare("SELECT domain, alias, canonical FROM aliases")
        while try a.step() { aliases[a.text(0) ?? "", default: [:]][a.text(1) ?? ""] = a.text(2) ?? "" }
        normalizer = ValueNormalizer(aliases: aliases)
        remapColumns()
        try loadState()
    }

    /// Known customers, accounts and identities are read into memory at the start when the store holds fewer
    /// customers than the file could name (one pass, then lookups cost nothing); in a store larger than the file
    /// they are looked up one by one as the file names them (`KeyLookup`), so appending a small file to a large
    /// store costs what the file holds, not what the store holds.
    private func loadState() throws {
        let storeCustomers = try db.scalarInt("SELECT coalesce(max(id), 0) FROM customers")
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: source.path)[.size] as? Int) ?? nil
        let bySize = fileBytes.map { storeCustomers > 1_000 && Int(storeCustomers) * 50 > $0 } ?? false
        if Self.lookUpKeys ?? bySize {
            lookup = try KeyLookup(path: store.path, immutable: store.immutable)
        }
        try loadNames()
        guard lookup == nil else {
            nextCustomer = storeCustomers + 1
            nextAccount = try db.scalarInt("SELECT coalesce(max(id), 0) FROM accounts") + 1
            return
        }
        let c = try db.prepare("SELECT id, key, account, anonymous FROM customers")
        while try c.step() {
            let id = c.int(0), key = c.text(1) ?? ""
            if c.int(3) != 0 && key.hasPrefix("anon:") { anonymousCustomers.insert(String(key.dropFirst(5)), value: id) }
            else { customers.insert(key, value: id) }
            nextCustomer = max(nextCustomer, id + 1)
            if !c.isNull(2) { setAccount(id, c.int(2)) }
        }
        let ac = try db.prepare("SELECT id, key FROM accounts")
        while try ac.step() { accounts.insert(ac.text(1) ?? "", value: ac.int(0)); nextAccount = max(nextAccount, ac.int(0) + 1) }
        let idn = try db.prepare("SELECT anonymous_id, customer FROM identities")
        while try idn.step() { identities.insert(idn.text(0) ?? "", value: idn.int(1)) }
    }

    private func loadNames() throws {
        let d = try db.prepare("SELECT domain, code, name FROM dictionary")
        while try d.step() {
            let dom = d.text(0) ?? ""
            dict[dom, default: [:]][d.text(2) ?? ""] = d.int(1)
            nextCode[dom] = max(nextCode[dom] ?? 1, d.int(1) + 1)
        }
        let s = try db.prepare("SELECT ord, name FROM stages")
        while try s.step() { stageOrd[s.text(1) ?? ""] = s.int(0) }
    }

    // MARK: Codes

    private func code(_ domain: String, _ name: String) -> Int64 {
        if let c = dict[domain]?[name] { return c }
        let c = nextCode[domain] ?? 1
        nextCode[domain] = c + 1
        dict[domain, default: [:]][name] = c
        pendingNames.append((domain, c, name))
        return c
    }

    /// The code of a raw (trimmed) field value: memoized on its bytes, normalized on first sight.
    @inline(__always)
    private func rawCode(_ d: RawDomain, _ p: UnsafeRawBufferPointer, _ resolve: (String) -> Int64) -> Int64 {
        if let c = raw[d.rawValue].find(p) { return c }
        let c = resolve(String(decoding: p, as: UTF8.self))
        raw[d.rawValue].insert(p, value: c)
        return c
    }

    private func categorical(_ d: RawDomain, _ p: UnsafeRawBufferPointer) -> Int64 {
        rawCode(d, p) { s in
            let domain = "\(d)"
            let name = domain == "event" || domain == "campaign" ? ValueNormalizer.label(s) : normalizer.categorical(s, domain: domain)
            return name.isEmpty ? 0 : code(domain, name)
        }
    }

    private func customer(_ key: UnsafeRawBufferPointer) -> Int64 {
        if let id = customers.find(key) { return id }
        if let (id, account) = lookup?.customer(key) {
            customers.insert(key, value: id)
            if account != 0 { setAccount(id, account) }
            return id
        }
        let id = nextCustomer
        nextCustomer += 1
        customers.insert(key, value: id)
        pendingCustomers.append((id, String(decoding: key, as: UTF8.self), false, 0))
        return id
    }

    /// The customer an anonymous id was identified as, if any.
    private func identity(_ anon: UnsafeRawBufferPointer) -> Int64? {
        if let id = identities.find(anon) { return id }
        guard let id = lookup?.identity(anon) else { return nil }
        identities.insert(anon, value: id)
        return id
    }

    /// The stored "anon:" customer of an anonymous id, if any.
    private func storedAnonymousCustomer(_ anon: UnsafeRawBufferPointer) -> Int64? {
        if let id = anonymousCustomers.find(anon) { return id }
        guard let id = lookup?.anonymousCustomer(anon) else { return nil }
        anonymousCustomers.insert(anon, value: id)
        return id
    }

    private func anonymousCustomer(_ anon: UnsafeRawBufferPointer) -> Int64 {
        if let id = identity(anon) { return id }
        if let id = storedAnonymousCustomer(anon) { return id }
        let id = nextCustomer
        nextCustomer += 1
        anonymousCustomers.insert(anon, value: id)
        pendingCustomers.append((id, "anon:" + String(decoding: anon, as: UTF8.self), true, 0))
        return id
    }

    private func account(_ key: UnsafeRawBufferPointer) -> Int64 {
        if let id = accounts.find(key) { return id }
        if let id = lookup?.account(key) { accounts.insert(key, value: id); return id }
        let id = nextAccount
        nextAccount += 1
        accounts.insert(key, value: id)
        pendingAccounts.append((id, String(decoding: key, as: UTF8.self)))
        return id
    }

    private func remapColumns() {
        for (k, f) in Field.allCases.enumerated() { column[k] = mapping.fieldColumn[f] ?? -1 }
    }

    // MARK: The loop

    func run() throws -> ImportReport {
        let start = Date()
        importID = try db.transaction {
            let st = try db.prepare("INSERT INTO imports(file, started) VALUES(?, ?)")
            try st.bind([.text(source.path), .int(Int64(Date().timeIntervalSince1970 * 1000))])
            try st.run()
            return UInt32(try db.scalarInt("SELECT last_insert_rowid()"))
        }
        writer = try ChunkWriter(store: store, importID: importID)
        let progress = options.progress ? ImportProgress(file: source.path, total: source.fileSize) : nil
        var rec = RecordBuffer()
        batch.reserve(min(options.batchSize, 1 << 20))
        do {
            while try source.next(into: &rec) {
                if source.header.count != mapping.header.count {
                    mapping = try ColumnMapping(header: source.header, table: .events, overrides: options.mappings)
                    remapColumns()
                }
                report.rowsRead += 1
                importRow(rec)
                if batch.count + pendingQuarantine.count >= options.batchSize {
                    try flush()
                    progress?.update(rows: report.rowsRead, bytes: source.bytesRead)
                }
            }
            try flush(last: true)
        } catch {
            progress?.finish()
            try? waitForFlush()
            if let e = error as? InputError {
                throw StoreError(e.description + " — the \(written.stored.grouped) rows before it are stored; fix the file and import it again (rows already stored are skipped)")
            }
            throw error
        }
        progress?.finish()
        if report.rowsRead == 0 && report.quarantinedTotal == 0 {
            report.problems.append((line: 1, reason: "no data rows", detail: "the file has a header only"))
        }
        try stitchIdentities()
        describeColumns()
        report.stored = written.stored; report.duplicates = written.duplicates
        report.alreadyStored = written.alreadyStored; report.crossSource = written.crossSource
        report.seconds = Date().timeIntervalSince(start)
        if ProcessInfo.processInfo.environment["JOURNEY_TRACE"] != nil { FileHandle.standardError.write(Data("waited for writer: \(waited)s; writer: rows \(writerTimes[0])s, merge \(writerTimes[1])s, commit \(writerTimes[2])s, total \(writerTimes[3])s\n".utf8)) }
        try db.transaction { try recordProgress(finished: true, rowsRead: report.rowsRead, quarantined: report.quarantinedTotal) }
        return report
    }

    private func recordProgress(finished: Bool, rowsRead: Int, quarantined: Int) throws {
        let st = try db.prepare("""
            UPDATE imports SET finished=?, rows_read=?, stored=?, duplicates=?, already_stored=?, cross_source=?, quarantined=?
            WHERE id=?
            """)
        try st.bind([finished ? .int(Int64(Date().timeIntervalSince1970 * 1000)) : .null, .int(Int64(rowsRead)),
                     .int(Int64(written.stored)), .int(Int64(written.duplicates)), .int(Int64(written.alreadyStored)),
                     .int(Int64(written.crossSource)), .int(Int64(quarantined)), .int(Int64(importID))])
        try st.run()
    }

    /// One batch and what it refers to, handed from the parsing thread to the writing one.
    struct FlushJob {
        var batch: EventColumns, customers: [Int64]
        var names: [(String, Int64, String)], accounts: [(Int64, String)], newCustomers: [(Int64, String, Bool, Int64)]
        var accountLinks: [(Int64, Int64)], quarantine: [(Int, String, String, String)]
        var rowsRead: Int, quarantined: Int
    }

    /// What the writer has stored so far; touched only on `flushQueue` (read after `waitForFlush`).
    var written = ChunkWriter.Outcome()
    private let flushQueue = DispatchQueue(label: "journey.import.flush")
    private let inFlight = DispatchSemaphore(value: 2)
    private var flushError: Error?
    var waited = 0.0

    /// Hands the batch to the writer thread and starts a fresh batch. Up to two batches wait for the writer, so a
    /// slow commit (a WAL checkpoint) does not stall parsing.
    private func flush(last: Bool = false) throws {
        let t0 = Date()
        inFlight.wait()
        waited += Date().timeIntervalSince(t0)
        if let e = flushError { inFlight.signal(); flushError = nil; throw e }
        let job = FlushJob(batch: batch, customers: batchCustomers, names: pendingNames, accounts: pendingAccounts,
                           newCustomers: pendingCustomers, accountLinks: pendingAccountLinks, quarantine: pendingQuarantine,
                           rowsRead: report.rowsRead, quarantined: report.quarantinedTotal)
        pendingNames = []; pendingAccounts = []; pendingCustomers = []; pendingAccountLinks = []; pendingQuarantine = []
        batch = EventColumns(); batchCustomers = []
        batch.reserve(min(options.batchSize, 1 << 20)); batchCustomers.reserveCapacity(min(options.batchSize, 1 << 20))
        flushQueue.async { [self] in
            defer { inFlight.signal() }
            guard flushError == nil else { return }   // an earlier batch failed: write nothing after it
            do { try write(job) } catch { flushError = error }
        }
        if last { try waitForFlush() }
    }

    private func waitForFlush() throws {
        let t0 = Date()
        flushQueue.sync {}
        waited += Date().timeIntervalSince(t0)
        if let e = flushError { flushError = nil; throw e }
    }

    /// Writes one batch and everything it refers to in one transaction (on the writer thread).
    var writerTimes = [Double](repeating: 0, count: 4)   // rows, merge, commit, total (JOURNEY_TRACE)
    private func write(_ job: FlushJob) throws {
        let t0 = Date()
        var t1 = t0, t2 = t0
        defer { let t3 = Date(); writerTimes[0] += t1.timeIntervalSince(t0); writerTimes[1] += t2.timeIntervalSince(t1); writerTimes[2] += t3.timeIntervalSince(t2); writerTimes[3] += t3.timeIntervalSince(t0) }
        try db.transaction {
            let n = try db.prepare("INSERT INTO dictionary(domain, code, name) VALUES(?, ?, ?)")
            for (d, c, name) in job.names { try n.bind([.text(d), .int(c), .text(name)]); try n.run() }
            // Rows go in 64 at a time (one statement step per 64 rows instead of one per row).
            try insertRows(job.accounts, "accounts(id, key)", columns: 2) { st, base, row in
                st.bindInt(row.0, at: base + 1); st.bindText(row.1, at: base + 2)
            }
            // A new customer's account goes into its insert; only customers stored earlier need an update.
            try insertRows(job.newCustomers, "customers(id, key, anonymous, account)", columns: 4) { st, base, row in
                st.bindInt(row.0, at: base + 1); st.bindText(row.1, at: base + 2); st.bindInt(row.2 ? 1 : 0, at: base + 3)
                if row.3 != 0 { st.bindInt(row.3, at: base + 4) } else { st.bindNull(at: base + 4) }
            }
            let l = try db.prepare("UPDATE customers SET account=? WHERE id=?")
            for (cust, acct) in job.accountLinks { try l.bind([.int(acct), .int(cust)]); try l.run() }
            let q = try db.prepare("INSERT OR IGNORE INTO quarantine(file, line, reason, detail, raw) VALUES(?,?,?,?,?)")
            for (line, reason, detail, rawText) in job.quarantine {
                try q.bind([.text(source.path), .int(Int64(line)), .text(reason), .text(detail), .text(rawText)]); try q.run()
            }
            t1 = Date()
            let o = try writer.merge(job.batch, customers: job.customers)
            t2 = Date()
            written.stored += o.stored; written.duplicates += o.duplicates
            written.alreadyStored += o.alreadyStored; written.crossSource += o.crossSource
            try recordProgress(finished: false, rowsRead: job.rowsRead, quarantined: job.quarantined)
        }
    }

    /// Inserts `rows` into `table` (`"name(col, ...)"`) with multi-row statements of up to 64 rows.
    private func insertRows<T>(_ rows: [T], _ table: String, columns: Int,
                               bind: (Statement, Int32, T) -> Void) throws {
        guard !rows.isEmpty else { return }
        let one = "(" + Array(repeating: "?", count: columns).joined(separator: ",") + ")"
        func statement(_ n: Int) throws -> Statement {
            try db.prepare("INSERT INTO \(table) VALUES " + Array(repeating: one, count: n).joined(separator: ","))
        }
        let full = try statement(64)
        var i = 0
        while i < rows.count {
            let n = min(64, rows.count - i)
            let st = n == 64 ? full : try statement(n)
            for k in 0..<n { bind(st, Int32(k * columns), rows[i + k]) }
            try st.run()
            i += n
        }
    }

    /// The column mapping in the report, and a warning where a likely mistake shows in it (no channel column
    /// beside a `source` one).
    private func describeColumns() {
        let header = mapping.header
        let read = mapping.fieldColumn.sorted { $0.value < $1.value }.map { f, i in header[i] == f.rawValue ? f.rawValue : "\(header[i]) → \(f.rawValue)" }
        let extra = mapping.extraColumns.map(\.1)
        report.columns = read.joined(separator: ", ") + (extra.isEmpty ? "" : "; kept as properties: \(extra.joined(separator: ", "))")
        if mapping.fieldColumn[.channel] == nil {
            if let s = mapping.fieldColumn[.source] {
                report.warnings.append("no channel column: '\(header[s])' is read as the system that recorded each event (crm, web), not as its channel; "
                                       + "if it holds the channel, import again with --map \(header[s])=channel")
            } else {
                report.warnings.append("no channel column: channels come only from the touchpoint catalog (import one with the events' names and channels)")
            }
        }
    }

    private func quarantine(_ rec: RecordBuffer, _ reason: String, _ detail: String) {
        report.quarantined[reason, default: 0] += 1
        if report.problems.count < 5 { report.problems.append((rec.line, reason, detail)) }
        pendingQuarantine.append((rec.line, reason, detail, rec.rawText()))
    }

    private func importRow(_ rec: RecordBuffer) {
        if rec.oversize > 0 { return quarantine(rec, "row too long", "\(rec.byteCount.grouped) bytes; the limit is 1 MiB") }
        if rec.oversize < 0 { return quarantine(rec, "not a JSON object", "") }
        if rec.count != mapping.header.count {
            return quarantine(rec, "wrong column count", "expected \(mapping.header.count) fields, found \(rec.count)")
        }
        let problem: (String, String)? = rec.withBytes { all -> (String, String)? in
            guard isValidUTF8(UnsafeBufferPointer(start: all.baseAddress?.assumingMemoryBound(to: UInt8.self), count: all.count)) else {
                return ("invalid UTF-8", "")
            }
            /// Field `f` without surrounding blanks; empty when absent.
            func field(_ f: Field) -> UnsafeRawBufferPointer {
                let i = column[f.position]
                guard i >= 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
                return trimmed(all, rec.start(i), rec.ends[i])
            }
            // Who.
            let custKey = field(.customer), anon = field(.anonymous)
            let cust: Int64
            if custKey.count > 0 {
                cust = customer(custKey)
                if anon.count > 0 && identity(anon) == nil {
                    identities.insert(anon, value: cust)
                    newIdentities.append((String(decoding: anon, as: UTF8.self), cust))
                }
            } else if anon.count > 0 {
                cust = anonymousCustomer(anon)
            } else {
                return ("no customer", "customer_id is empty")
            }
            // When.
            let tsBytes = field(.timestamp)
            guard let ts = TimestampParser.parse(tsBytes) else {
                return ("bad timestamp", tsBytes.count == 0 ? "timestamp is empty" : "'\(String(decoding: tsBytes, as: UTF8.self))'")
            }
            // What.
            let eventBytes = field(.event)
            guard eventBytes.count > 0 else { return ("no event", "event is empty") }
            let event = categorical(.event, eventBytes)
            var props: [(String, String)] = []
            let chB = field(.channel)
            let channel = chB.count > 0 ? categorical(.channel, chB) : 0
            var stage: Int64 = 0
            let stB = field(.stage)
            if stB.count > 0 {
                stage = rawCode(.stage, stB) { s in stageOrd[normalizer.categorical(s, domain: "stage")].map { $0 + 1 } ?? -1 }
                if stage < 0 { props.append(("stage", String(decoding: stB, as: UTF8.self))); stage = 0; if dict["property"]?["stage"] == nil { _ = code("property", "stage") } }
            }
            var kind: Int64 = 0
            let kB = field(.kind)
            if kB.count > 0 {
                kind = rawCode(.kind, kB) { s in
                    switch normalizer.categorical(s, domain: "kind") { case "paid": return 1; case "owned": return 2; case "earned": return 3; default: return -1 }
                }
                if kind < 0 { props.append(("kind", String(decoding: kB, as: UTF8.self))); kind = 0 }
            }
            var online: Int64 = -1
            let oB = field(.online)
            if oB.count > 0 {
                online = rawCode(.online, oB) { s in
                    switch s.lowercased() { case "1", "true", "yes", "online": return 1; case "0", "false", "no", "offline": return 0; default: return -2 }
                }
                if online == -2 { props.append(("online", String(decoding: oB, as: UTF8.self))); online = -1 }
            }
            let cpB = field(.campaign), dvB = field(.device), srcB = field(.source)
            let campaign = cpB.count > 0 ? categorical(.campaign, cpB) : 0
            let device = dvB.count > 0 ? categorical(.device, dvB) : 0
            let src = srcB.count > 0 ? categorical(.source, srcB) : 0
            var value = Double.nan
            let vB = field(.value)
            if vB.count > 0 {
                if let d = parseDecimal(vB) ?? Double(String(decoding: vB, as: UTF8.self)) ?? groupedNumber(vB), d.isFinite { value = d }
                else {
                    let text = String(decoding: vB, as: UTF8.self)
                    props.append(("value", text))
                    report.unreadableValues += 1
                    if report.firstUnreadableValue == nil { report.firstUnreadableValue = (rec.line, text) }
                }
            }
            let acB = field(.account)
            if acB.count > 0 {
                let a = account(acB)
                if accountOf(cust) != a {
                    setAccount(cust, a)
                    // A customer new in this batch takes the account into its insert; others need an update.
                    if let first = pendingCustomers.first?.0, cust >= first { pendingCustomers[Int(cust - first)].3 = a }
                    else { pendingAccountLinks.append((cust, a)) }
                }
            }
            for (i, name) in mapping.extraColumns where rec.start(i) != rec.ends[i] {
                if dict["property"]?[name] == nil { _ = code("property", name) }   // so the binder knows the name
                props.append((name, String(decoding: UnsafeRawBufferPointer(rebasing: all[rec.start(i)..<rec.ends[i]]), as: UTF8.self)))
            }
            let propsJSON = props.isEmpty ? nil : jsonObject(props)

            // Channels, devices and sources are stored in 16 bits (a design limit: 65,535 names each).
            for (what, c, bytes) in [("channels", channel, chB), ("devices", device, dvB), ("sources", src, srcB)] where c > Int64(UInt16.max) {
                return ("too many \(what)", "'\(String(decoding: bytes, as: UTF8.self))' would be number \(Int(c).grouped); a store keeps at most 65,535 distinct \(what)")
            }
            batchCustomers.append(cust)
            batch.times.append(ts); batch.imports.append(importID)
            batch.events.append(UInt32(event)); batch.channels.append(UInt16(channel))
            batch.stages.append(UInt8(stage)); batch.kinds.append(UInt8(kind)); batch.campaigns.append(UInt32(campaign))
            batch.devices.append(UInt16(device)); batch.sources.append(UInt16(src))
            batch.onlines.append(Int8(online)); batch.values.append(value); batch.merged.append(0)
            if let propsJSON { batch.propBytes.append(contentsOf: propsJSON.utf8) }
            batch.propOffsets.append(Int32(batch.propBytes.count))
            return nil
        }
        if let (reason, detail) = problem { quarantine(rec, reason, detail) }
    }

    /// Joins each newly identified anonymous id's events to its customer.
    private func stitchIdentities() throws {
        guard !newIdentities.isEmpty else { return }
        try db.transaction {
            let ins = try db.prepare("INSERT OR IGNORE INTO identities(anonymous_id, customer) VALUES(?, ?)")
            var moves: [(from: Int64, to: Int64)] = []
            for (anon, cust) in newIdentities {
                try ins.bind([.text(anon), .int(cust)]); try ins.run()
                var a = anon
                let anonCust = a.withUTF8 { storedAnonymousCustomer(UnsafeRawBufferPointer($0)) }
                guard let anonCust, anonCust != cust else { continue }
                moves.append((anonCust, cust))
            }
            try store.rehome(moves, writer: writer)
            report.identitiesStitched += moves.count
        }
    }
}

@inline(__always) func trimmed(_ all: UnsafeRawBufferPointer, _ s0: Int, _ e0: Int) -> UnsafeRawBufferPointer {
    var s = s0, e = e0
    while s < e && (all[s] == 32 || all[s] == 9) { s += 1 }
    while e > s && (all[e - 1] == 32 || all[e - 1] == 9) { e -= 1 }
    return UnsafeRawBufferPointer(rebasing: all[s..<e])
}

/// `-12.50`, `3`, `.5` → Double, exactly rounded (mantissa below 2^53, at most 15 decimals); nil for anything
/// else (exponents, long mantissas), which the caller hands to the general parser.
/// A number written with thousands separators, `1,000` or `-12,345.5` (commas between groups of three digits
/// only: `1,5` stays unread, it may be a decimal comma).
func groupedNumber(_ p: UnsafeRawBufferPointer) -> Double? {
    let text = String(decoding: p, as: UTF8.self)
    guard text.range(of: #"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$"#, options: .regularExpression) != nil else { return nil }
    return Double(text.replacingOccurrences(of: ",", with: ""))
}

@inline(__always) func parseDecimal(_ p: UnsafeRawBufferPointer) -> Double? {
    var i = 0, neg = false
    if i < p.count && (p[i] == 45 || p[i] == 43) { neg = p[i] == 45; i += 1 }
    var mant: Int64 = 0, digits = 0, scale = 0, dot = false
    while i < p.count {
        let c = p[i]
        if c >= 48 && c <= 57 {
            if digits >= 15 { return nil }
            mant = mant * 10 + Int64(c - 48); digits += 1
            if dot { scale += 1 }
        } else if c == 46 && !dot { dot = true } else { return nil }
        i += 1
    }
    guard digits > 0 else { return nil }
    let powers: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]
    let v = Double(mant) / powers[scale]
    return neg ? -v : v
}

extension Store {
    /// Moves every event of each `from` customer onto `to` (identity stitching) and records the merge.
    func rehome(_ moves: [(from: Int64, to: Int64)], writer: ChunkWriter) throws {
        guard !moves.isEmpty else { return }
        _ = try writer.rehome(moves)
        let merged = try db.prepare("UPDATE customers SET merged_into = ?1 WHERE id = ?2")
        let account = try db.prepare("UPDATE customers SET account = coalesce(account, (SELECT account FROM customers WHERE id = ?2)) WHERE id = ?1")
        for (from, to) in moves {
            try merged.bind([.int(to), .int(from)]); try merged.run()
            try account.bind([.int(to), .int(from)]); try account.run()
        }
    }
}

/// Looks customers, accounts and identities up by key in the store, on a read connection of its own (the
/// parsing thread asks while the writer thread writes). It sees what was committed: everything before this
/// import, and this import's own batches, whose new keys are already in the importer's memory.
final class KeyLookup {
    private let db: Database
    private let customerByKey: Statement, anonymousByKey: Statement, accountByKey: Statement, identityByKey: Statement

    init(path: String, immutable: Bool) throws {
        db = try Database(path: path, readOnly: true, immutable: immutable)
        // Random lookups over the key indexes: read in place through a memory map (with 64 KiB pages, copying each
        // page a lookup touches into a small cache cost more than the lookup).
        try db.execute("PRAGMA mmap_size = 1073741824")
        customerByKey = try db.prepare("SELECT id, coalesce(account, 0) FROM customers WHERE key = ? AND anonymous = 0")
        anonymousByKey = try db.prepare("SELECT id, 0 FROM customers WHERE key = ? AND anonymous != 0")
        accountByKey = try db.prepare("SELECT id, 0 FROM accounts WHERE key = ?")
        identityByKey = try db.prepare("SELECT customer, 0 FROM identities WHERE anonymous_id = ?")
        // One read transaction for every lookup (each statement on its own would take and drop the file's locks):
        // it sees the store as the import began, which is all a lookup needs (keys this import added are in memory).
        try db.execute("BEGIN")
        _ = try db.scalarInt("SELECT count(*) FROM meta")
    }

    deinit { try? db.execute("COMMIT") }

    private func one(_ st: Statement, _ key: UnsafeRawBufferPointer, prefix: String = "") -> (Int64, Int64)? {
        defer { st.reset() }
        let text = prefix + String(decoding: key, as: UTF8.self)
        guard (try? st.bind([.text(text)])) != nil, (try? st.step()) == true else { return nil }
        return (st.int(0), st.int(1))
    }

    func customer(_ key: UnsafeRawBufferPointer) -> (id: Int64, account: Int64)? { one(customerByKey, key) }
    func anonymousCustomer(_ anon: UnsafeRawBufferPointer) -> Int64? { one(anonymousByKey, anon, prefix: "anon:")?.0 }
    func account(_ key: UnsafeRawBufferPointer) -> Int64? { one(accountByKey, key)?.0 }
    func identity(_ anon: UnsafeRawBufferPointer) -> Int64? { one(identityByKey, anon)?.0 }
}
