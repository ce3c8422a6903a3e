import Foundation
import JourneyCore

/// Imports customer and account master data, identity mappings and the touchpoint catalog (upserts).
final class MasterDataImporter {
    let store: Store
    let db: Database
    let source: RowSource
    let table: ImportTable
    let mapping: ColumnMapping
    var report: ImportReport

    init(store: Store, source: RowSource, table: ImportTable, options: ImportOptions) throws {
        self.store = store
        db = store.db
        self.source = source
        self.table = table
        mapping = try ColumnMapping(header: source.header, table: table, overrides: options.mappings)
        report = ImportReport(file: source.path, table: table)
    }

    private func value(_ rec: RecordBuffer, _ f: Field) -> String? {
        guard let i = mapping.fieldColumn[f] else { return nil }
        let t = rec.trimmedString(i)
        return t.isEmpty ? nil : t
    }

    private func attrs(_ rec: RecordBuffer) -> SQLValue {
        let pairs = mapping.extraColumns.compactMap { (i, name) -> (String, String)? in
            let v = rec.trimmedString(i)
            return v.isEmpty ? nil : (name, v)
        }
        return pairs.isEmpty ? .null : .text(jsonObject(pairs))
    }

    private func text(_ s: String?) -> SQLValue { s.map { .text($0) } ?? .null }
    private func int(_ s: String?) -> SQLValue { s.flatMap { Int64($0.replacingOccurrences(of: ",", with: "")) }.map { .int($0) } ?? .null }

    private func quarantine(_ rec: RecordBuffer, _ reason: String, _ detail: String) throws {
        report.quarantined[reason, default: 0] += 1
        if report.problems.count < 5 { report.problems.append((rec.line, reason, detail)) }
        let st = try db.prepare("INSERT OR IGNORE INTO quarantine(file, line, reason, detail, raw) VALUES(?,?,?,?,?)")
        try st.bind([.text(source.path), .int(Int64(rec.line)), .text(reason), .text(detail),
                     .text(rec.rawText())])
        try st.run()
    }

    func run() throws -> ImportReport {
        if table == .stages { return try importStages() }
        let start = Date()
        var rec = RecordBuffer()
        var touchpointsChanged = false
        try db.transaction {
            let accountUpsert = try db.prepare("""
                INSERT INTO accounts(key, name, industry, size, country, attrs) VALUES(?,?,?,?,?,?)
                ON CONFLICT(key) DO UPDATE SET name=coalesce(excluded.name, name), industry=coalesce(excluded.industry, industry),
                  size=coalesce(excluded.size, size), country=coalesce(excluded.country, country), attrs=coalesce(excluded.attrs, attrs)
                """)
            let accountKey = try db.prepare("INSERT OR IGNORE INTO accounts(key) VALUES(?)")
            let customerUpsert = try db.prepare("""
                INSERT INTO customers(id, key, account, segment, status, industry, company_size, country, first_contact, attrs)
                VALUES((SELECT coalesce(max(id),0)+1 FROM customers), ?, (SELECT id FROM accounts WHERE key=?), ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET account=coalesce(excluded.account, account), segment=coalesce(excluded.segment, segment),
                  status=coalesce(excluded.status, status), industry=coalesce(excluded.industry, industry),
                  company_size=coalesce(excluded.company_size, company_size), country=coalesce(excluded.country, country),
                  first_contact=coalesce(excluded.first_contact, first_contact), attrs=coalesce(excluded.attrs, attrs)
                """)
            let touchpoint = try db.prepare("INSERT OR REPLACE INTO touchpoints(event, stage, channel, kind, online, cost) VALUES(?,?,?,?,?,?)")
            let stages = Set(try store.catalog().stages)
            var normalizer = ValueNormalizer(aliases: [:])
            let aliasQuery = try db.prepare("SELECT domain, alias, canonical FROM aliases")
            while try aliasQuery.step() { normalizer.aliases[aliasQuery.text(0) ?? "", default: [:]][aliasQuery.text(1) ?? ""] = aliasQuery.text(2) ?? "" }
            while try source.next(into: &rec) {
                report.rowsRead += 1
                if rec.count != mapping.header.count {
                    try quarantine(rec, "wrong column count", "expected \(mapping.header.count) fields, found \(rec.count)"); continue
                }
                if !rec.isValidText { try quarantine(rec, "invalid UTF-8", ""); continue }
                switch table {
                case .accounts:
                    guard let key = value(rec, .account) else { try quarantine(rec, "no account", "account_id is empty"); continue }
                    try accountUpsert.bind([.text(key), text(value(rec, .name)), text(value(rec, .industry)), int(value(rec, .size)),
                                            text(value(rec, .country)), attrs(rec)])
                    try accountUpsert.run()
                case .customers:
                    guard let key = value(rec, .customer) else { try quarantine(rec, "no customer", "customer_id is empty"); continue }
                    let acct = value(rec, .account)
                    if let acct { try accountKey.bind([.text(acct)]); try accountKey.run() }
                    var first: SQLValue = .null
                    if let f = value(rec, .firstContact) {
                        guard let ms = TimestampParser.parse(f) else { try quarantine(rec, "bad timestamp", "first_contact '\(f)'"); continue }
                        first = .int(ms)
                    }
                    try customerUpsert.bind([.text(key), text(acct), text(value(rec, .segment).map { normalizer.categorical($0, domain: "segment") }),
                                             text(value(rec, .status).map { normalizer.categorical($0, domain: "status") }),
                                             text(value(rec, .industry)), int(value(rec, .companySize)), text(value(rec, .country)),
                                             first, attrs(rec)])
                    try customerUpsert.run()
                case .identities:
                    guard let anon = value(rec, .anonymous), let cust = value(rec, .customer) else {
                        try quarantine(rec, "incomplete identity", "needs anonymous_id and customer_id"); continue
                    }
                    try linkIdentity(anon: anon, customerKey: cust)
                case .touchpoints:
                    guard let ev = value(rec, .event) else { try quarantine(rec, "no event", "event is empty"); continue }
                    let stage = value(rec, .stage).map { normalizer.categorical($0, domain: "stage") }
                    if let stage, !stages.contains(stage) {
                        let hint = suggestion(for: stage, among: Array(stages)).map { " — did you mean '\($0)'?" } ?? ""
                        try quarantine(rec, "unknown stage", "'\(stage)'\(hint)"); continue
                    }
                    let kind = value(rec, .kind).map { normalizer.categorical($0, domain: "kind") }
                    if let kind, !["paid", "owned", "earned"].contains(kind) {
                        try quarantine(rec, "unknown kind", "'\(kind)' (paid, owned or earned)"); continue
                    }
                    let online: SQLValue = value(rec, .online).map { ["1", "true", "yes", "online"].contains($0.lowercased()) ? .int(1) : .int(0) } ?? .null
                    var cost: SQLValue = .null
                    if let c = value(rec, .cost) {
                        guard let x = Double(c.replacingOccurrences(of: ",", with: "")), x.isFinite, x >= 0 else {
                            try quarantine(rec, "bad cost", "'\(c)' (a number of at least 0: what one touch costs)"); continue
                        }
                        cost = .real(x)
                    }
                    try touchpoint.bind([.text(ValueNormalizer.label(ev)), text(stage), text(value(rec, .channel).map { normalizer.categorical($0, domain: "channel") }),
                                         text(kind), online, cost])
                    try touchpoint.run()
                    touchpointsChanged = true
                case .events, .stages: break
                }
                report.stored += 1
            }
            if table == .customers {
                // The free attribute names, kept in meta so opening the store need not scan every customer.
                try store.setMeta("customer_attrs", try Store.scanCustomerAttributes(db).joined(separator: "\n"))
            }
            if touchpointsChanged {
                // Catalog channels never seen on a row still need a code, so the loader can fill them in.
                try db.execute("""
                    INSERT INTO dictionary(domain, code, name)
                    SELECT 'channel', (SELECT coalesce(max(code),0) FROM dictionary WHERE domain='channel') + row_number() OVER (ORDER BY channel), channel
                    FROM (SELECT DISTINCT channel FROM touchpoints WHERE channel IS NOT NULL
                          AND channel NOT IN (SELECT name FROM dictionary WHERE domain='channel'))
                    """)
            }
        }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// The stage catalog in file order. Stored events refer to stages by position, so a store that holds events
    /// keeps its stages in place and may only gain new ones at the end.
    private func importStages() throws -> ImportReport {
        var rec = RecordBuffer()
        var names: [String] = []
        while try source.next(into: &rec) {
            report.rowsRead += 1
            guard rec.count == mapping.header.count, let raw = value(rec, .stage) else { continue }
            let name = ValueNormalizer.key(raw)
            if !names.contains(name) { names.append(name) }
        }
        guard !names.isEmpty else { throw StoreError("\(source.path): no stage names (one per row, in journey order, under a 'stage' header)") }
        let current = try store.catalog().stages
        let hasEvents = try db.scalarInt("SELECT count(*) FROM chunks") > 0
        if hasEvents && Array(names.prefix(current.count)) != current {
            throw StoreError("\(source.path): this store already holds events, which refer to its stages by position (\(current.joined(separator: " > "))); a new catalog must start with them in that order and may only add stages at the end")
        }
        try db.transaction {
            try db.execute("DELETE FROM stages")
            let st = try db.prepare("INSERT INTO stages(ord, name) VALUES(?, ?)")
            for (i, n) in names.enumerated() { try st.bind([.int(Int64(i)), .text(n)]); try st.run() }
        }
        report.stored = names.count
        return report
    }

    private func linkIdentity(anon: String, customerKey: String) throws {
        try db.execute("INSERT OR IGNORE INTO customers(id, key) VALUES((SELECT coalesce(max(id),0)+1 FROM customers), \(sqlQuote(customerKey)))")
        let cust = try db.scalarInt("SELECT id FROM customers WHERE key=?", [.text(customerKey)])
        let ins = try db.prepare("INSERT OR IGNORE INTO identities(anonymous_id, customer) VALUES(?, ?)")
        try ins.bind([.text(anon), .int(cust)]); try ins.run()
        let anonCust = try db.scalarInt("SELECT id FROM customers WHERE key=?", [.text("anon:" + anon)])
        if anonCust != 0 && anonCust != cust {
            try store.rehome([(anonCust, cust)], writer: try ChunkWriter(store: store, importID: 0))
            report.identitiesStitched += 1
        }
    }
}

func sqlQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
