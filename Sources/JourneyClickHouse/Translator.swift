import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner

/// A part of a statement the ClickHouse translation does not cover yet: named, never answered wrongly.
public struct Untranslatable: Error, CustomStringConvertible, Sendable {
    public let construct: String
    public init(_ construct: String) { self.construct = construct }
    public var description: String {
        "\(construct) is not translated to ClickHouse yet; run it on the local store (drop --clickhouse) or rephrase it"
    }
}

/// Translates a bound `QueryPlan` to ClickHouse SQL. It reads the plan only (never the AST): codes come from the
/// catalog the plan was bound against, which is the server's own `dictionary` table, so a predicate is
/// `channel IN (2, 5)` and no name from a user reaches the SQL as text except through `SQL.string`.
/// Per customer, the events a statement needs are gathered with `groupArray` and sorted with `arraySort`
/// (tie order as the native engine), and the steps found with `arrayFirstIndex` (18.16 and current releases).
public struct Translator {
    public let catalog: Catalog
    /// Whether the events are a Distributed table (then `IN` subqueries read each shard's `events_local`).
    public let cluster: Bool
    /// Tables are named with their database: on a cluster, a shard runs the subqueries in its own default one.
    public let database: String
    public init(catalog: Catalog, cluster: Bool, database: String = "journey") {
        self.catalog = catalog; self.cluster = cluster; self.database = database
    }

    /// Statements at account level (`count accounts`): each account's journey is its people's events merged in
    /// time order, ties by person then the person's own order (as `PackedSequences.merged`); people without an
    /// account count alone.
    public var accountLevel = false

    var localEvents: String { cluster ? "\(database).events_local" : "\(database).events" }
    /// The imported event property a `by` names: the events then carry its value as `pv` ('' when none).
    var breakdownProperty: String?

    var events: String {
        var base = "\(database).events", pv = ""
        if let name = breakdownProperty {
            base = "(SELECT *, pv FROM \(database).events ANY LEFT JOIN (SELECT customer, seq, value AS pv FROM \(database).properties WHERE name = \(SQL.string(name))) AS p USING (customer, seq))"
            pv = ", pv"
        }
        guard accountLevel else { return base }
        return """
            (SELECT if(account = 0, -person, account) AS customer, ts, toUInt64(person) * 16777216 + seq AS seq, event, channel, stage, kind, campaign,
                    device, source, value, person, pseq\(pv)
             FROM (SELECT customer AS person, ts, seq, seq AS pseq, event, channel, stage, kind, campaign, device, source, value, account\(pv)
                   FROM \(base) AS b ANY LEFT JOIN (SELECT customer, account FROM \(database).customers) AS c USING customer))
            """
    }

    /// This translator with the events carrying the property a breakdown names (nil when it names none).
    func carrying(_ by: BoundBreakdown?) throws -> Translator? {
        let names = [by, by?.also].compactMap { b -> String? in if case .property(let n) = b?.source { return n }; return nil }
        guard let name = names.first, breakdownProperty == nil else { return nil }
        if names.count > 1 { throw Untranslatable("a pair breakdown by two imported event properties") }
        var t = self
        t.breakdownProperty = name
        return t
    }
    /// The table an `IN` subquery about events reads: on a cluster each shard's own (a customer's events stay on
    /// one shard) when the condition runs on the shards; at account level the merged journeys (an account's
    /// people may live on several shards); and when the events are a subquery (a property joined for a `by`),
    /// whose conditions run where the rows are gathered, all the events.
    var subqueryEvents: String { accountLevel ? events : breakdownProperty != nil || gathered ? "\(database).events" : localEvents }
    /// Conditions written for rows already gathered from the shards (they then read all the events).
    var gathered = false

    /// At account level, each account (or person without one: `-person`) and its first person — the lowest store
    /// id among its people with events — whose customer attributes an account row takes (as the native merge).
    var accountFirsts: String {
        "(SELECT acct, min(customer) AS first FROM (SELECT customer, if(account = 0, -customer, account) AS acct FROM \(customers) WHERE customer IN (SELECT customer FROM \(database).events)) GROUP BY acct)"
    }

    /// Per row of a list (a customer, or at account level an account): its key and its place in the store's
    /// order (`o`: the customer, or the account's first person), as the native lists sort and name them.
    var rowKeys: String {
        guard accountLevel else { return "(SELECT customer, customer AS o, key FROM \(customers))" }
        return """
            (SELECT acct AS customer, o, key FROM (SELECT acct, o, if(account_key != '', account_key, key) AS key
                FROM (SELECT acct, first AS customer, first AS o FROM \(accountFirsts)) AS l ANY LEFT JOIN (SELECT customer, key, account_key FROM \(customers)) AS r USING customer))
            """
    }

    /// Rows of `attributes` (customer, value) as the statement's rows see them: at account level keyed by the
    /// account, with its first person's values.
    func attributeRows(_ where: String, value: String = "value") -> String {
        let rows = "SELECT customer, \(value) AS v FROM \(attributes) WHERE \(`where`)"
        guard accountLevel else { return rows }
        return "SELECT acct AS customer, v FROM (SELECT acct, v FROM (SELECT acct, first AS customer FROM \(accountFirsts)) AS l ANY INNER JOIN (\(rows)) AS r USING customer)"
    }

    var attributes: String { "\(database).attributes" }
    var customers: String { "\(database).customers" }

    // MARK: predicates

    /// An event-level predicate over the columns of `events`.
    public func predicate(_ e: BoundExpr) throws -> String {
        switch e {
        case .any: return "1"
        case .codes(let field, let table):
            let yes = table.indices.filter { table[$0] }
            if yes.isEmpty { return "0" }
            return "\(field.rawValue) IN \(SQL.codes(yes))"
        case .property(let name, let test):
            // At account level the merged journey keeps each event's person and own position.
            let key = accountLevel ? "(person, pseq)" : "(customer, seq)"
            let events = "SELECT customer, seq FROM \(database).properties WHERE name = \(SQL.string(name))"
            switch test {
            case .present(let wanted): return "\(wanted ? "" : "NOT ")(\(key) IN (\(events)))"
            case .compare(let op, let values, let negated):
                let hit = values.isEmpty ? "0" : "(" + values.map { v -> String in
                    switch op {
                    case .eq, .ne: return "lowerUTF8(value) = \(SQL.string(v.lowercased()))"
                    case .contains: return "positionCaseInsensitiveUTF8(value, \(SQL.string(v))) > 0"
                    default:
                        guard let n = Double(v) else { return "value \(op.rawValue) \(SQL.string(v))" }
                        return "if(isNotNull(toFloat64OrNull(value)), toFloat64OrZero(value) \(op.rawValue) \(SQL.number(n)), value \(op.rawValue) \(SQL.string(v)))"
                    }
                }.joined(separator: " OR ") + ")"
                let flip = op == .ne || negated
                return "(\(key) IN (\(events) AND \(flip ? "NOT " : "")\(hit)))"
            }
        case .value(let op, let v):
            // An event without a value matches only `!=` (as the native engine).
            let test: String
            switch op {
            case .contains: test = "0"
            default: test = "value \(op.rawValue) \(SQL.number(v))"
            }
            return "if(isNaN(value), \(op == .ne ? 1 : 0), \(test))"
        case .valueNull(let isNull): return isNull ? "isNaN(value)" : "NOT isNaN(value)"
        case .and(let a, let b): return "(\(try predicate(a)) AND \(try predicate(b)))"
        case .or(let a, let b): return "(\(try predicate(a)) OR \(try predicate(b)))"
        case .not(let a): return "NOT (\(try predicate(a)))"
        }
    }

    /// A journey-level predicate about the row's `customer`.
    public func journey(_ j: JourneyExpr) throws -> String {
        switch j {
        case .and(let a, let b): return "(\(try journey(a)) AND \(try journey(b)))"
        case .or(let a, let b): return "(\(try journey(a)) OR \(try journey(b)))"
        case .not(let a): return "NOT (\(try journey(a)))"
        case .has(let e): return "customer IN (SELECT customer FROM \(subqueryEvents) WHERE \(try predicate(e)))"
        case .attribute(let a, let test):
            let scope = "scope = \(SQL.string(a.scope.rawValue)) AND name = \(SQL.string(a.name))"
            // A customer without the attribute matches when the test holds for nil (as `!=`, `is null`).
            if test.matches(nil) {
                return "customer NOT IN (SELECT customer FROM (\(attributeRows("\(scope) AND NOT (\(attributeTest(test)))"))))"
            }
            return "customer IN (SELECT customer FROM (\(attributeRows("\(scope) AND \(attributeTest(test))"))))"
        }
    }

    /// An attribute test on a present `value` (numbers compared as numbers when both sides read as one).
    func attributeTest(_ t: AttributeTest) -> String {
        func compare(_ op: CompareOp, _ lit: Literal) -> String {
            let rhs = lit.display
            if op == .contains { return "positionCaseInsensitiveUTF8(value, \(SQL.string(rhs))) > 0" }
            let text = "lowerUTF8(value) \(op.rawValue) \(SQL.string(rhs.lowercased()))"
            guard let n = Double(rhs) else { return text }
            return "if(isNotNull(toFloat64OrNull(value)), toFloat64OrZero(value) \(op.rawValue) \(SQL.number(n)), \(text))"
        }
        switch t {
        case .isNull(let negated): return negated ? "1" : "0"
        case .compare(let op, let lit): return compare(op, lit)
        case .isIn(let lits, let negated):
            let any = lits.isEmpty ? "0" : "(" + lits.map { compare(.eq, $0) }.joined(separator: " OR ") + ")"
            return negated ? "NOT \(any)" : any
        }
    }

    /// `WHERE` for a scan of `events`: the event filter, the journey filter and any extra condition.
    func conditions(_ f: BoundFilter, _ extra: [String] = []) throws -> String {
        var parts = extra
        if let e = f.events { parts.append(try predicate(e)) }
        if let j = f.journeys { parts.append(try journey(j)) }
        return parts.isEmpty ? "1" : parts.joined(separator: " AND ")
    }

    // MARK: groups

    /// How a breakdown names each row: an expression over `events` (a code or a month), or an attribute joined
    /// by customer.
    enum Group {
        case none
        case column(String, EventField?)     // an event column's code (nil field: month index or value)
        case attribute(AttributeRef, month: Bool)
    }

    func group(_ b: BoundBreakdown?) throws -> Group {
        guard let b else { return .none }
        switch b.source {
        case .field(let f): return .column(f.rawValue, f)
        case .month: return .column("toYYYYMM(toDateTime(intDiv(ts, 1000), 'UTC'))", nil)
        case .value: return .column("value", nil)
        case .property: return .column("pv", nil)
        case .attribute(let a, let month): return .attribute(a, month: month)
        }
    }

    /// The attribute join for a group: `ANY LEFT JOIN (…) USING customer`, giving `gattr` (a date's month for
    /// `month(…)`, so the rows group by month, not by day).
    func attributeJoin(_ a: AttributeRef, month: Bool) -> String {
        let rows = attributeRows("scope = \(SQL.string(a.scope.rawValue)) AND name = \(SQL.string(a.name))", value: month ? "substring(value, 1, 7)" : "value")
        return "ANY LEFT JOIN (SELECT customer, v AS gattr FROM (\(rows))) AS a USING customer"
    }

    /// The label of a group code as the native engine names it.
    public func label(_ b: BoundBreakdown, _ raw: String) -> String {
        switch b.source {
        case .field(let f):
            guard let code = Int(raw) else { return raw }
            if code < 0 { return "(not reached)" }
            let names = f.names(catalog)
            if f == .event { return code < names.count ? names[code] : "(code \(code))" }
            return code == 0 ? "(none)" : code < names.count ? names[code] : "(code \(code))"
        case .month:
            guard let m = Int(raw) else { return raw }
            return m < 0 ? "(not reached)" : String(format: "%04d-%02d", m / 100, m % 100)
        case .value:
            if raw == "-1e308" { return "(not reached)" }
            guard let x = Double(raw), !x.isNaN else { return "(none)" }
            return x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
        case .attribute(_, let month):
            if raw.isEmpty { return "(none)" }
            return month ? String(raw.prefix(7)) : raw
        case .property: return raw == "\u{1}" ? "(not reached)" : raw.isEmpty ? "(none)" : raw
        }
    }

    // MARK: count

    /// The counting query: one row per group (group, distinct units, events), and a second query for the
    /// distinct units over all groups (and, for a filtered count without groups, the store's total).
    public func count(_ q: QueryPlan.Count) throws -> (groups: String, total: String, store: String?) {
        if let t = try carrying(q.by) { return try t.count(q) }
        let g = try group(q.by)
        var unit = "customer", join = ""
        if q.unit == .accounts {
            unit = "acct"
            join = "ANY LEFT JOIN (SELECT customer, if(account = 0, -customer, account) AS acct FROM \(customers)) AS c USING customer"
        }
        let filter = try conditions(q.filter)
        var keys: [String] = []
        var attrJoin = ""
        switch g {
        case .none: keys = ["''"]
        case .column(let expr, _): keys = [expr]
        case .attribute(let a, let month): keys = ["gattr"]; attrJoin = attributeJoin(a, month: month)
        }
        if let second = q.by?.also {
            switch try group(second) {
            case .column(let expr, _): keys.append(expr)
            default: throw Untranslatable("a pair breakdown with a customer attribute")
            }
            if attrJoin != "" { throw Untranslatable("a pair breakdown with a customer attribute") }
        }
        let units = q.unit == .events ? "0" : "uniqExact(\(unit))"
        // One join per SELECT (18.16): the account join nested inside the attribute join.
        func scan(_ f: String) -> String { join.isEmpty ? "(SELECT * FROM \(events) WHERE \(f))" : "(SELECT * FROM (SELECT * FROM \(events) WHERE \(f)) AS e \(join))" }
        let groups = "SELECT \(keys.joined(separator: ", ")), \(units), count() FROM \(scan(filter)) AS s \(attrJoin) GROUP BY \(keys.joined(separator: ", "))"
        let total = "SELECT \(units), count() FROM \(scan(filter))"
        let store = q.by == nil && q.filtered ? "SELECT \(units), count() FROM \(scan("1"))" : nil
        return (groups, total, store)
    }

    // MARK: revenue

    /// Per group: key, customers, buyers, orders, revenue; and the same over all (`total`, no key).
    public func revenue(_ q: QueryPlan.Revenue) throws -> (groups: String, total: String) {
        if let t = try carrying(q.by) { return try t.revenue(q) }
        let measures = "uniqExact(customer), uniqExactIf(customer, NOT isNaN(value)), countIf(NOT isNaN(value)), sumIf(value, NOT isNaN(value)), \(costOfEvents)"
        let scan = "(SELECT * FROM \(events) WHERE \(try conditions(q.filter)))"
        let groups: String
        switch try group(q.by) {
        case .none: groups = "SELECT '', \(measures) FROM \(scan)"
        case .column(let expr, _): groups = "SELECT \(expr) AS g, \(measures) FROM \(scan) GROUP BY g"
        case .attribute(let a, let month): groups = "SELECT gattr, \(measures) FROM \(scan) AS s \(attributeJoin(a, month: month)) GROUP BY gattr"
        }
        return (groups, "SELECT \(measures) FROM \(scan)")
    }

    /// The summed touchpoint-catalog cost of the events in scope (a constant array indexed by event code).
    var costOfEvents: String {
        guard catalog.hasCosts else { return "toFloat64(0)" }
        return "sum(arrayElement([\(catalog.eventCosts.map { "toFloat64(\($0))" }.joined(separator: ", "))], event + 1))"
    }

    // MARK: profile

    /// The members and the converted (`totals`), and per attribute its values' members and converted.
    public func profile(_ q: QueryPlan.Profile) throws -> (totals: String, values: [String]) {
        let perCustomer = "SELECT customer, countIf(stage >= \(q.won)) > 0 AS conv FROM \(events) WHERE \(try conditions(q.filter)) GROUP BY customer"
        let values = q.attributes.map { a in
            let rows = attributeRows("scope = \(SQL.string(a.scope.rawValue)) AND name = \(SQL.string(a.name))")
            return "SELECT v, count(), countIf(conv) FROM (\(perCustomer)) AS l ANY INNER JOIN (SELECT customer, v FROM (\(rows))) AS r USING customer GROUP BY v"
        }
        return ("SELECT count(), countIf(conv) FROM (\(perCustomer))", values)
    }

    // MARK: compare

    /// Per side (0, 1): customers, converted, the times to convert, revenue, touches; and per event the
    /// customers of each side who had it.
    public func compare(_ q: QueryPlan.Compare) throws -> (sides: String, touchpoints: String) {
        let a = try journey(q.a), b = try journey(q.b), filter = try conditions(q.filter)
        // The sides are judged on the aggregated rows (on a cluster: gathered from the shards).
        var g = self
        g.gathered = true
        let perCustomer = """
            SELECT *, toUInt8(\(try g.journey(q.a))) AS ina, toUInt8(\(try g.journey(q.b))) AS inb
            FROM (SELECT customer, min(ts) AS first, countIf(stage >= \(q.won)) > 0 AS conv, minIf(ts, stage >= \(q.won)) AS convts,
                         count() AS touches, sumIf(value, NOT isNaN(value)) AS val
                  FROM \(events) WHERE \(filter)
                  GROUP BY customer)
            """
        let sides = """
            SELECT s, count(), countIf(conv), groupArrayIf(convts - first, conv), sum(val), sum(touches)
            FROM (\(perCustomer)) ARRAY JOIN [ina, inb] AS f, [0, 1] AS s
            WHERE f = 1
            GROUP BY s
            """
        let touchpoints = """
            SELECT event, uniqExactIf(customer, ina = 1), uniqExactIf(customer, inb = 1)
            FROM (SELECT customer, event, toUInt8(\(a)) AS ina, toUInt8(\(b)) AS inb FROM \(events) WHERE \(filter))
            GROUP BY event
            """
        return (sides, touchpoints)
    }

    // MARK: leads

    /// Per group: key, leads, MQL, SQL, won, revenue — from one row per customer (its first event's group, the
    /// latest stage it reached, the sum of its values).
    public func leads(_ q: QueryPlan.Leads) throws -> String {
        if let t = try carrying(q.by) { return try t.leads(q) }
        let (gcol, join, key) = try firstTouchGroup(q.by)
        let perCustomer = """
            SELECT customer, arraySort(x -> (x.1, x.2), groupArray((ts, seq, \(gcol))))[1].3 AS g, max(stage) AS st, sumIf(value, NOT isNaN(value)) AS val
            FROM \(events) WHERE \(try conditions(q.filter))
            GROUP BY customer
            """
        return "SELECT \(key), count(), countIf(st >= \(q.mql)), countIf(st >= \(q.sql)), countIf(st >= \(q.won)), sum(val)\nFROM (\(perCustomer)) AS l \(join)\nGROUP BY \(key)"
    }

    /// A per-customer group (leads, value): the expression whose value at the customer's first event names it
    /// (an event field), or the attribute join; and the column the outer query groups by.
    func firstTouchGroup(_ by: BoundBreakdown?) throws -> (column: String, join: String, key: String) {
        switch try group(by) {
        case .none: return ("0", "", "g")
        case .column(let expr, _): return (expr, "", "g")
        case .attribute(let a, let month): return ("0", attributeJoin(a, month: month), "gattr")
        }
    }

    // MARK: time, top

    /// One row per group: the group and the durations from each customer's first A to the first B at its time
    /// or later (B other than that A; ties in the store's order, as the native engine).
    public func time(_ q: QueryPlan.Time) throws -> String {
        if let t = try carrying(q.by) { return try t.time(q) }
        let g = try group(q.by)
        var gcol = "0", key = "'all'", join = "", out = "g"
        switch g {
        case .none: break
        case .column(let expr, _): gcol = expr; key = "toString(ev[iA].5)"
        case .attribute(let a, let month): join = attributeJoin(a, month: month); out = "gattr"
        }
        let events = """
            SELECT customer, arraySort(x -> (x.1, x.2), groupArray((ts, seq, a, b, gcode))) AS ev
            FROM (SELECT customer, ts, seq, toUInt8(\(try predicate(q.from.predicate))) AS a, toUInt8(\(try predicate(q.to.predicate))) AS b, \(gcol) AS gcode
                  FROM \(self.events) WHERE \(try conditions(q.filter)))
            WHERE a = 1 OR b = 1
            GROUP BY customer
            """
        let perCustomer = """
            SELECT customer, arrayFirstIndex(x -> x.3 = 1, ev) AS iA, if(iA = 0, 0, ev[iA].1) AS tA,
                   if(iA = 0, 0, arrayFirstIndex((x, j) -> j != iA AND x.4 = 1 AND x.1 >= tA, ev, arrayEnumerate(ev))) AS iB,
                   if(iB = 0, 0, ev[iB].1) AS tB, if(iA = 0, '', \(key)) AS g
            FROM (\(events))
            """
        return "SELECT \(out), groupArray(tB - tA)\nFROM (\(perCustomer)) AS l \(join)\nWHERE iA > 0 AND iB > 0\nGROUP BY \(out)"
    }

    /// The store's last event time (the 12 months of `top` end in its month).
    public var lastEventTime: String { "SELECT max(ts) FROM \(events)" }

    /// One row per code: code, events, customers, events in each of the 12 months `bounds` delimit.
    public func top(_ q: QueryPlan.Top, bounds: [Int64]) throws -> String {
        let column = q.campaigns ? "campaign" : q.what.rawValue
        let months = (0..<12).map { "countIf(ts >= \(bounds[$0]) AND ts < \(bounds[$0 + 1]))" }.joined(separator: ", ")
        return "SELECT \(column), count(), uniqExact(customer), \(months) FROM \(events) WHERE \(try conditions(q.filter)) GROUP BY \(column)"
    }

    /// A code's name as the native engine names `top`'s rows.
    public func topLabel(_ q: QueryPlan.Top, _ code: Int) -> String {
        if q.campaigns { return code == 0 ? "(none)" : code < catalog.campaigns.count ? catalog.campaigns[code] : "(code \(code))" }
        let f = EventField(rawValue: q.what.rawValue)!
        let names = f.names(catalog)
        guard code < names.count else { return "(code \(code))" }
        return f == .event ? names[code] : code == 0 ? "(none)" : names[code]
    }

    // MARK: dropoff

    /// Per customer who reached A (the first event passing the event filter and A) and never moved on (an event of
    /// the next step, other than that one, at its time or later): the last touchpoint's codes, the silence to
    /// `end`, and whether a gap over 30 days came after A. `totals`: reached and dropped.
    public func dropoff(_ q: QueryPlan.Dropoff, end: Int64) throws -> (groups: String, totals: String) {
        var a = try predicate(q.after.predicate)
        if let e = q.filter.events { a = "(\(try predicate(e))) AND (\(a))" }
        var journeys = BoundFilter()
        journeys.journeys = q.filter.journeys
        let perCustomer = """
            SELECT customer, arrayFirstIndex(x -> x.3 = 1, ev) AS iS, if(iS = 0, 0, ev[iS].1) AS tS,
                   arrayExists((x, j) -> j != iS AND x.4 = 1 AND x.1 >= tS, ev, arrayEnumerate(ev)) AS moved,
                   arrayExists((x, j) -> j > iS AND x.1 - ev[j - 1].1 > \(30 * 86_400_000), ev, arrayEnumerate(ev)) AS resumed,
                   ev[length(ev)] AS last
            FROM (SELECT customer, arraySort(x -> (x.1, x.2), groupArray((ts, seq, a, nx, event, channel, stage))) AS ev
                  FROM (SELECT customer, ts, seq, toUInt8(\(a)) AS a, toUInt8(\(try predicate(q.next))) AS nx, event, channel, stage
                        FROM \(events) WHERE \(try conditions(journeys)))
                  GROUP BY customer)
            """
        let groups = "SELECT last.5, last.6, last.7, count(), groupArray(\(end) - last.1), countIf(resumed)\nFROM (\(perCustomer))\nWHERE iS > 0 AND NOT moved\nGROUP BY last.5, last.6, last.7"
        let totals = "SELECT countIf(iS > 0), countIf(iS > 0 AND NOT moved)\nFROM (\(perCustomer))"
        return (groups, totals)
    }

    /// A touchpoint's event, channel or stage name as the native engine writes it (code 0: "(none)").
    public func label(_ f: EventField, _ code: Int) -> String {
        let names = f.names(catalog)
        if f == .event { return code < names.count ? names[code] : "(code \(code))" }
        return code == 0 ? "(none)" : code < names.count ? names[code] : "(code \(code))"
    }

    // MARK: retention

    /// The calendar period index of `ts` (ms, UTC), as `RetentionPeriod.index`.
    func periodIndex(_ p: RetentionPeriod) -> String {
        let days = "intDiv(ts - if(ts < 0, 86399999, 0), 86400000)"
        let month = "((toYear(toDateTime(intDiv(ts, 1000), 'UTC')) - 1970) * 12 + toMonth(toDateTime(intDiv(ts, 1000), 'UTC')) - 1)"
        switch p {
        case .day: return days
        case .week: return "intDiv(\(days) + 3 - if(\(days) + 3 < 0, 6, 0), 7)"
        case .month: return month
        case .quarter: return "intDiv(\(month), 3)"
        }
    }

    /// One row per cohort (or group): key, size, then per period k ≥ 1 the retained, then per k ≥ 0 the
    /// customers for whom period k had begun by `endPeriod`.
    public func retention(_ q: QueryPlan.Retention, endPeriod: Int) throws -> String {
        if let t = try carrying(q.by) { return try t.retention(q, endPeriod: endPeriod) }
        let n = q.periods
        let g = try group(q.by)
        var gcol = "0", key = "birth", join = "", out = "g"
        switch g {
        case .none: break
        case .column(let expr, _): gcol = expr; key = "toString(ev[b].5)"
        case .attribute(let a, let month): join = attributeJoin(a, month: month); out = "gattr"; key = "''"
        }
        let returning = try q.returning.map { try predicate($0.predicate) } ?? "1"
        var seen: [String] = []
        for k in stride(from: 1, to: n, by: 1) {
            seen.append("arrayExists((x, j) -> j > b AND x.4 = 1 AND x.6 - birth = \(k), ev, arrayEnumerate(ev)) AS seen\(k)")
        }
        let perCustomer = """
            SELECT customer, arrayFirstIndex(x -> x.3 = 1, ev) AS b, if(b = 0, 0, ev[b].6) AS birth\(seen.isEmpty ? "" : ", " + seen.joined(separator: ", ")), \(key) AS g
            FROM (SELECT customer, arraySort(x -> (x.1, x.2), groupArray((ts, seq, s, r, gcode, p))) AS ev
                  FROM (SELECT customer, ts, seq, toUInt8(\(try predicate(q.start.predicate))) AS s, toUInt8(\(returning)) AS r, \(gcol) AS gcode,
                               \(periodIndex(q.period)) AS p
                        FROM \(events) WHERE \(try conditions(q.filter)))
                  GROUP BY customer)
            """
        var cols = [out, "count()", "any(birth)"]
        for k in stride(from: 1, to: n, by: 1) { cols.append("countIf(seen\(k) AND birth + \(k) <= \(endPeriod))") }
        for k in 0..<n { cols.append("countIf(birth + \(k) <= \(endPeriod))") }
        return "SELECT \(cols.joined(separator: ", "))\nFROM (\(perCustomer)) AS l \(join)\nWHERE b > 0\nGROUP BY \(out)"
    }

    // MARK: customers who

    /// The customers every condition holds for (over the events passing the filter), most recently active first:
    /// key, first touch, last touch, the last event's codes, touches. `total`: how many.
    public func customers(_ q: QueryPlan.Customers, end: Int64) throws -> (list: String, total: String) {
        var tests: [String] = []
        for c in q.conditions {
            switch c {
            case .reached(let s, let negated): tests.append("max(toUInt8(\(try predicate(s.predicate)))) = \(negated ? 0 : 1)")
            case .silentFor(let d): tests.append("\(end) - max(ts) > \(d.milliseconds)")
            }
        }
        let having = tests.isEmpty ? "1" : tests.joined(separator: " AND ")
        let perCustomer = """
            SELECT customer, min(ts) AS first, arraySort(x -> (x.1, x.2), groupArray((ts, seq, event, channel, stage))) AS ev, count() AS touches
            FROM \(events) WHERE \(try conditions(q.filter))
            GROUP BY customer
            HAVING \(having)
            """
        let list = """
            SELECT key, first, ev[length(ev)].1 AS last, ev[length(ev)].3, ev[length(ev)].4, ev[length(ev)].5, touches
            FROM (\(perCustomer)) AS l ANY LEFT JOIN \(rowKeys) AS r USING customer
            ORDER BY last DESC, o ASC
            LIMIT \(q.limit)
            """
        return (list, "SELECT count() FROM (\(perCustomer))")
    }

    // MARK: pauses

    /// Resumed pauses (gaps between consecutive touches passing the filter longer than D) by the stages before and
    /// after: pauses, customers, lengths, the events right after; and open pauses (the last touch more than D
    /// before `end`): how many, and the `limit` silent longest with their key, last event and touches.
    public func pauses(_ q: QueryPlan.Pauses, end: Int64) throws -> (resumed: String, totals: String, open: String, openCount: String) {
        let d = q.longer.milliseconds
        let perCustomer = """
            SELECT customer, arraySort(x -> (x.1, x.2), groupArray((ts, seq, stage, event, channel))) AS ev
            FROM \(events) WHERE \(try conditions(q.filter))
            GROUP BY customer
            """
        let gaps = """
            SELECT customer, arrayJoin(arrayFilter(x -> x.3 > \(d), arrayMap(j -> (ev[j - 1].3, ev[j].3, ev[j].1 - ev[j - 1].1, ev[j].4),
                                                                          arraySlice(arrayEnumerate(ev), 2)))) AS p
            FROM (\(perCustomer))
            """
        let resumed = "SELECT p.1, p.2, uniqExact(customer), groupArray(p.3), groupArray(p.4)\nFROM (\(gaps))\nGROUP BY p.1, p.2"
        let totals = "SELECT count(), uniqExact(customer) FROM (\(gaps))"
        let open = """
            SELECT key, ev[length(ev)].1 AS last, \(end) - last AS silent, ev[length(ev)].4, ev[length(ev)].5, ev[length(ev)].3, length(ev)
            FROM (\(perCustomer)) AS l ANY LEFT JOIN \(rowKeys) AS r USING customer
            WHERE \(end) - ev[length(ev)].1 > \(d)
            ORDER BY silent DESC, o ASC
            LIMIT \(q.limit ?? 50)
            """
        let openCount = "SELECT count() FROM (\(perCustomer)) WHERE \(end) - ev[length(ev)].1 > \(d)"
        return (resumed, totals, open, openCount)
    }

    // MARK: touchpoints, gaps

    /// Per customer (journey filter): the events in store order, whether each is a conversion, whether it passes
    /// the event filter, and the label; `c` = the first conversion, `t` = the touches before it (all when none).
    func journeysToConversion(_ q: QueryPlan.Relevance, label: String) throws -> String {
        var journeys = BoundFilter()
        journeys.journeys = q.filter.journeys
        let touch = try q.filter.events.map(predicate) ?? "1"
        return """
            SELECT customer, c, arrayFilter((x, j) -> (c = 0 OR j < c) AND x.4 = 1, ev, arrayEnumerate(ev)) AS t, if(c = 0, 0, ev[c].1) AS tc
            FROM (SELECT customer, ev, arrayFirstIndex(x -> x.3 = 1, ev) AS c
                  FROM (SELECT customer, arraySort(x -> (x.1, x.2), groupArray((ts, seq, isc, ist, lab, stage, channel, event))) AS ev
                        FROM (SELECT customer, ts, seq, toUInt8(\(try predicate(q.conversion.predicate))) AS isc, toUInt8(\(touch)) AS ist, \(label) AS lab, stage, channel, event
                              FROM \(events) WHERE \(try conditions(journeys)))
                        GROUP BY customer))
            WHERE length(t) > 0 OR c > 0
            """
    }

    /// Per label: journeys touching it before their first conversion, the converting ones, where it first
    /// appears (1-based), and from its last touch to the conversion. `totals`: journeys and converted.
    public func touchpoints(_ q: QueryPlan.Relevance) throws -> (labels: String, totals: String) {
        let perCustomer = try journeysToConversion(q, label: q.by.rawValue)
        let labels = """
            SELECT l, count(), countIf(c > 0), groupArray(indexOf(arrayMap(x -> x.5, t), l)), groupArrayIf(tc - arrayFilter(x -> x.5 = l, t)[-1].1, c > 0)
            FROM (SELECT customer, c, t, tc, arrayJoin(arrayReduce('groupUniqArray', arrayMap(x -> x.5, t))) AS l FROM (\(perCustomer)))
            GROUP BY l
            """
        return (labels, "SELECT count(), countIf(c > 0) FROM (\(perCustomer))")
    }

    /// Per decision-stage touchpoint (event): journeys touching it, converting ones, its last seen stage and
    /// channel; `ended`: per event, the non-converting journeys whose last touch it was (a decision touch).
    public func gaps(_ q: QueryPlan.Relevance, decision: [Int]) throws -> (touching: String, ended: String, totals: String) {
        let perCustomer = try journeysToConversion(q, label: "event")
        let stages = SQL.codes(decision)
        // Per event: the distinct journeys touching it, with its last stage and channel (customer order, then
        // the journey's order, as the native engine's last write).
        let perEvent = """
            SELECT e, uniqExact(customer), uniqExactIf(customer, c > 0), argMax(st, (customer, j)), argMax(ch, (customer, j))
            FROM (SELECT customer, c, d.1 AS st, d.2 AS ch, d.3 AS e, d.4 AS j
                  FROM (SELECT customer, c, arrayJoin(arrayFilter(x -> x.1 IN \(stages), arrayMap((x, j) -> (x.6, x.7, x.8, j), t, arrayEnumerate(t)))) AS d
                        FROM (\(perCustomer))))
            GROUP BY e
            """
        let ended = "SELECT t[-1].8, count() FROM (\(perCustomer)) WHERE c = 0 AND length(t) > 0 AND t[-1].6 IN \(stages) GROUP BY t[-1].8"
        return (perEvent, ended, "SELECT count() FROM (\(perCustomer))")
    }

    // MARK: stats

    /// Per customer (events passing the filter): touches, distinct channels, first-to-last milliseconds, as three
    /// arrays in one row; per account (people without one alone): the same, and for converting accounts the same
    /// up to the account's first conversion-stage event.
    public func stats(_ q: QueryPlan.Stats) throws -> (customers: String, accounts: String) {
        let conversion = catalog.stageCode("conversion").map(Int.init) ?? -1
        let filter = try conditions(q.filter)
        let customers = """
            SELECT groupArray(n), groupArray(ch), groupArray(d)
            FROM (SELECT customer, count() AS n, uniqExactIf(channel, channel != 0) AS ch, max(ts) - min(ts) AS d FROM \(events) WHERE \(filter) GROUP BY customer)
            """
        let accounts = """
            SELECT groupArray(n), groupArray(ch), groupArray(d), groupArray(conv < toInt64(9223372036854775807)), groupArray(cn), groupArray(cch), groupArray(cd)
            FROM (SELECT length(evs) AS n, length(arrayReduce('groupUniqArray', arrayFilter(x -> x != 0, arrayMap(x -> x.2, evs)))) AS ch,
                         arrayReduce('min', arrayMap(x -> x.1, evs)) AS first, arrayReduce('max', arrayMap(x -> x.1, evs)) - first AS d,
                         arrayFilter(x -> x.3 = \(conversion), evs) AS convs,
                         if(length(convs) = 0, toInt64(9223372036854775807), arrayReduce('min', arrayMap(x -> x.1, convs))) AS conv,
                         arrayCount(x -> x.1 <= conv, evs) AS cn,
                         length(arrayReduce('groupUniqArray', arrayFilter(x -> x != 0, arrayMap(x -> if(x.1 <= conv, x.2, 0), evs)))) AS cch,
                         conv - first AS cd
                  FROM (SELECT acct, groupArray((ts, channel, stage)) AS evs
                        FROM (SELECT * FROM \(events) WHERE \(filter)) AS e
                        ANY LEFT JOIN (SELECT customer, if(account = 0, -customer, account) AS acct FROM \(self.customers)) AS c USING customer
                        GROUP BY acct))
            """
        return (customers, accounts)
    }

    // MARK: paths

    /// Every distinct path (its label codes, -1 for "…") with its customers and durations; `totals`: customers who
    /// started a path and those who never reached B. The native rules: A = the first A, B = the first B after it
    /// (within D, else never reached); without A the D before B; without B the D after the start; repeats
    /// collapsed unless kept; long paths cut to the first K−1, … and the last (or the first K and …).
    public func paths(_ q: QueryPlan.Paths) throws -> (paths: String, totals: String) {
        let hasFrom = q.from != nil, hasTo = q.to != nil
        let w = q.within?.milliseconds
        let keep = q.keepRepeats ? 1 : 0
        let label = q.show.rawValue
        let from = try q.from.map { try predicate($0.predicate) } ?? "0"
        let to = try q.to.map { try predicate($0.predicate) } ?? "0"
        var a = hasFrom ? "arrayFirstIndex(x -> x.3 = 1, ev)" : "1"
        var b = "length(ev)"
        var never = "0"
        var steps: [String] = ["\(a) AS a0"]
        if hasTo {
            steps.append("arrayFirstIndex((x, j) -> j > \(hasFrom ? "a0" : "0") AND x.4 = 1, ev, arrayEnumerate(ev)) AS b0")
            if hasFrom {
                never = w.map { "b0 = 0 OR ev[b0].1 - ev[a0].1 > \($0)" } ?? "b0 = 0"
                a = "a0"; b = "b0"
            } else {
                a = w.map { "arrayFirstIndex(x -> x.1 >= ev[b0].1 - \($0), ev)" } ?? "1"
                b = "b0"
            }
        } else {
            steps.append("0 AS b0")
            a = "a0"
            if let w { b = "length(arrayFilter(x -> x.1 <= ev[a0].1 + \(w), ev))" }
        }
        steps.append("\(a) AS a1")
        steps.append("\(b) AS b1")
        // Run starts within [a1, b1]: every event when repeats are kept, else where the label changes.
        steps.append("arrayFilter(j -> j >= a1 AND j <= b1 AND (\(keep) = 1 OR j = a1 OR ev[j].5 != ev[j - 1].5), arrayEnumerate(ev)) AS runs")
        let key: String, start: String, end: String
        if let k = q.next {
            steps.append("arraySlice(runs, 1, \(k + 1)) AS chosen")
            key = "arrayMap(j -> ev[j].5, chosen)"; start = "a1"; end = "chosen[length(chosen)]"
        } else if let k = q.previous {
            steps.append("arraySlice(runs, greatest(1, length(runs) - \(k)), \(k + 1)) AS chosen")
            key = "arrayMap(j -> ev[j].5, chosen)"; start = "chosen[1]"; end = "b1"
        } else {
            let limit = q.maxSteps
            let cutMiddle = hasFrom && hasTo && limit >= 2
            steps.append("arrayMap(j -> ev[j].5, runs) AS full")
            let cut = cutMiddle ? "arrayConcat(arraySlice(full, 1, \(limit - 1)), [toInt64(-1)], [full[length(full)]])"
                                : "arrayConcat(arraySlice(full, 1, \(limit)), [toInt64(-1)])"
            key = "if(length(full) > \(limit), \(cut), full)"; start = "a1"; end = "b1"
        }
        let perCustomer = """
            SELECT customer, \(steps.joined(separator: ", ")), \(never) AS never, \(key) AS path, ev[\(end)].1 - ev[\(start)].1 AS d, \(hasFrom ? "a0 > 0" : hasTo ? "b0 > 0" : "1") AS begun
            FROM (SELECT customer, arraySort(x -> (x.1, x.2), groupArray((ts, seq, isa, isb, toInt64(lab)))) AS ev
                  FROM (SELECT customer, ts, seq, toUInt8(\(from)) AS isa, toUInt8(\(to)) AS isb, \(label) AS lab FROM \(events) WHERE \(try conditions(q.filter)))
                  GROUP BY customer)
            """
        let paths = "SELECT path, count(), groupArray(d) FROM (\(perCustomer)) WHERE begun AND NOT never GROUP BY path"
        let totals = "SELECT countIf(begun AND (NOT never OR \(hasFrom && hasTo ? 1 : 0))), countIf(begun AND never) FROM (\(perCustomer))"
        return (paths, totals)
    }

    // MARK: attribution

    /// One row per attribution journey, as the native engine cuts them: per conversion (an event matching the
    /// conversion step) the touches (events passing the filter, not conversions) since the previous conversion
    /// and at most the lookback before it; after the last conversion, the remaining touches within the lookback
    /// before the last of them, as a journey that did not convert. Columns: c (the conversion's position, 0 for
    /// none), n, val (the conversion's value), labs (label codes, oldest first), ages (ms to the conversion).
    func attributionJourneys(_ q: QueryPlan.Attribution) throws -> String {
        var journeys = BoundFilter()
        journeys.journeys = q.filter.journeys
        let touch = try q.filter.events.map(predicate) ?? "1"
        let l = q.lookbackMs
        // One level of lambdas only (18.16 lambdas see columns, not an outer lambda's argument): the conversions
        // are ARRAY JOINed first, then each one's touches found.
        let perCustomer = """
            SELECT ev, arrayFilter(j -> ev[j].3 = 1, arrayEnumerate(ev)) AS cs, arrayEnumerate(cs) AS ks,
                   arrayFilter(j -> j > if(length(cs) = 0, 0, cs[length(cs)]) AND ev[j].4 = 1 AND ev[j].3 = 0, arrayEnumerate(ev)) AS tail0,
                   arrayFilter(j -> ev[j].1 >= ev[tail0[length(tail0)]].1 - \(l), tail0) AS tail
            FROM (SELECT customer, arraySort(x -> (x.1, x.2), groupArray((ts, seq, isc, ist, lab, value))) AS ev
                  FROM (SELECT customer, ts, seq, toUInt8(\(try predicate(q.conversion.predicate))) AS isc, toUInt8(\(touch)) AS ist,
                               toInt64(\(q.by.rawValue)) AS lab, value
                        FROM \(events) WHERE \(try conditions(journeys)))
                  GROUP BY customer)
            """
        let converting = """
            SELECT ev, cs[k] AS c, if(k = 1, 0, cs[k - 1]) AS prev,
                   arrayFilter(j -> j > prev AND j < c AND ev[j].4 = 1 AND ev[j].3 = 0 AND ev[j].1 >= ev[c].1 - \(l), arrayEnumerate(ev)) AS t
            FROM (\(perCustomer)) ARRAY JOIN ks AS k
            """
        let lost = "SELECT ev, toUInt32(0) AS c, toUInt32(0) AS prev, tail AS t FROM (\(perCustomer)) WHERE length(tail) > 0"
        return """
            SELECT c, length(t) AS n, if(c > 0, if(isNaN(ev[c].6), 0, ev[c].6), 0) AS val,
                   arrayMap(p -> ev[p].5, t) AS labs, arrayMap(p -> ev[if(c > 0, c, t[length(t)])].1 - ev[p].1, t) AS ages
            FROM (\(converting) UNION ALL \(lost))
            """
    }

    /// The queries behind an attribution: totals; per label its touches and every rule-based model's credits
    /// (first, last, linear, time_decay, position: conversions and value); Markov paths (repeats merged) with
    /// conversions, nulls and value; the label sets of converting journeys.
    public func attribution(_ q: QueryPlan.Attribution) throws -> (totals: String, credits: String, paths: String, sets: String) {
        let rows = try attributionJourneys(q)
        let h = Double(q.halfLife?.milliseconds ?? 7 * 86_400_000)
        let p = q.position.map(Double.init)
        let (a, b, c) = (p[0], p[1], p[2])
        let weights = [
            "if(k = 1, 1., 0.)", "if(k = n, 1., 0.)", "1. / n", "exp2(-a / \(SQL.number(h))) / td",
            "multiIf(n = 1, 1., n = 2, if(k = 1, \(SQL.number(a / (a + c))), \(SQL.number(c / (a + c)))), k = 1, \(SQL.number(a / (a + b + c))), k = n, \(SQL.number(c / (a + b + c))), \(SQL.number(b / (a + b + c))) / (n - 2))",
        ]
        let perTouch = "arrayMap((l, k, a) -> (l, \(weights.joined(separator: ", "))), labs, arrayEnumerate(labs), ages)"
        let sums = (2...6).map { "sum(w.\($0)), sum(w.\($0) * val)" }.joined(separator: ", ")
        return (
            totals: "SELECT countIf(c > 0), sumIf(val, c > 0), countIf(c > 0 AND n = 0), sumIf(val, c > 0 AND n = 0), countIf(c = 0) FROM (\(rows))",
            credits: """
                SELECT w.1, count(), \(sums)
                FROM (SELECT val, n, arrayReduce('sum', arrayMap(age -> exp2(-age / \(SQL.number(h))), ages)) AS td, \(perTouch) AS ws FROM (\(rows)) WHERE c > 0 AND n > 0)
                ARRAY JOIN ws AS w
                GROUP BY w.1
                """,
            paths: "SELECT mp, countIf(c > 0), countIf(c = 0), sumIf(val, c > 0) FROM (SELECT c, val, arrayFilter((x, k) -> k = 1 OR x != labs[k - 1], labs, arrayEnumerate(labs)) AS mp FROM (\(rows)) WHERE n > 0) GROUP BY mp",
            sets: "SELECT arraySort(arrayReduce('groupUniqArray', labs)) AS s, count(), sum(val) FROM (\(rows)) WHERE c > 0 AND n > 0 GROUP BY s")
    }

    // MARK: account level

    /// The statements that run at account level on ClickHouse.
    static func accountLevelPlan(_ p: QueryPlan) throws -> QueryPlan {
        switch p {
        case .funnel, .paths, .time, .dropoff, .retention, .attribution, .touchpoints, .gaps, .customers, .pauses, .matching, .revenue, .leads, .compare, .profile, .value, .score, .forecast: return p
        default: throw Untranslatable("this statement at account level")
        }
    }

    // MARK: all

    /// Every query a plan runs, for `explain sql`; `end` is the store's last event time (the statements that
    /// measure to it, or take the 12 months before it, write it into their SQL).
    public func sql(_ plan: QueryPlan, end: Int64 = 0) throws -> [String] {
        switch plan {
        case .funnel(let q): return [try funnel(q)]
        case .revenue(let q):
            let r = try revenue(q)
            return [r.groups, r.total]
        case .leads(let q): return [try leads(q)]
        case .compare(let q):
            let c = try compare(q)
            return [c.sides, c.touchpoints]
        case .profile(let q):
            let p = try profile(q)
            return [p.totals] + p.values
        case .count(let q):
            let c = try count(q)
            return [c.groups, c.total] + (c.store.map { [$0] } ?? [])
        case .explain(let p), .explainSQL(let p): return try sql(p, end: end)
        case .accounts(let inner):
            var t = self
            t.accountLevel = true
            return try t.sql(try Self.accountLevelPlan(inner), end: end)
        case .stats(let q):
            let st = try stats(q)
            return [st.customers, st.accounts]
        case .quality: throw Untranslatable("quality (it reads the local store's import records)")
        case .value(let q):
            // The projection's SQL needs the curve's sums: shown with the curve of an empty store (all 0).
            return [try valueCurve(q, end: end)] + (q.list ? [try valueList(q, cumulative: [0], end: end).list] : [try valueGroups(q, cumulative: [0], end: end)])
        case .score(let q):
            // The model's SQL needs its fit: shown is the query gathering the rows it is fitted on.
            return [try scoreTraining(q, cutoff: end - q.window, rate: 1), segmentCounts]
        case .forecast(let q): return [try forecastRows(q, asOf: min(q.asOf ?? end, end))]
        case .paths(let q):
            let p = try paths(q)
            return [p.paths, p.totals]
        case .time(let q): return [try time(q)]
        case .dropoff(let q):
            let d = try dropoff(q, end: end)
            return [lastEventTime, d.groups, d.totals]
        case .top(let q):
            let last = RetentionPeriod.month.index(end)
            return [lastEventTime, try top(q, bounds: (0...12).map { RetentionPeriod.month.start(last - 11 + $0) })]
        case .pauses(let q):
            let p = try pauses(q, end: end)
            return [lastEventTime, p.resumed, p.totals, p.open, p.openCount]
        case .customers(let q):
            let c = try customers(q, end: end)
            return [lastEventTime, c.list, c.total]
        case .attribution(let q):
            let a = try attribution(q)
            return [a.totals, a.credits, a.paths, a.sets]
        case .matching(let q): return [try patternEvents(q)]
        case .touchpoints(let q):
            let t = try touchpoints(q)
            return [t.labels, t.totals]
        case .gaps(let q):
            let g = try gaps(q, decision: ["consideration", "intent"].compactMap { catalog.stageCode($0).map(Int.init) })
            return [g.touching, g.ended, g.totals]
        case .retention(let q): return [lastEventTime, try retention(q, endPeriod: q.period.index(end))]
        case .set: return []
        }
    }
}
