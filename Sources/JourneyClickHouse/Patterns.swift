import Foundation
import JourneyCore
import JourneyPlanner
import JourneyEngine
import JourneyResults

/// Patterns on ClickHouse. A pattern is a regular expression over events with time bounds, matched
/// earliest-ending first (docs/semantics.md, match): neither 18.16's `sequenceMatch` (it skips events that match
/// no condition and backtracks its own way) nor array functions without a fold express that. So the server does
/// the reducing — the filters, and which customers have an event for every step a match cannot do without —
/// and sends those customers' events (of a pattern made of steps and `then` only: just the events a step
/// matches); journey's own matcher runs on them, and the totals that need the whole store come from the server.
extension Translator {
    /// The steps every match needs (a customer without one of them cannot match).
    static func required(_ p: BoundPattern) -> [BoundStep] {
        switch p {
        case .step(let s): return s.predicate == .any ? [] : [s]
        case .sequence(let ps): return ps.flatMap(required)
        case .then(let a, let b, _): return required(a) + required(b)
        case .alternation: return []
        case .repetition(let p, let min, _): return min >= 1 ? required(p) : []
        }
    }

    /// Whether only the events a step matches can take part or stand between (steps, alternatives of steps and
    /// `then`: no juxtaposition or repetition, where an event matching nothing breaks a run).
    static func stepEventsSuffice(_ p: BoundPattern) -> Bool {
        switch p {
        case .step(let s): return s.predicate != .any
        case .then(let a, let b, _): return stepEventsSuffice(a) && stepEventsSuffice(b)
        case .alternation(let ps): return ps.allSatisfy { if case .step(let s) = $0 { return s.predicate != .any }; return false }
        case .sequence(let ps): return ps.count == 1 && stepEventsSuffice(ps[0])
        case .repetition: return false
        }
    }

    /// The events of the customers who can match, in the store's order: customer, ts, seq, event, channel,
    /// stage, kind, campaign, device, source, value (and the value of the property a `by` names).
    public func patternEvents(_ q: QueryPlan.Matching) throws -> String {
        if q.pattern.steps.contains(where: { !$0.predicate.properties.isEmpty }) { throw Untranslatable("a pattern step on an imported event property") }
        if let t = try carrying(q.by) { return try t.patternEvents(q) }
        let filter = try conditions(q.filter)
        var parts = [filter]
        if Self.stepEventsSuffice(q.pattern) {
            parts.append("(" + (try q.pattern.steps.map { try predicate($0.predicate) }).joined(separator: " OR ") + ")")
        }
        let needed = Self.required(q.pattern)
        if !needed.isEmpty {
            let having = try needed.map { "max(toUInt8(\(try predicate($0.predicate)))) = 1" }.joined(separator: " AND ")
            // The subquery reads the plain events (no property joined): on a cluster each shard's own table (a
            // customer's events stay on one shard) — or, when the rows are gathered before this condition runs
            // (a property joined), the whole table, its own conditions then reading each shard's.
            var plain = self
            plain.breakdownProperty = nil
            let table = accountLevel ? plain.events : breakdownProperty != nil ? "\(database).events" : localEvents
            parts.append("customer IN (SELECT customer FROM \(table) WHERE \(try plain.conditions(q.filter)) GROUP BY customer HAVING \(having))")
        }
        // Rows in the native order of customers (at account level: of each account's first person).
        let pv = breakdownProperty == nil ? "" : ", pv"
        let rows = "SELECT customer, ts, seq, event, channel, stage, kind, campaign, device, source, value\(pv) FROM \(events) WHERE \(parts.joined(separator: " AND "))"
        guard accountLevel else { return rows + "\nORDER BY customer, ts, seq" }
        return """
            SELECT customer, ts, seq, event, channel, stage, kind, campaign, device, source, value\(pv)
            FROM (\(rows)) AS l ANY LEFT JOIN (SELECT acct AS customer, first AS o FROM \(accountFirsts)) AS r USING customer
            ORDER BY o, ts, seq
            """
    }
}

extension ClickHouseBackend {
    /// `customers matching` and `count matching`: the server's customers who can match, matched by journey.
    func matching(_ q: QueryPlan.Matching, _ t: Translator) throws -> [ResultTable] {
        var property: String?
        if case .property(let name) = q.by?.source { property = name }
        let sequences = try reducedStore(try t.patternEvents(q), property: property)
        var local = q
        local.filter = BoundFilter()   // applied by the server
        let executor = Executor(data: JourneyData(sequences: sequences, catalog: catalog, attributes: ClickHouseAttributes(client: client, translator: t)))
        // The store's customers (at account level its accounts: people without one alone), as the native count.
        let units = t.accountLevel ? "SELECT count() FROM \(t.accountFirsts)" : "SELECT count() FROM \(t.database).customers"
        let storeCustomers = Int(try client.rows(units).first?.first ?? "0") ?? 0
        let notes = q.filter.description + [servedBy + "; the pattern matched by journey on the customers ClickHouse picked"]
        if q.count {
            var (aggregate, _) = try executor.countMatchingAggregate(local)
            aggregate.storeCustomers = storeCustomers
            // A customer attribute's share is of all the store's customers with that value.
            var bases: [String: Int] = [:]
            if let by = q.by, case .attribute(let a, let month) = by.source {
                let sql = "SELECT gattr, count() FROM (SELECT DISTINCT customer FROM \(t.events)) AS l \(t.attributeJoin(a, month: month)) GROUP BY gattr"
                for r in try client.rows(sql) where r.count == 2 { bases[t.label(by, r[0]), default: 0] += Int(r[1]) ?? 0 }
            }
            for k in aggregate.groups.indices {
                aggregate.groups[k].base = q.by.map { $0.isEventField } ?? true ? storeCustomers : bases[aggregate.groups[k].label] ?? 0
            }
            return ResultBuilder.countMatching(q, aggregate, filterNotes: notes)
        }
        var (aggregate, _) = try executor.customersMatchingAggregate(local) { ids in try self.keys(ids, t) }
        aggregate.storeCustomers = storeCustomers
        return ResultBuilder.customersMatching(q, aggregate, filterNotes: notes)
    }

    /// The customers' keys, in the order of `ids`.
    func keys(_ ids: [Int64], _ t: Translator) throws -> [String] {
        guard !ids.isEmpty else { return [] }
        var key: [Int64: String] = [:]
        for r in try client.rows("SELECT customer, key FROM \(t.rowKeys) WHERE customer IN \(SQL.codes(ids.map(Int.init)))") where r.count == 2 {
            if let c = Int64(r[0]) { key[c] = r[1] }
        }
        return ids.map { key[$0] ?? String($0) }
    }

    /// Journeys in memory from rows of `Translator.patternEvents`; a 12th column is the value of `property`.
    func reducedStore(_ sql: String, property: String?) throws -> PackedSequences {
        let text = try client.query(sql + "\nFORMAT TabSeparated")
        var s = PackedSequences()
        var valuePositions: [Int] = [], values: [Double] = []
        // A 12th column: the property's value per event, kept as codes (code 0: none).
        var texts: [String] = [""], textCode: [String: UInt32] = ["": 0], codes: [UInt32] = []
        var last: Int64? = nil
        for line in text.utf8.split(separator: UInt8(ascii: "\n")) {
            let f = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
            guard f.count == 11 || f.count == 12 else { continue }
            if f.count == 12 {
                let t = SQL.unescapeTSV(String(decoding: f[11], as: UTF8.self))
                if let k = textCode[t] { codes.append(k) } else { textCode[t] = UInt32(texts.count); codes.append(UInt32(texts.count)); texts.append(t) }
            }
            func int(_ k: Int) -> Int64 { Int64(String(decoding: f[k], as: UTF8.self)) ?? 0 }
            let c = int(0)
            if c != last {
                if last != nil { s.offsets.append(Int32(s.times.count)) }
                s.customerIDs.append(c); last = c
            }
            s.times.append(int(1)); s.events.append(UInt32(truncatingIfNeeded: int(3))); s.channels.append(UInt16(truncatingIfNeeded: int(4)))
            s.stages.append(UInt8(truncatingIfNeeded: int(5))); s.kinds.append(UInt8(truncatingIfNeeded: int(6)))
            s.campaigns.append(UInt32(truncatingIfNeeded: int(7))); s.devices.append(UInt16(truncatingIfNeeded: int(8)))
            s.sources.append(UInt16(truncatingIfNeeded: int(9)))
            if let v = Double(String(decoding: f[10], as: UTF8.self)), !v.isNaN { valuePositions.append(s.times.count - 1); values.append(v) }
        }
        if last != nil { s.offsets.append(Int32(s.times.count)) }
        s.values = SparseDoubles(count: s.times.count, positions: valuePositions, values: values)
        if let property, codes.count == s.times.count { s.properties[property] = (texts, codes) }
        return s
    }
}

/// Customer and account attributes read from the server's `attributes` and `customers` tables (at account level
/// keyed by account, with the first person's values).
final class ClickHouseAttributes: AttributeSource {
    let client: ClickHouseClient, translator: Translator
    init(client: ClickHouseClient, translator: Translator) { self.client = client; self.translator = translator }

    /// An attribute of every row that has it (one row each: cheaper than naming thousands of ids in the SQL).
    func read(_ scope: String, _ name: String, _ ids: [Int64]) throws -> [String?] {
        guard !ids.isEmpty else { return [] }
        var value: [Int64: String] = [:]
        let sql = "SELECT customer, v FROM (\(translator.attributeRows("scope = \(SQL.string(scope)) AND name = \(SQL.string(name))")))"
        for r in try client.rows(sql) where r.count == 2 { if let c = Int64(r[0]) { value[c] = r[1] } }
        return ids.map { value[$0] }
    }
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { try read("customer", name, ids) }
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { try read("account", name, ids) }
    /// Rows are accounts already at account level; a person's account otherwise.
    func accounts(for ids: [Int64]) throws -> [Int64] {
        guard !ids.isEmpty, !translator.accountLevel else { return ids.map { _ in 0 } }
        var account: [Int64: Int64] = [:]
        for r in try client.rows("SELECT customer, account FROM \(translator.customers) WHERE account != 0") where r.count == 2 {
            if let c = Int64(r[0]) { account[c] = Int64(r[1]) ?? 0 }
        }
        return ids.map { account[$0] ?? 0 }
    }
}
