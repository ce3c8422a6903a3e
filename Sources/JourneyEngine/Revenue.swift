import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    /// `revenue [by DIM] [where …]`: orders are the events with a value passing the filter. One pass over the
    /// customers; groups are codes (an event field's per event, a customer attribute's per customer), and a
    /// group's customers and buyers are counted once each by remembering the last customer seen there.
    public func revenue(_ q: QueryPlan.Revenue) throws -> [ResultTable] {
        let pass = try GroupedPass(self, by: q.by, filter: q.filter)
        let filter = pass.filter, groupCount = pass.groupCount
        var customers = [Int](repeating: 0, count: groupCount), buyers = customers, orders = customers
        var revenue = [Double](repeating: 0, count: groupCount), cost = revenue
        let costs = q.margin ? catalog.eventCosts : []
        var seenCustomer = [Int](repeating: -1, count: groupCount), seenBuyer = seenCustomer
        var total = RevenueAggregate.Group(label: "all", customers: 0, buyers: 0, orders: 0, revenue: 0)
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                var any = false, bought = false
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    if let f = pass.eventFilter, !f.matches(v, i) { continue }
                    any = true
                    let g = pass.group(v, i, customer: c)
                    if seenCustomer[g] != c { seenCustomer[g] = c; customers[g] += 1 }
                    if !costs.isEmpty, Int(v.events[i]) < costs.count { let x = costs[Int(v.events[i])]; cost[g] += x; total.cost += x }
                    let x = v.values[i]
                    guard !x.isNaN else { continue }
                    bought = true
                    orders[g] += 1; revenue[g] += x
                    total.orders += 1; total.revenue += x
                    if seenBuyer[g] != c { seenBuyer[g] = c; buyers[g] += 1 }
                }
                if any { total.customers += 1 }
                if bought { total.buyers += 1 }
            }
        }
        let names = pass.names
        withExtendedLifetime(pass) {}
        let groups = (0..<groupCount).map { g in
            RevenueAggregate.Group(label: names[g], customers: customers[g], buyers: buyers[g], orders: orders[g], revenue: revenue[g], cost: cost[g])
        }
        return ResultBuilder.revenue(q, RevenueAggregate(groups: groups, total: total), filterNotes: filter.description)
    }
}
