import JourneyCore
import JourneyPlanner

/// What any backend computes for `customers matching`: how many customers and matches, and the customers shown
/// (most recent match first, already chosen and named).
public struct MatchListAggregate: Sendable, Equatable {
    public struct Customer: Sendable, Equatable {
        public var key: String, matches: Int
        public var firstStart: Int64, firstEnd: Int64, lastEnd: Int64
        public var lastEvent: String
        public init(key: String, matches: Int, firstStart: Int64, firstEnd: Int64, lastEnd: Int64, lastEvent: String) {
            self.key = key; self.matches = matches; self.firstStart = firstStart; self.firstEnd = firstEnd; self.lastEnd = lastEnd; self.lastEvent = lastEvent
        }
    }
    public var customers: Int, matches: Int, storeCustomers: Int
    public var shown: [Customer]
    public init(customers: Int, matches: Int, storeCustomers: Int, shown: [Customer]) {
        self.customers = customers; self.matches = matches; self.storeCustomers = storeCustomers; self.shown = shown
    }
}

/// What any backend computes for `count matching`: per group the customers with a match, their matches and the
/// share's base (all customers, or the customers with that attribute value).
public struct MatchCountAggregate: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var label: String, customers: Int, matches: Int, base: Int
        public init(label: String, customers: Int, matches: Int, base: Int) {
            self.label = label; self.customers = customers; self.matches = matches; self.base = base
        }
    }
    public var groups: [Group]
    public var customers: Int, matches: Int, storeCustomers: Int
    public init(groups: [Group], customers: Int, matches: Int, storeCustomers: Int) {
        self.groups = groups; self.customers = customers; self.matches = matches; self.storeCustomers = storeCustomers
    }
}

extension ResultBuilder {
    public static func customersMatching(_ q: QueryPlan.Matching, _ a: MatchListAggregate, filterNotes: [String]) -> [ResultTable] {
        let rows: [[Value]] = a.shown.map { h in
            [.text(h.key), .int(h.matches), .text(UTC.format(ms: h.firstStart, dateOnly: true)), .duration(Double(h.firstEnd - h.firstStart)),
             .text(UTC.format(ms: h.lastEnd, dateOnly: true)), .text(h.lastEvent)]
        }
        let notes = ["\(a.customers.grouped) of \(a.storeCustomers.grouped) customers match \(q.pattern.text)\(q.within.map { " within \($0.text)" } ?? ""); \(a.matches.grouped) matches in all; \(rows.count) shown, most recent match first",
                     "matches do not overlap; each is the earliest-ending one after the previous (see docs/semantics.md, match)"] + filterNotes
        return [ResultTable(title: "customers matching", columns: ["customer", "matches", "first match", "its duration", "latest match end", "its last event"],
                            rows: rows, notes: notes)]
    }

    public static func countMatching(_ q: QueryPlan.Matching, _ a: MatchCountAggregate, filterNotes: [String]) -> [ResultTable] {
        let rows: [[Value]] = a.groups.sorted { $0.customers != $1.customers ? $0.customers > $1.customers : $0.label < $1.label }.map { g in
            (q.by == nil ? [] : [.text(g.label)]) + [.int(g.customers), .percent(Double(g.customers) / Double(max(g.base, 1))), .int(g.matches)]
        }
        var notes = ["\(a.customers.grouped) of \(a.storeCustomers.grouped) customers match \(q.pattern.text)\(q.within.map { " within \($0.text)" } ?? ""), \(a.matches.grouped) matches"]
        if let by = q.by {
            notes.append(by.isEventField ? "a customer counts under the \(by.display) of their first match's first event; share = of all customers"
                                         : "share = of the customers with that \(by.display)")
        }
        notes += filterNotes
        return [ResultTable(title: "count matching", columns: (q.by.map { [$0.display] } ?? []) + ["customers", "share", "matches"],
                            rows: rows, notes: notes, chart: q.by == nil ? nil : .bars(label: 0, value: 1))]
    }
}
