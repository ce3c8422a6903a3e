import JourneyCore
import JourneyPlanner

/// `forecast` on ClickHouse (docs/semantics.md, "forecast"): per customer the server finds the first conversion
/// (time, value) and, for each stage before it, the first time it was reached by the forecast's day; journey
/// rebuilds the episodes of the highest stage from those times and fills the same `PipelineHistory` as natively.
extension Translator {
    /// One row per customer in store order: o, conversion time (Int64 max: none), its value, and per stage
    /// 0 … won−1 the first time reached by `asOf` (Int64 max: not).
    public func forecastRows(_ q: QueryPlan.Forecast, asOf: Int64) throws -> String {
        let none = "toInt64(9223372036854775807)"
        let firsts = (0..<Int(q.won)).map { s in "if(countIf(stage = \(s) AND ts <= \(asOf)) = 0, \(none), minIf(ts, stage = \(s) AND ts <= \(asOf))) AS f\(s)" }
        return """
            SELECT o, conv, cv, \((0..<Int(q.won)).map { "f\($0)" }.joined(separator: ", ")) FROM
              (SELECT customer, arraySort(x -> (x.1, x.2), groupArrayIf((ts, seq, value), stage >= \(q.won))) AS cs,
                      if(length(cs) = 0, \(none), cs[1].1) AS conv, if(length(cs) = 0 OR isNaN(cs[1].3), 0., cs[1].3) AS cv,
                      \(firsts.joined(separator: ", "))
               FROM \(events) WHERE \(try conditions(q.filter)) GROUP BY customer) AS l
              ANY LEFT JOIN \(rowKeys) AS r USING customer
            ORDER BY o
            """
    }
}
