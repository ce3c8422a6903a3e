import JourneyCore
import JourneyPlanner

/// `value` and `customers by value` in SQL (docs/semantics.md, "value"): the server computes each customer's
/// orders, then the repeat curve; journey sums the curve into cumulative ratios and sends them back as a constant
/// array for the projection — two queries, the same arithmetic as `RepeatCurve`.
extension Translator {
    static let period = QueryPlan.valuePeriod

    /// One row per customer: its first event's group `g`, its orders `o` (ts, seq, value) in the store's order,
    /// their count and sum, touches, the highest stage, the last touch and the catalog cost of its events.
    func valuePerCustomer(_ q: QueryPlan.Value) throws -> (sql: String, key: String, join: String) {
        let (gcol, join, key) = try firstTouchGroup(q.by)
        let sql = """
            SELECT customer, arraySort(x -> (x.1, x.2), groupArray((ts, seq, \(gcol))))[1].3 AS g,
                   arraySort(x -> (x.1, x.2), groupArrayIf((ts, seq, value), NOT isNaN(value))) AS o,
                   length(o) AS orders, arraySum(x -> x.3, o) AS historic, count() AS touches, max(stage) AS st, max(ts) AS last,
                   \(costOfEvents) AS cost
            FROM \(events) WHERE \(try conditions(q.filter))
            GROUP BY customer
            """
        return (sql, key, join)
    }

    /// The repeat curve: per period k ≥ 1, the buyers observed through it, their first-order values and their
    /// revenue in it (`end`: the store's last event time).
    public func valueCurve(_ q: QueryPlan.Value, end: Int64) throws -> String {
        let (perCustomer, _, _) = try valuePerCustomer(q)
        let p = Self.period
        return """
            SELECT k, count(), sum(v0), sum(arraySum(x -> if(intDiv(x.1 - f, \(p)) = k, x.3, 0), later))   -- f, later: named outside the lambda too (18.16 drops lambda-only columns)
            FROM (SELECT f, v0, later, k FROM
                    (SELECT o[1].1 AS f, o[1].3 AS v0, arrayPopFront(o) AS later, intDiv(\(end) - f, \(p)) AS age
                     FROM (\(perCustomer)) WHERE orders > 0 AND \(end) - o[1].1 >= \(2 * p))
                  ARRAY JOIN arrayMap(i -> toInt64(i) + 1, range(toUInt64(age - 1))) AS k)
            WHERE ignore(f, later) = 0
            GROUP BY k ORDER BY k
            """
    }

    /// Each customer's projection from the cumulative ratios `cumulative` (index k: Σ r(1…k), index 0: 0).
    func projection(_ cumulative: [Double], horizon: Int, end: Int64) -> String {
        let kmax = cumulative.count - 1, p = Self.period
        let array = "[" + cumulative.map { "toFloat64(\($0))" }.joined(separator: ", ") + "]"
        return "if(orders = 0, 0, o[1].3 * (arrayElement(\(array), least(intDiv(\(end) - o[1].1, \(p)) + \(horizon), \(kmax)) + 1) - arrayElement(\(array), least(intDiv(\(end) - o[1].1, \(p)), \(kmax)) + 1)))"
    }

    /// Per group: key, customers, buyers, historic, projected.
    public func valueGroups(_ q: QueryPlan.Value, cumulative: [Double], end: Int64) throws -> String {
        let (perCustomer, key, join) = try valuePerCustomer(q)
        return """
            SELECT \(key), count(), countIf(orders > 0), sum(historic), sum(pr)
            FROM (SELECT customer, g, orders, historic, \(projection(cumulative, horizon: q.horizon, end: end)) AS pr FROM (\(perCustomer))) AS l \(join)
            GROUP BY \(key)
            """
    }

    /// The ranked list: key, historic, projected, orders, cost, touches, highest stage, last touch; and how many ranked.
    public func valueList(_ q: QueryPlan.Value, cumulative: [Double], end: Int64) throws -> (list: String, total: String) {
        let (perCustomer, _, _) = try valuePerCustomer(q)
        let list = """
            SELECT key, historic, pr, orders, cost, touches, st, last
            FROM (SELECT customer, historic, \(projection(cumulative, horizon: q.horizon, end: end)) AS pr, orders, cost, touches, st, last FROM (\(perCustomer))) AS l
                 ANY LEFT JOIN \(rowKeys) AS r USING customer
            ORDER BY historic + pr DESC, o ASC
            LIMIT \(q.limit)
            """
        return (list, "SELECT count() FROM (\(perCustomer))")
    }
}
