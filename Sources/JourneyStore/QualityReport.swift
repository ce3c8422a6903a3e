import Foundation
import JourneyCore

extension Store {
    /// Data quality: nulls per field, duplicate rate, unknown stages and channel spellings, customers without
    /// a stage, time range, events per customer. Rows: section, measure, value.
    /// Read from one committed state of the store.
    public func quality() throws -> ResultTable { try consistently { try qualityInSnapshot() } }

    private func qualityInSnapshot() throws -> ResultTable {
        var rows: [[Value]] = []
        func pct(_ n: Int, _ d: Int) -> Value { .percent(d > 0 ? Double(n) / Double(d) : .nan) }
        // One pass over the stored columns.
        var total = 0, kept = 0
        var nulls = [Int](repeating: 0, count: 7)
        var unknownStages: [String: Int] = [:]
        var minTs = Int64.max, maxTs = Int64.min
        try forEachChunk { d in
            if isCancelled() { throw QueryCancelled() }
            let c = d.columns
            for i in 0..<c.count {
                total += 1
                guard c.merged[i] == 0 else { continue }
                kept += 1
                minTs = min(minTs, c.times[i]); maxTs = max(maxTs, c.times[i])
                if c.channels[i] == 0 { nulls[0] += 1 }
                if c.stages[i] == 0 { nulls[1] += 1 }
                if c.kinds[i] == 0 { nulls[2] += 1 }
                if c.campaigns[i] == 0 { nulls[3] += 1 }
                if c.devices[i] == 0 { nulls[4] += 1 }
                if c.sources[i] == 0 { nulls[5] += 1 }
                if c.values[i].isNaN { nulls[6] += 1 }
                if let p = c.props(i), p.contains("\"stage\""),
                   let obj = try? JSONSerialization.jsonObject(with: Data(p.utf8)) as? [String: String], let st = obj["stage"] {
                    unknownStages[st, default: 0] += 1
                }
            }
        }
        rows.append([.text("size"), .text("events stored (after merging)"), .int(kept)])
        rows.append([.text("size"), .text("customers"), .int(Int(try db.scalarInt("SELECT count(*) FROM customers WHERE merged_into IS NULL")))])
        rows.append([.text("size"), .text("accounts"), .int(Int(try db.scalarInt("SELECT count(*) FROM accounts")))])
        if kept > 0 {
            rows.append([.text("time range"), .text("first event"), .text(UTC.format(ms: minTs))])
            rows.append([.text("time range"), .text("last event"), .text(UTC.format(ms: maxTs))])
        }
        for (k, field) in ["channel", "stage (on the row)", "kind (on the row)", "campaign", "device", "source", "value"].enumerated() {
            rows.append([.text("nulls"), .text(field), pct(nulls[k], kept)])
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
        for (st, n) in unknownStages.sorted(by: { $0.value > $1.value }).prefix(10) { rows.append([.text("unknown stages"), .text(st), .int(n)]) }
        if unknownStages.isEmpty { rows.append([.text("unknown stages"), .text("values not in the stage catalog"), .int(0)]) }
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
        if isCancelled() { throw QueryCancelled() }
        let seq = try loadSequences(columns: [], threads: nil)
        var noStage = 0
        var perCustomer: [Double] = []
        for c in 0..<seq.customerCount {
            if c & 0xFFF == 0, isCancelled() { throw QueryCancelled() }
            let lo = Int(seq.offsets[c]), hi = Int(seq.offsets[c + 1])
            perCustomer.append(Double(hi - lo))
            if !(lo..<hi).contains(where: { seq.stages[$0] != 0 }) { noStage += 1 }
        }
        rows.append([.text("stages"), .text("customers without any stage"), .int(noStage)])
        if isCancelled() { throw QueryCancelled() }
        perCustomer = radixSorted(perCustomer)
        for (name, q) in [("min", 0.0), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("p90", 0.9), ("max", 1.0)] {
            rows.append([.text("events per customer"), .text(name), .double(quantile(perCustomer, q))])
        }
        return ResultTable(title: "data quality", columns: ["section", "measure", "value"], rows: rows)
    }
}
