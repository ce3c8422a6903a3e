import JourneyCore
import JourneyPlanner

/// What any backend computes for `revenue`: per group the customers with an event there, those with an order
/// (buyers), the orders and their revenue; and the same over the whole (customers counted once).
public struct RevenueAggregate: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var label: String, customers: Int, buyers: Int, orders: Int, revenue: Double
        /// The touchpoint-catalog cost of the group's events (cost to serve).
        public var cost: Double
        public init(label: String, customers: Int, buyers: Int, orders: Int, revenue: Double, cost: Double = 0) {
            self.label = label; self.customers = customers; self.buyers = buyers; self.orders = orders; self.revenue = revenue
            self.cost = cost
        }
    }
    public var groups: [Group]
    public var total: Group
    public init(groups: [Group], total: Group) { self.groups = groups; self.total = total }
}

extension ResultBuilder {
    public static func revenue(_ q: QueryPlan.Revenue, _ a: RevenueAggregate, filterNotes: [String]) -> [ResultTable] {
        func ratio(_ x: Double, _ n: Int) -> Value { n == 0 ? .null : .money(x / Double(n)) }
        func cells(_ g: RevenueAggregate.Group) -> [Value] {
            if q.margin {
                return [.int(g.customers), .money(g.revenue), .money(g.cost), .money(g.revenue - g.cost),
                        g.revenue == 0 ? .null : .percent((g.revenue - g.cost) / g.revenue), ratio(g.revenue - g.cost, g.customers)]
            }
            return [.int(g.customers), .int(g.buyers), .int(g.orders), .money(g.revenue),
                    a.total.revenue == 0 ? .null : .percent(g.revenue / a.total.revenue),
                    ratio(g.revenue, g.orders), ratio(g.revenue, g.customers), ratio(g.revenue, g.buyers)]
        }
        let columns = q.margin ? ["customers", "revenue", "cost", "margin", "margin rate", "margin per customer"]
                               : ["customers", "buyers", "orders", "revenue", "share", "per order", "per customer", "per buyer"]
        let what = q.margin ? "margin" : "revenue"
        var notes = ["an order is an event with a value\(filterNotes.isEmpty ? "" : " passing the filter"); revenue = the sum of their values; buyers = customers with an order"]
        if q.margin { notes.append("cost = the touchpoint catalog's cost of every touch counted (cost to serve); margin = revenue minus cost; margin rate = margin / revenue") }
        guard let by = q.by else {
            notes.append("\(a.total.orders.grouped) orders by \(a.total.buyers.grouped) of \(a.total.customers.grouped) customers")
            return [ResultTable(title: what, columns: columns, rows: [cells(a.total)], notes: notes + filterNotes)]
        }
        // Months in time order; otherwise the largest revenue first (ties by name), cut to `top`.
        var groups = a.groups.filter { $0.customers > 0 || $0.orders > 0 }
        func key(_ g: RevenueAggregate.Group) -> Double { q.margin ? g.revenue - g.cost : g.revenue }
        groups.sort { by.isMonths ? $0.label < $1.label : key($0) != key($1) ? key($0) > key($1) : $0.label < $1.label }
        if let top = q.top, groups.count > top {
            notes.append("the \(top) groups with the most \(what) of \(groups.count) shown")
            groups = Array(groups.prefix(top))
        }
        notes.append(by.isEventField ? "by \(by.display): an order counts under its own \(by.display), a customer under every \(by.display) it has an event with (so the customers of the groups add up to more than \(a.total.customers.grouped))"
                                     : "by \(by.display): each customer under its value")
        notes.append("in all: revenue \(a.total.revenue.money) from \(a.total.orders.grouped) orders by \(a.total.buyers.grouped) of \(a.total.customers.grouped) customers"
                     + (q.margin ? "; cost \(a.total.cost.money), margin \((a.total.revenue - a.total.cost).money)" : ""))
        return [ResultTable(title: "\(what) by \(by.display)", columns: [by.display] + columns,
                            rows: groups.map { [.text($0.label)] + cells($0) }, notes: notes + filterNotes, chart: .bars(label: 0, value: 4))]
    }
}
