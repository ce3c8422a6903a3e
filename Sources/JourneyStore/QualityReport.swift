import JourneyCore

extension Store {
    /// Data quality: nulls per field, duplicate rate, unknown stages and channel spellings, customers without
    /// a stage, time range, events per customer. Rows: section, measure, value.
    public func quality() throws -> ResultTable {
        var rows: [[Value]] = []
        let total = Int(try db.scalarInt("SELECT count(*) FROM events"))
        let kept = Int(try db.scalarInt("SELECT count(*) FROM events WHERE merged = 0"))
        func pct(_ n: Int, _ d: Int) -> Value { .percent(d > 0 ? Double(n) / Double(d) : .nan) }
        rows.append([.text("size"), .text("events stored (after merging)"), .int(kept)])
        rows.append([.text("size"), .text("customers"), .int(Int(try db.scalarInt("SELECT count(*) FROM customers WHERE merged_into IS NULL")))])
        rows.append([.text("size"), .text("accounts"), .int(Int(try db.scalarInt("SELECT count(*) FROM accounts")))])
        let r = try db.prepare("SELECT min(ts), max(ts) FROM events WHERE merged = 0")
        if try r.step(), !r.isNull(0) {
            rows.append([.text("time range"), .text("first event"), .text(UTC.format(ms: r.int(0)))])
            rows.append([.text("time range"), .text("last event"), .text(UTC.format(ms: r.int(1)))])
        }
        for (field, cond) in [("channel", "channel = 0"), ("stage (on the row)", "stage = 0"), ("kind (on the row)", "kind = 0"),
                              ("campaign", "campaign = 0"), ("device", "device = 0"), ("source", "source = 0"), ("value", "value IS NULL")] {
            let n = Int(try db.scalarInt("SELECT count(*) FROM events WHERE merged = 0 AND \(cond)"))
            rows.append([.text("nulls"), .text(field), pct(n, kept)])
        }
        let read = Int(try db.scalarInt("SELECT coalesce(sum(rows_read),0) FROM imports"))
        let dups = Int(try db.scalarInt("SELECT coalesce(sum(duplicates),0) FROM imports"))
        rows.append([.text("duplicates"), .text("exact duplicates merged"), .int(dups)])
        rows.append([.text("duplicates"), .text("same touchpoint from two sources"), .int(total - kept)])
        rows.append([.text("duplicates"), .text("duplicate rate of rows read"), pct(dups + total - kept, read)])
        let q = try db.prepare("SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY 2 DESC")
        var anyQ = false
        while try q.step() { anyQ = true; rows.append([.text("quarantined"), .text(q.text(0) ?? ""), .int(Int(q.int(1)))]) }
        if !anyQ { rows.append([.text("quarantined"), .text("rows"), .int(0)]) }
        let us = try db.prepare("SELECT json_extract(props, '$.stage') s, count(*) FROM events WHERE props LIKE '%\"stage\"%' GROUP BY s ORDER BY 2 DESC LIMIT 10")
        var anyU = false
        while try us.step() { anyU = true; rows.append([.text("unknown stages"), .text(us.text(0) ?? ""), .int(Int(us.int(1)))]) }
        if !anyU { rows.append([.text("unknown stages"), .text("values not in the stage catalog"), .int(0)]) }
        // Channel names that look like spellings of each other (same letters once '_' is dropped, or 1 edit apart).
        let cat = try catalog()
        let channels = cat.channels.filter { !$0.isEmpty }
        var similar = 0
        for (i, a) in channels.enumerated() {
            for b in channels[(i + 1)...] where a.replacingOccurrences(of: "_", with: "") == b.replacingOccurrences(of: "_", with: "") || (a.count > 4 && levenshtein(a, b) == 1) {
                rows.append([.text("channels"), .text("similar names: \(a) / \(b)"), .null]); similar += 1
            }
        }
        let tpCount = Int(try db.scalarInt("SELECT count(*) FROM touchpoints"))
        if tpCount > 0 {
            let unknown = try db.prepare("""
                SELECT d.name FROM dictionary d WHERE d.domain='channel'
                AND d.name NOT IN (SELECT channel FROM touchpoints WHERE channel IS NOT NULL) ORDER BY d.name LIMIT 10
                """)
            while try unknown.step() { rows.append([.text("channels"), .text("not in the touchpoint catalog: \(unknown.text(0) ?? "")"), .null]) }
        }
        rows.append([.text("channels"), .text("distinct channels"), .int(channels.count)])
        // From the packed sequences: customers without any stage, events per customer.
        let seq = try loadSequences()
        var noStage = 0
        var perCustomer: [Double] = []
        for c in 0..<seq.customerCount {
            let lo = Int(seq.offsets[c]), hi = Int(seq.offsets[c + 1])
            perCustomer.append(Double(hi - lo))
            if !(lo..<hi).contains(where: { seq.stages[$0] != 0 }) { noStage += 1 }
        }
        rows.append([.text("stages"), .text("customers without any stage"), .int(noStage)])
        perCustomer.sort()
        for (name, q) in [("min", 0.0), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("p90", 0.9), ("max", 1.0)] {
            rows.append([.text("events per customer"), .text(name), .double(quantile(perCustomer, q))])
        }
        return ResultTable(title: "data quality", columns: ["section", "measure", "value"], rows: rows)
    }
}
