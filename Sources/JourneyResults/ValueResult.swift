import JourneyCore
import JourneyPlanner

/// What `value` computes: per group the customers, buyers, historic and projected revenue; and the repeat
/// curve the projection used (per 30-day period after the first order).
public struct ValueAggregate: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var label: String, customers: Int, buyers: Int, historic: Double, projected: Double
        public init(label: String, customers: Int, buyers: Int, historic: Double, projected: Double) {
            self.label = label; self.customers = customers; self.buyers = buyers; self.historic = historic; self.projected = projected
        }
    }
    /// Per period k (index 0 unused): buyers observed through k, the sum of their first-order values, their revenue in k.
    public struct Curve: Sendable, Equatable {
        public var buyers: [Int], firstValue: [Double], revenue: [Double]
        public init(buyers: [Int], firstValue: [Double], revenue: [Double]) { self.buyers = buyers; self.firstValue = firstValue; self.revenue = revenue }
    }
    /// One customer of `customers by value`.
    public struct Customer: Sendable, Equatable {
        public var key: String, touches: Int, channels: Int, first: Int64, last: Int64, stage: String, orders: Int
        public var historic: Double, projected: Double, cost: Double?
        public init(key: String, touches: Int, channels: Int, first: Int64, last: Int64, stage: String, orders: Int,
                    historic: Double, projected: Double, cost: Double?) {
            self.key = key; self.touches = touches; self.channels = channels; self.first = first; self.last = last; self.stage = stage
            self.orders = orders; self.historic = historic; self.projected = projected; self.cost = cost
        }
    }
    public var groups: [Group]
    public var total: Group
    public var curve: Curve
    public init(groups: [Group], total: Group, curve: Curve) { self.groups = groups; self.total = total; self.curve = curve }
}

extension ResultBuilder {
    static func modelNote(_ q: QueryPlan.Value, end: Int64) -> String {
        "lifetime value = historic revenue + projected revenue over the next \(q.horizon) periods of 30 days after \(UTC.format(ms: end, dateOnly: true)) (the data's end): each buyer's first-order value × the repeat curve (revenue per unit of first-order value, by period since the first order, from the buyers observed through that period); customers without an order project 0"
    }

    /// The repeat curve as a table: period, buyers observed, repeat revenue, per unit of first order, cumulative.
    static func curveTable(_ c: ValueAggregate.Curve) -> ResultTable {
        var rows: [[Value]] = [], cumulative = 0.0
        for k in 1..<c.buyers.count {
            let r = c.firstValue[k] > 0 ? c.revenue[k] / c.firstValue[k] : 0
            cumulative += r
            rows.append([.text("\(k * 30)–\((k + 1) * 30)d"), .int(c.buyers[k]), .money(c.revenue[k]), .percent(r), .percent(cumulative)])
        }
        return ResultTable(title: "repeat curve (per period after the first order)",
                           columns: ["period", "buyers observed", "repeat revenue", "of first order", "cumulative"], rows: rows,
                           notes: rows.isEmpty ? ["no buyer has a whole period after its first order in the data: the projection is 0"]
                                               : ["of first order = the period's repeat revenue per unit of those buyers' first-order value; a period counts only the buyers for whom it lies wholly in the data, so later periods rest on fewer buyers"])
    }

    public static func value(_ q: QueryPlan.Value, _ a: ValueAggregate, end: Int64, filterNotes: [String]) -> [ResultTable] {
        func ratio(_ x: Double, _ n: Int) -> Value { n == 0 ? .null : .money(x / Double(n)) }
        func cells(_ g: ValueAggregate.Group) -> [Value] {
            [.int(g.customers), .int(g.buyers), .money(g.historic), .money(g.projected), .money(g.historic + g.projected),
             ratio(g.historic + g.projected, g.customers), ratio(g.historic + g.projected, g.buyers)]
        }
        let columns = ["customers", "buyers", "historic", "projected", "lifetime value", "per customer", "per buyer"]
        var notes = [modelNote(q, end: end)]
        let table: ResultTable
        if let by = q.by {
            var groups = a.groups.filter { $0.customers > 0 }
            func key(_ g: ValueAggregate.Group) -> Double { g.historic + g.projected }
            groups.sort { by.isMonths ? $0.label < $1.label : key($0) != key($1) ? key($0) > key($1) : $0.label < $1.label }
            if let top = q.top, groups.count > top {
                notes.append("the \(top) groups with the most lifetime value of \(groups.count) shown")
                groups = Array(groups.prefix(top))
            }
            notes.append(by.isEventField ? "by \(by.display): each customer under the \(by.display) of its first event (its first touch)" : "by \(by.display): each customer under its value")
            notes.append("in all: \(a.total.customers.grouped) customers, \(a.total.buyers.grouped) buyers, lifetime value \((a.total.historic + a.total.projected).money) (historic \(a.total.historic.money), projected \(a.total.projected.money))")
            table = ResultTable(title: "lifetime value by \(by.display)", columns: [by.display] + columns,
                                rows: groups.map { [.text($0.label)] + cells($0) }, notes: notes + filterNotes, chart: .bars(label: 0, value: 5))
        } else {
            table = ResultTable(title: "lifetime value", columns: columns, rows: [cells(a.total)], notes: notes + filterNotes)
        }
        return [table, curveTable(a.curve)]
    }

    public static func valueRanking(_ q: QueryPlan.Value, customers: [ValueAggregate.Customer], ranked: Int, curve: ValueAggregate.Curve,
                                     end: Int64, filterNotes: [String]) -> [ResultTable] {
        let costs = customers.first?.cost != nil
        let rows: [[Value]] = customers.map { c in
            [.text(c.key), .money(c.historic + c.projected), .money(c.projected)] + (c.cost.map { [.money(c.historic - $0)] } ?? [.int(c.orders)])
            + [.int(c.touches), .text(c.stage), .text(UTC.format(ms: c.last, dateOnly: true))]
        }
        let columns = ["customer", "lifetime value", "projected"] + (costs ? ["margin"] : ["orders"]) + ["touches", "stage reached", "last touch"]
        var notes = [modelNote(q, end: end), "the \(customers.count) of \(ranked.grouped) customers with the highest lifetime value (ties by first seen)"]
        if costs { notes.append("margin = historic revenue minus the touchpoint catalog's cost of the customer's touches") }
        return [ResultTable(title: "customers by lifetime value", columns: columns, rows: rows, notes: notes + filterNotes, chart: .bars(label: 0, value: 1)),
                curveTable(curve)]
    }
}
