import Foundation
import JourneyCore

public struct ImportOptions: Sendable {
    public var format: ImportFormat?
    public var table: ImportTable?
    /// `--map column=field`
    public var mappings: [String: String] = [:]
    /// Rows per committed transaction.
    public var batchSize = 50_000
    /// Draw a progress bar on standard error.
    public var progress = false
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

    public var quarantinedTotal: Int { quarantined.values.reduce(0, +) }

    public var summary: String {
        var lines = ["\(file): \(rowsRead.grouped) rows read, \(stored.grouped) \(table == .events ? "events" : table.rawValue) stored"
                     + (seconds > 0 ? String(format: " in %.2fs (%@ rows/s)", seconds, Int(Double(rowsRead) / max(seconds, 1e-9)).grouped) : "")]
        if table == .events {
            lines.append("  duplicates merged: \(duplicates.grouped) exact, \(crossSource.grouped) recorded by two sources; already in the store: \(alreadyStored.grouped)")
            if identitiesStitched > 0 { lines.append("  identities stitched: \(identitiesStitched.grouped) anonymous ids joined to customers") }
        }
        if quarantined.isEmpty {
            lines.append("  quarantined: none")
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

/// Streams event rows into the store: cleans, encodes, deduplicates, quarantines, commits in batches.
final class EventImporter {
    let store: Store
    let db: Database
    let source: RowSource
    let options: ImportOptions
    var report: ImportReport
    var mapping: ColumnMapping
    var normalizer: ValueNormalizer

    // Dictionaries: canonical name → code, per domain; and raw field text → code caches.
    var dict: [String: [String: Int64]] = [:]
    var nextCode: [String: Int64] = [:]
    var rawCode: [String: [String: Int64]] = [:]
    var stageOrd: [String: Int64] = [:]
    var customerID: [String: Int64] = [:]
    var nextCustomer: Int64 = 1
    var customerAccount: [Int64: Int64] = [:]
    var accountID: [String: Int64] = [:]
    var nextAccount: Int64 = 1
    var identities: [String: Int64] = [:]
    var newIdentities: [(String, Int64)] = []
    var seq: Int64 = 1
    var firstSeq: Int64 = 1
    var dirty = Set<Int64>()
    var importID: Int64 = 0

    let insertEvent: Statement
    let insertCustomer: Statement
    let findExisting: Statement
    let insertQuarantine: Statement

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
        insertEvent = try db.prepare("""
            INSERT OR IGNORE INTO events(customer, ts, rowhash, seq, event, channel, stage, kind, online, campaign,
                device, source, value, props) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """)
        insertCustomer = try db.prepare("INSERT INTO customers(id, key, anonymous) VALUES(?, ?, ?)")
        findExisting = try db.prepare("SELECT seq FROM events WHERE customer=? AND ts=? AND rowhash=?")
        insertQuarantine = try db.prepare("INSERT OR IGNORE INTO quarantine(file, line, reason, detail, raw) VALUES(?,?,?,?,?)")
        try loadState()
    }

    private func loadState() throws {
        let d = try db.prepare("SELECT domain, code, name FROM dictionary")
        while try d.step() {
            let dom = d.text(0) ?? ""
            dict[dom, default: [:]][d.text(2) ?? ""] = d.int(1)
            nextCode[dom] = max(nextCode[dom] ?? 1, d.int(1) + 1)
        }
        let s = try db.prepare("SELECT ord, name FROM stages")
        while try s.step() { stageOrd[s.text(1) ?? ""] = s.int(0) }
        let c = try db.prepare("SELECT id, key, account FROM customers")
        while try c.step() {
            let id = c.int(0)
            customerID[c.text(1) ?? ""] = id
            nextCustomer = max(nextCustomer, id + 1)
            if !c.isNull(2) { customerAccount[id] = c.int(2) }
        }
        let ac = try db.prepare("SELECT id, key FROM accounts")
        while try ac.step() { accountID[ac.text(1) ?? ""] = ac.int(0); nextAccount = max(nextAccount, ac.int(0) + 1) }
        let idn = try db.prepare("SELECT anonymous_id, customer FROM identities")
        while try idn.step() { identities[idn.text(0) ?? ""] = idn.int(1) }
        seq = Int64(try store.meta("next_seq") ?? "1") ?? 1
        firstSeq = seq
    }

    // MARK: Codes

    private func code(_ domain: String, _ name: String) throws -> Int64 {
        if let c = dict[domain]?[name] { return c }
        let c = nextCode[domain] ?? 1
        nextCode[domain] = c + 1
        dict[domain, default: [:]][name] = c
        let st = try db.prepare("INSERT INTO dictionary(domain, code, name) VALUES(?, ?, ?)")
        try st.bind([.text(domain), .int(c), .text(name)])
        try st.run()
        return c
    }

    /// Code for a raw field value in a categorical domain (normalized spelling), memoized on the raw text.
    private func categoricalCode(_ domain: String, _ raw: String) throws -> Int64 {
        if let c = rawCode[domain]?[raw] { return c }
        let name = domain == "event" || domain == "campaign" ? ValueNormalizer.label(raw) : normalizer.categorical(raw, domain: domain)
        let c = name.isEmpty ? 0 : try code(domain, name)
        rawCode[domain, default: [:]][raw] = c
        return c
    }

    private func customer(_ key: String, anonymous: Bool) throws -> Int64 {
        if let id = customerID[key] { return id }
        let id = nextCustomer
        nextCustomer += 1
        customerID[key] = id
        insertCustomer.bindInt(id, at: 1); insertCustomer.bindText(key, at: 2); insertCustomer.bindInt(anonymous ? 1 : 0, at: 3)
        try insertCustomer.run()
        return id
    }

    private func account(_ key: String) throws -> Int64 {
        if let id = accountID[key] { return id }
        let id = nextAccount
        nextAccount += 1
        accountID[key] = id
        let st = try db.prepare("INSERT INTO accounts(id, key) VALUES(?, ?)")
        try st.bind([.int(id), .text(key)]); try st.run()
        return id
    }

    // MARK: The loop

    func run() throws -> ImportReport {
        let start = Date()
        importID = try db.transaction {
            let st = try db.prepare("INSERT INTO imports(file, started) VALUES(?, ?)")
            try st.bind([.text(source.path), .int(Int64(Date().timeIntervalSince1970 * 1000))])
            try st.run()
            return try db.scalarInt("SELECT last_insert_rowid()")
        }
        let progress = options.progress ? ImportProgress(file: source.path, total: source.fileSize) : nil
        var rec = RecordBuffer()
        var inBatch = 0
        try db.execute("BEGIN IMMEDIATE")
        do {
            while try source.next(into: &rec) {
                if source.header.count != mapping.header.count {
                    mapping = try ColumnMapping(header: source.header, table: .events, overrides: options.mappings)
                }
                report.rowsRead += 1
                try importRow(rec)
                inBatch += 1
                if inBatch >= options.batchSize {
                    try commitBatch()
                    try db.execute("BEGIN IMMEDIATE")
                    inBatch = 0
                    progress?.update(rows: report.rowsRead, bytes: source.bytesRead)
                }
            }
            try commitBatch()
        } catch {
            try? db.execute("ROLLBACK")
            progress?.finish()
            if let e = error as? InputError { throw StoreError(e.description + " — the \(report.stored.grouped) rows before it are stored; fix the file and import it again (rows already stored are skipped)") }
            throw error
        }
        progress?.finish()
        if report.rowsRead == 0 && report.quarantinedTotal == 0 {
            report.problems.append((line: 1, reason: "no data rows", detail: "the file has a header only"))
        }
        try stitchIdentities()
        let packed = try SequencePacker(store: store).packDirty()
        report.crossSource = packed.newlyMerged
        report.seconds = Date().timeIntervalSince(start)
        try db.transaction {
            let st = try db.prepare("""
                UPDATE imports SET finished=?, rows_read=?, stored=?, duplicates=?, already_stored=?, cross_source=?, quarantined=?
                WHERE id=?
                """)
            try st.bind([.int(Int64(Date().timeIntervalSince1970 * 1000)), .int(Int64(report.rowsRead)), .int(Int64(report.stored)),
                         .int(Int64(report.duplicates)), .int(Int64(report.alreadyStored)), .int(Int64(report.crossSource)),
                         .int(Int64(report.quarantinedTotal)), .int(importID)])
            try st.run()
        }
        return report
    }

    private func commitBatch() throws {
        let d = try db.prepare("INSERT OR IGNORE INTO dirty_chunks(chunk) VALUES(?)")
        for c in dirty { d.bindInt(c, at: 1); try d.run() }
        dirty.removeAll(keepingCapacity: true)
        try store.setMeta("next_seq", String(seq))
        let st = try db.prepare("UPDATE imports SET rows_read=?, stored=?, quarantined=? WHERE id=?")
        try st.bind([.int(Int64(report.rowsRead)), .int(Int64(report.stored)), .int(Int64(report.quarantinedTotal)), .int(importID)])
        try st.run()
        try db.execute("COMMIT")
    }

    private func quarantine(_ rec: RecordBuffer, _ reason: String, _ detail: String) throws {
        report.quarantined[reason, default: 0] += 1
        if report.problems.count < 5 { report.problems.append((rec.line, reason, detail)) }
        let raw = String(decoding: rec.bytes.prefix(2000), as: UTF8.self)
        try insertQuarantine.bind([.text(source.path), .int(Int64(rec.line)), .text(reason), .text(detail), .text(raw)])
        try insertQuarantine.run()
    }

    @inline(__always) private func field(_ rec: RecordBuffer, _ f: Field) -> String? {
        guard let i = mapping.fieldColumn[f] else { return nil }
        return trimmedField(rec, i)
    }

    /// Field `i` without leading and trailing blanks; nil when empty. Works on bytes (no Foundation).
    @inline(__always) private func trimmedField(_ rec: RecordBuffer, _ i: Int) -> String? {
        var s = rec.start(i), e = rec.ends[i]
        return rec.bytes.withUnsafeBufferPointer { p -> String? in
            while s < e && (p[s] == 32 || p[s] == 9) { s += 1 }
            while e > s && (p[e - 1] == 32 || p[e - 1] == 9) { e -= 1 }
            return s == e ? nil : String(decoding: UnsafeBufferPointer(rebasing: p[s..<e]), as: UTF8.self)
        }
    }

    private func importRow(_ rec: RecordBuffer) throws {
        if rec.oversize > 0 { return try quarantine(rec, "row too long", "\(rec.bytes.count + rec.oversize) bytes; the limit is 1 MiB") }
        if rec.oversize < 0 { return try quarantine(rec, "not a JSON object", "") }
        if rec.count != mapping.header.count {
            return try quarantine(rec, "wrong column count", "expected \(mapping.header.count) fields, found \(rec.count)")
        }
        if !isValidUTF8(rec.bytes) { return try quarantine(rec, "invalid UTF-8", "") }

        // Who.
        let custKey = field(rec, .customer)
        let anon = field(rec, .anonymous)
        let cust: Int64
        if let custKey {
            cust = try customer(custKey, anonymous: false)
            if let anon, identities[anon] == nil {
                identities[anon] = cust
                newIdentities.append((anon, cust))
            }
        } else if let anon {
            if let known = identities[anon] { cust = known } else { cust = try customer("anon:" + anon, anonymous: true) }
        } else {
            return try quarantine(rec, "no customer", "customer_id is empty")
        }
        // When.
        guard let tsField = mapping.fieldColumn[.timestamp] else { return }
        let ts: Int64? = rec.bytes.withUnsafeBytes { raw in
            TimestampParser.parse(UnsafeRawBufferPointer(rebasing: raw[rec.start(tsField)..<rec.ends[tsField]]))
        }
        guard let ts else {
            let text = rec.start(tsField) == rec.ends[tsField] ? "timestamp is empty" : "'\(rec.string(tsField))'"
            return try quarantine(rec, "bad timestamp", text)
        }
        // What.
        guard let eventRaw = field(rec, .event) else { return try quarantine(rec, "no event", "event is empty") }
        let event = try categoricalCode("event", eventRaw)
        var props: [(String, String)] = []
        let channel = try field(rec, .channel).map { try categoricalCode("channel", $0) } ?? 0
        var stage: Int64 = 0
        if let s = field(rec, .stage) {
            let name = normalizer.categorical(s, domain: "stage")
            if let o = stageOrd[name] { stage = o + 1 } else { props.append(("stage", s)) }
        }
        var kind: Int64 = 0
        if let k = field(rec, .kind) {
            switch normalizer.categorical(k, domain: "kind") {
            case "paid": kind = 1
            case "owned": kind = 2
            case "earned": kind = 3
            default: props.append(("kind", k))
            }
        }
        var online: Int64? = nil
        if let o = field(rec, .online) {
            switch o.lowercased() {
            case "1", "true", "yes", "online": online = 1
            case "0", "false", "no", "offline": online = 0
            default: props.append(("online", o))
            }
        }
        let campaign = try field(rec, .campaign).map { try categoricalCode("campaign", $0) } ?? 0
        let device = try field(rec, .device).map { try categoricalCode("device", $0) } ?? 0
        let src = try field(rec, .source).map { try categoricalCode("source", $0) } ?? 0
        var value: Double? = nil
        if let v = field(rec, .value) {
            if let d = Double(v), d.isFinite { value = d } else { props.append(("value", v)) }
        }
        if let acct = field(rec, .account) {
            let a = try account(acct)
            if customerAccount[cust] != a {
                customerAccount[cust] = a
                let st = try db.prepare("UPDATE customers SET account=? WHERE id=?")
                try st.bind([.int(a), .int(cust)]); try st.run()
            }
        }
        for (i, name) in mapping.extraColumns where rec.start(i) != rec.ends[i] {
            props.append((name, rec.string(i)))
        }
        let propsJSON = props.isEmpty ? nil : jsonObject(props)

        var h = Hasher64()
        h.mix(ts); h.mix(event); h.mix(channel); h.mix(stage); h.mix(kind); h.mix(online ?? -1); h.mix(campaign)
        h.mix(device); h.mix(src); h.mix(Int64(bitPattern: value?.bitPattern ?? 0x7FF8_dead_beef))
        if let propsJSON { h.mix(string: propsJSON) }
        let rowhash = h.value

        let st = insertEvent
        st.bindInt(cust, at: 1); st.bindInt(ts, at: 2); st.bindInt(rowhash, at: 3); st.bindInt(seq, at: 4)
        st.bindInt(event, at: 5); st.bindInt(channel, at: 6); st.bindInt(stage, at: 7); st.bindInt(kind, at: 8)
        if let online { st.bindInt(online, at: 9) } else { st.bindNull(at: 9) }
        st.bindInt(campaign, at: 10); st.bindInt(device, at: 11); st.bindInt(src, at: 12)
        if let value { st.bindDouble(value, at: 13) } else { st.bindNull(at: 13) }
        if let propsJSON { st.bindText(propsJSON, at: 14) } else { st.bindNull(at: 14) }
        try st.run()
        if db.changes == 0 {
            findExisting.bindInt(cust, at: 1); findExisting.bindInt(ts, at: 2); findExisting.bindInt(rowhash, at: 3)
            let existing = try findExisting.step() ? findExisting.int(0) : 0
            findExisting.reset()
            if existing >= firstSeq { report.duplicates += 1 } else { report.alreadyStored += 1 }
        } else {
            seq += 1
            report.stored += 1
            dirty.insert(cust / Store.chunkSize)
        }
    }

    /// Joins each newly identified anonymous id's events to its customer.
    private func stitchIdentities() throws {
        guard !newIdentities.isEmpty else { return }
        try db.transaction {
            let ins = try db.prepare("INSERT OR IGNORE INTO identities(anonymous_id, customer) VALUES(?, ?)")
            for (anon, cust) in newIdentities {
                try ins.bind([.text(anon), .int(cust)]); try ins.run()
                guard let anonCust = customerID["anon:" + anon], anonCust != cust else { continue }
                try store.moveEvents(from: anonCust, to: cust)
                report.identitiesStitched += 1
            }
        }
    }
}

extension Store {
    /// Re-homes every event of customer `from` onto `to` (identity stitching) and marks both chunks dirty.
    func moveEvents(from: Int64, to: Int64) throws {
        try db.execute("""
            INSERT OR IGNORE INTO events SELECT \(to), ts, rowhash, seq, event, channel, stage, kind, online, campaign,
                device, source, value, props, merged FROM events WHERE customer = \(from);
            DELETE FROM events WHERE customer = \(from);
            UPDATE customers SET merged_into = \(to) WHERE id = \(from);
            UPDATE customers SET account = coalesce(account, (SELECT account FROM customers WHERE id = \(from))) WHERE id = \(to);
            INSERT OR IGNORE INTO dirty_chunks VALUES(\(from / Store.chunkSize)), (\(to / Store.chunkSize));
            """)
    }
}

/// A 64-bit mixing hash over integers and strings (row fingerprints; not cryptographic).
struct Hasher64 {
    private(set) var state: UInt64 = 0x243F_6A88_85A3_08D3
    @inline(__always) mutating func mix(_ v: Int64) {
        state = (state ^ UInt64(bitPattern: v)) &* 0x9E37_79B9_7F4A_7C15
        state ^= state >> 29
    }
    mutating func mix(string: String) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in string.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        mix(Int64(bitPattern: h))
    }
    var value: Int64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int64(bitPattern: z ^ (z >> 31))
    }
}

