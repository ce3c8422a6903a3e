import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

/// The cohort repeat model behind `value` (docs/semantics.md, "value"): for each 30-day period k ≥ 1 after a
/// buyer's first order, the revenue of period k per unit of first-order value, among the buyers whose period k
/// lies wholly in the data. A buyer in period a expects first-order value × the curve summed over a+1 … a+h.
struct RepeatCurve {
    /// Per period k (index 0 unused): buyers observed through k, their first-order values, their revenue in k.
    var buyers: [Int] = [0], firstValue: [Double] = [0], revenue: [Double] = [0]

    /// Adds a buyer whose first order (at `first`, worth `value`) is `age` whole periods before the data's end.
    mutating func observe(age: Int, value: Double) {
        guard age >= 2 else { return }
        let through = age - 1   // period k is wholly in the data when first + (k + 1) · P ≤ end
        while buyers.count <= through { buyers.append(0); firstValue.append(0); revenue.append(0) }
        for k in 1...through { buyers[k] += 1; firstValue[k] += value }
    }

    /// Adds a later order in period `k` of a buyer `age` periods old.
    mutating func order(period k: Int, age: Int, value: Double) {
        guard k >= 1, k <= age - 1, k < revenue.count else { return }
        revenue[k] += value
    }

    func ratio(_ k: Int) -> Double { k < firstValue.count && firstValue[k] > 0 ? revenue[k] / firstValue[k] : 0 }

    /// The expected revenue of a buyer `age` periods old with first-order `value` over the next `horizon` periods.
    func projection(age: Int, value: Double, horizon: Int) -> Double {
        var sum = 0.0
        for k in (age + 1)...(age + horizon) { sum += ratio(k) }
        return value * sum
    }
}

extension Executor {
    /// `value` and `customers by value`: per customer its orders (events with a value passing the filter); the
    /// repeat curve from all buyers; then per group (or per customer, ranked) historic + projected revenue.
    public func value(_ q: QueryPlan.Value, keys: ([Int64]) throws -> [String]) throws -> [ResultTable] {
        let pass = try GroupedPass(self, by: q.by, filter: q.filter)
        let filter = pass.filter
        let period = QueryPlan.valuePeriod
        let end = seq.times.max() ?? 0
        let n = seq.customerCount
        var firstOrder = [Int64](repeating: .min, count: n), firstValue = [Double](repeating: 0, count: n)
        var historic = [Double](repeating: 0, count: n), orders = [Int](repeating: 0, count: n)
        var group = [Int](repeating: -1, count: n)
        var curve = RepeatCurve()
        try seq.withView { v in
            for c in 0..<n {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                var age = 0
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    if let f = pass.eventFilter, !f.matches(v, i) { continue }
                    if group[c] < 0 { group[c] = pass.group(v, i, customer: c) }
                    let x = v.values[i]
                    guard !x.isNaN else { continue }
                    orders[c] += 1; historic[c] += x
                    if firstOrder[c] == .min {
                        firstOrder[c] = v.times[i]; firstValue[c] = x
                        age = Int((end - v.times[i]) / period)
                        curve.observe(age: age, value: x)
                    } else {
                        curve.order(period: Int((v.times[i] - firstOrder[c]) / period), age: age, value: x)
                    }
                }
            }
        }
        func projected(_ c: Int) -> Double {
            firstOrder[c] == .min ? 0 : curve.projection(age: Int((end - firstOrder[c]) / period), value: firstValue[c], horizon: q.horizon)
        }
        let model = ValueAggregate.Curve(buyers: curve.buyers, firstValue: curve.firstValue, revenue: curve.revenue)
        if q.list {
            let ranked = (0..<n).filter { group[$0] >= 0 }.map { (c: $0, value: historic[$0] + projected($0)) }
            let shown = firstK(q.limit, of: ranked) { $0.value != $1.value ? $0.value > $1.value : $0.c < $1.c }
            let names = try keys(shown.map { seq.customerIDs[$0.c] })
            let costs = catalog.hasCosts ? catalog.eventCosts : []
            let rows: [ValueAggregate.Customer] = seq.withView { v in
                zip(shown, names).map { s, name in
                    var touches = 0, channels = Set<UInt16>(), stage: UInt8 = 0, first: Int64 = 0, last: Int64 = 0, cost = 0.0
                    for i in Int(v.offsets[s.c])..<Int(v.offsets[s.c + 1]) {
                        if let f = pass.eventFilter, !f.matches(v, i) { continue }
                        if touches == 0 { first = v.times[i] }
                        touches += 1; last = v.times[i]; stage = max(stage, v.stages[i])
                        if v.channels[i] != 0 { channels.insert(v.channels[i]) }
                        if !costs.isEmpty, Int(v.events[i]) < costs.count { cost += costs[Int(v.events[i])] }
                    }
                    return .init(key: name, touches: touches, channels: channels.count, first: first, last: last,
                                 stage: stage == 0 ? "" : catalog.stages[Int(stage) - 1], orders: orders[s.c], historic: historic[s.c],
                                 projected: projected(s.c), cost: costs.isEmpty ? nil : cost)
                }
            }
            withExtendedLifetime(pass) {}
            return ResultBuilder.valueRanking(q, customers: rows, ranked: ranked.count, curve: model, end: end, filterNotes: filter.description)
        }
        var groups = [ValueAggregate.Group](repeating: .init(label: "", customers: 0, buyers: 0, historic: 0, projected: 0), count: pass.groupCount)
        var total = ValueAggregate.Group(label: "all", customers: 0, buyers: 0, historic: 0, projected: 0)
        for c in 0..<n where group[c] >= 0 {
            let p = projected(c), g = group[c], buyer = orders[c] > 0 ? 1 : 0
            groups[g].customers += 1; groups[g].buyers += buyer; groups[g].historic += historic[c]; groups[g].projected += p
            total.customers += 1; total.buyers += buyer; total.historic += historic[c]; total.projected += p
        }
        let names = pass.names
        withExtendedLifetime(pass) {}
        for g in groups.indices { groups[g].label = names[g] }
        return ResultBuilder.value(q, ValueAggregate(groups: groups, total: total, curve: model), end: end, filterNotes: filter.description)
    }
}
