import JourneyCore
import JourneyPlanner

/// What any backend computes for `leads`: per group (a first touch's field, or an attribute) the leads, how many
/// reached the MQL, SQL and won stages, and their revenue.
public struct LeadsAggregate: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var label: String, leads: Int, mql: Int, sql: Int, won: Int, revenue: Double
        public init(label: String, leads: Int, mql: Int, sql: Int, won: Int, revenue: Double) {
            self.label = label; self.leads = leads; self.mql = mql; self.sql = sql; self.won = won; self.revenue = revenue
        }
        public mutating func add(_ g: Group) { leads += g.leads; mql += g.mql; sql += g.sql; won += g.won; revenue += g.revenue }
    }
    public var groups: [Group]
    public init(groups: [Group]) { self.groups = groups }
}

extension ResultBuilder {
    public static func leads(_ q: QueryPlan.Leads, _ a: LeadsAggregate, filterNotes: [String]) -> [ResultTable] {
        func rate(_ x: Int, _ n: Int) -> Value { n == 0 ? .null : .percent(Double(x) / Double(n)) }
        let groups = a.groups.filter { $0.leads > 0 }
            .sorted { q.by?.isMonths == true ? $0.label < $1.label : $0.leads != $1.leads ? $0.leads > $1.leads : $0.label < $1.label }
        var all = LeadsAggregate.Group(label: "all", leads: 0, mql: 0, sql: 0, won: 0, revenue: 0)
        for g in groups { all.add(g) }
        let rows: [[Value]] = (q.by == nil ? [all] : groups).map { g in
            (q.by == nil ? [] : [.text(g.label)]) + [.int(g.leads), .int(g.mql), .int(g.sql), .int(g.won), rate(g.mql, g.leads), rate(g.sql, g.mql),
                                                    rate(g.won, g.sql), rate(g.won, g.leads), .money(g.revenue), g.leads == 0 ? .null : .money(g.revenue / Double(g.leads))]
        }
        var notes = ["a lead is a customer with an event\(filterNotes.isEmpty ? "" : " passing the filter"); MQL = reached \(q.stageNames[0]) or a later stage, SQL = \(q.stageNames[1]) or later, won = \(q.stageNames[2]) or later",
                     "MQL rate = MQL / leads, SQL rate = SQL / MQL, win rate = won / SQL; revenue = the sum of the leads' event values"]
        if let by = q.by {
            notes.append(by.isEventField ? "by \(by.display): each lead under the \(by.display) of its first event (first touch)" : "by \(by.display): each lead under its value")
            notes.append("in all: \(all.leads.grouped) leads, \(all.mql.grouped) MQL, \(all.sql.grouped) SQL, \(all.won.grouped) won; revenue \(all.revenue.money)")
        }
        return [ResultTable(title: "leads" + (q.by.map { " by \($0.display)" } ?? ""),
                            columns: (q.by.map { [$0.display] } ?? []) + ["leads", "MQL", "SQL", "won", "MQL rate", "SQL rate", "win rate", "lead to won", "revenue", "per lead"],
                            rows: rows, notes: notes + filterNotes, chart: q.by == nil ? nil : .bars(label: 0, value: 8))]
    }
}
