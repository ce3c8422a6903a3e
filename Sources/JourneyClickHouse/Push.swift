import Foundation
import JourneyCore
import JourneyStore

/// The tables journey keeps in ClickHouse. Events in customer order (MergeTree ORDER BY (customer, ts, seq)); the
/// catalog, attributes and customer keys in small tables. On a cluster the events are a Distributed table over
/// `events_local` on every shard, sharded by `cityHash64(customer)` so a customer's events stay on one shard,
/// and the small tables are copied to every shard (a shard then answers `customer IN (SELECT …)` alone).
public enum ClickHouseSchema {
    public static let eventColumns = "customer Int64, ts Int64, seq UInt32, event UInt32, channel UInt16, stage UInt8, kind UInt8, campaign UInt32, device UInt16, source UInt16, value Float64"

    static func smallTables() -> [String] {
        ["CREATE TABLE IF NOT EXISTS dictionary (field String, code UInt32, name String) ENGINE = MergeTree ORDER BY (field, code)",
         "CREATE TABLE IF NOT EXISTS attributes (customer Int64, scope String, name String, value String) ENGINE = MergeTree ORDER BY (scope, name, customer)",
         "CREATE TABLE IF NOT EXISTS customers (customer Int64, key String, account Int64, account_key String) ENGINE = MergeTree ORDER BY customer",
         "CREATE TABLE IF NOT EXISTS push_log (batch UInt32, lo Int64, hi Int64, events UInt64, customers UInt64) ENGINE = MergeTree ORDER BY batch",
         "CREATE TABLE IF NOT EXISTS meta (key String, value String) ENGINE = MergeTree ORDER BY key",
         "CREATE TABLE IF NOT EXISTS properties (customer Int64, seq UInt32, name String, value String) ENGINE = MergeTree ORDER BY (name, customer, seq)"]
    }
}

/// `journey push STORE --clickhouse URL [--cluster NAME --shard URL …]`: copies a store into ClickHouse in
/// batches of whole customers. Each batch is one INSERT (atomic per shard, and a customer lives on one shard);
/// `push_log` records the batches done, so a rerun after an interruption continues at the first batch not
/// logged and skips the customers of it that already arrived: no event is stored twice.
public struct Pusher {
    public let store: Store
    public let client: ClickHouseClient
    public var cluster: String?
    /// Every shard's HTTP URL (a cluster): the tables are created on each, the small tables filled on each.
    public var shards: [ClickHouseClient] = []
    public var batchEvents = 500_000
    public var progress: ((String) -> Void)?

    public init(store: Store, client: ClickHouseClient) { self.store = store; self.client = client }

    public struct Summary: CustomStringConvertible {
        public var events = 0, customers = 0, batches = 0, skippedBatches = 0, skippedCustomers = 0
        public var description: String {
            "\(events.grouped) events of \(customers.grouped) customers pushed in \(batches) batches"
                + (skippedBatches > 0 ? "; \(skippedBatches) batches were already there (resumed)" : "")
                + (skippedCustomers > 0 ? "; \(skippedCustomers) customers of an interrupted batch were already there" : "")
        }
    }

    public func push() throws -> Summary {
        let hosts = shards.isEmpty ? [client] : shards
        for h in hosts {
            try h.query("CREATE DATABASE IF NOT EXISTS \(h.database)", inDatabase: false)
            for ddl in ClickHouseSchema.smallTables() { try h.query(ddl) }
        }
        if let cluster {
            guard cluster.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw ClickHouseError("a cluster name holds letters, digits and _ only") }
            for h in hosts {
                try h.query("CREATE TABLE IF NOT EXISTS events_local (\(ClickHouseSchema.eventColumns)) ENGINE = MergeTree ORDER BY (customer, ts, seq)")
                try h.query("CREATE TABLE IF NOT EXISTS events (\(ClickHouseSchema.eventColumns)) ENGINE = Distributed(\(cluster), \(h.database), events_local, cityHash64(customer))")
            }
        } else {
            try client.query("CREATE TABLE IF NOT EXISTS events (\(ClickHouseSchema.eventColumns)) ENGINE = MergeTree ORDER BY (customer, ts, seq)")
        }
        // The journeys, the catalog and (below) the properties, all from one state of the store.
        let loaded = try store.loadJourneys(columns: Set(PackedColumn.allCases))
        let seq = loaded.sequences, catalog = loaded.catalog
        let fingerprint = "\(seq.customerCount)/\(seq.eventCount)/\(seq.times.first ?? 0)/\(seq.times.last ?? 0)"
        let kept = try client.rows("SELECT value FROM meta WHERE key = 'store'").first?.first
        if let kept, kept != fingerprint {
            throw ClickHouseError("the database \(client.database) on \(client.display) holds a push of another store (or of this one before it changed); push into a new database")
        }
        if kept == nil {
            // The small tables first, on every shard, then the mark that they are complete.
            for h in hosts { try pushSmallTables(h, seq: seq, catalog: catalog, generation: loaded.generation) }
            for h in hosts { try h.query("INSERT INTO meta FORMAT TabSeparated", body: Data("store\t\(SQL.tsv(fingerprint))\n".utf8)) }
        }
        // Batches of whole customers, up to `batchEvents` events each: the same cut on every run of one store.
        var cuts: [Int] = [0]
        var c = 0
        while c < seq.customerCount {
            let start = Int(seq.offsets[c])
            var d = c + 1
            while d < seq.customerCount && Int(seq.offsets[d + 1]) - start <= batchEvents { d += 1 }
            cuts.append(d); c = d
        }
        let done = Set(try client.rows("SELECT batch FROM push_log").compactMap { $0.first.flatMap { Int($0) } })
        var summary = Summary()
        summary.customers = seq.customerCount
        for b in 0..<(cuts.count - 1) {
            let lo = cuts[b], hi = cuts[b + 1]
            let events = Int(seq.offsets[hi] - seq.offsets[lo])
            if done.contains(b) { summary.skippedBatches += 1; summary.events += events; continue }
            // An interrupted batch may have reached some shards: its customers already there are skipped.
            let present = Set(try client.rows("SELECT DISTINCT customer FROM events WHERE customer >= \(seq.customerIDs[lo]) AND customer <= \(seq.customerIDs[hi - 1])")
                .compactMap { $0.first.flatMap { Int64($0) } })
            summary.skippedCustomers += present.count
            // RowBinary: each row its columns' fixed-width little-endian bytes (44 per event), no text to format
            // or parse; a customer's events keep their position in the journey as `seq`.
            var body = [UInt8](), n = 0
            body.reserveCapacity(events * 44)
            func put<T: FixedWidthInteger>(_ x: T) { withUnsafeBytes(of: x.littleEndian) { body.append(contentsOf: $0) } }
            seq.values.withView { values in
                for c in lo..<hi where !present.contains(seq.customerIDs[c]) {
                    let id = seq.customerIDs[c]
                    for (k, i) in (Int(seq.offsets[c])..<Int(seq.offsets[c + 1])).enumerated() {
                        put(id); put(seq.times[i]); put(UInt32(k)); put(seq.events[i]); put(seq.channels[i]); put(seq.stages[i]); put(seq.kinds[i])
                        put(seq.campaigns[i]); put(seq.devices.isEmpty ? UInt16(0) : seq.devices[i]); put(seq.sources.isEmpty ? UInt16(0) : seq.sources[i])
                        put(values[i].bitPattern)
                        n += 1
                    }
                }
            }
            if n > 0 { try client.query("INSERT INTO events FORMAT RowBinary", body: Data(body), settings: ["insert_distributed_sync": "1"]) }
            try client.query("INSERT INTO push_log FORMAT TabSeparated",
                             body: Data("\(b)\t\(seq.customerIDs[lo])\t\(seq.customerIDs[hi - 1])\t\(events)\t\(hi - lo)\n".utf8))
            summary.batches += 1; summary.events += events
            progress?("pushing events: \(Int(Double(summary.events) * 100 / Double(max(seq.eventCount, 1))))% (\(summary.events.grouped) of \(seq.eventCount.grouped))")
        }
        return summary
    }

    /// The catalog, the customers' attributes and keys.
    func pushSmallTables(_ h: ClickHouseClient, seq: PackedSequences, catalog: Catalog, generation: Int64) throws {
        for t in ["dictionary", "attributes", "customers", "properties"] { try h.query("TRUNCATE TABLE \(t)") }
        var dict = ""
        func names(_ field: String, _ list: [String], offset: Int = 0) {
            for (i, n) in list.enumerated() where !n.isEmpty { dict += "\(field)\t\(i + offset)\t\(SQL.tsv(n))\n" }
        }
        names("event", catalog.events); names("channel", catalog.channels); names("campaign", catalog.campaigns)
        names("device", catalog.devices); names("source", catalog.sources); names("stage", catalog.stages, offset: 1)
        names("property", catalog.properties); names("customer_attribute", catalog.customerAttributes)
        for (code, cost) in catalog.eventCosts.enumerated() where cost != 0 { dict += "event_cost\t\(code)\t\(cost)\n" }
        try h.query("INSERT INTO dictionary FORMAT TabSeparated", body: Data(dict.utf8))
        let ids = seq.customerIDs
        var attrs = Data()
        for name in catalog.customerAttributes {
            for (c, v) in try store.customerAttribute(name, for: ids).enumerated() {
                if let v { attrs.append(contentsOf: "\(ids[c])\tcustomer\t\(SQL.tsv(name))\t\(SQL.tsv(v))\n".utf8) }
            }
        }
        for name in ["name", "industry", "country", "size"] {
            for (c, v) in try store.accountAttribute(name, for: ids).enumerated() {
                if let v { attrs.append(contentsOf: "\(ids[c])\taccount\t\(name)\t\(SQL.tsv(v))\n".utf8) }
            }
        }
        if !attrs.isEmpty { try h.query("INSERT INTO attributes FORMAT TabSeparated", body: attrs) }
        let keys = try store.customerKeys(for: ids), accounts = try store.accounts(for: ids), accountKeys = try store.accountKeys(forCustomers: ids)
        var rows = Data()
        for c in ids.indices { rows.append(contentsOf: "\(ids[c])\t\(SQL.tsv(keys[c]))\t\(accounts[c])\t\(SQL.tsv(accountKeys[c]))\n".utf8) }
        if !rows.isEmpty { try h.query("INSERT INTO customers FORMAT TabSeparated", body: rows) }
        // Imported event properties, by (customer, position in the customer's journey), names lower-cased.
        for name in catalog.properties {
            let column: (values: [String], codes: [UInt32])
            do { column = try store.loadProperty(name, at: generation) } catch is Store.StoreChanged {
                throw ClickHouseError("the store changed while it was pushed (another process imported into it); push it again, into a new database, when the import has finished")
            }
            var body = Data()
            for c in 0..<seq.customerCount {
                let lo = Int(seq.offsets[c])
                for i in lo..<Int(seq.offsets[c + 1]) where column.codes[i] != 0 {
                    body.append(contentsOf: "\(ids[c])\t\(i - lo)\t\(SQL.tsv(name.lowercased()))\t\(SQL.tsv(column.values[Int(column.codes[i])]))\n".utf8)
                }
            }
            if !body.isEmpty { try h.query("INSERT INTO properties FORMAT TabSeparated", body: body) }
        }
    }
}
