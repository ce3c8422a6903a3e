import JourneyCore
import JourneyEngine
import JourneyPlanner

/// `score` on ClickHouse (docs/semantics.md, "score"): the server counts each customer's touches, channels,
/// stages, first and last touch, recent, paid and earned touches at a moment (`LeadCounts`); journey turns them
/// into features exactly as natively, fits the same model on the same rows, and sends it back so the server
/// scores every open lead; the best are scored again here from their counts.
extension Translator {
    /// Per row (customer, or account): its store-order position `o`, key, first conversion (Int64 max: none),
    /// the lead counts at `t`, its highest stage, and its segment ('' when none).
    public func leadCounts(_ q: QueryPlan.Score, at t: Int64) throws -> String {
        let segment = attributeRows("scope = 'customer' AND name = 'segment'")
        // One join per query level (ClickHouse 18.16): the keys, then the segment.
        return """
            SELECT customer, o, key, conv, n, ch, st, first, last, recent, paid, earned, top, seg FROM
             (SELECT * FROM
              (SELECT customer,
                      if(countIf(stage >= \(q.won)) = 0, toInt64(9223372036854775807), minIf(ts, stage >= \(q.won))) AS conv,
                      countIf(ts <= \(t)) AS n, uniqExactIf(channel, ts <= \(t) AND channel != 0) AS ch, maxIf(stage, ts <= \(t)) AS st,
                      minIf(ts, ts <= \(t)) AS first, maxIf(ts, ts <= \(t)) AS last, countIf(ts <= \(t) AND ts > \(t - 30 * UTC.msPerDay)) AS recent,
                      countIf(ts <= \(t) AND kind = 1) AS paid, countIf(ts <= \(t) AND kind = 3) AS earned, max(stage) AS top
               FROM \(events) WHERE \(try conditions(q.filter)) GROUP BY customer) AS l
              ANY LEFT JOIN \(rowKeys) AS r USING customer) AS lk
             ANY LEFT JOIN (SELECT customer, v AS seg FROM (\(segment))) AS s USING customer
            """
    }

    /// The training and held-back rows at the cutoff: not converted by it, with a touch by it; a hash-chosen
    /// sample when `rate` < 1 (the same customers as natively: the hash of the store id).
    public func scoreTraining(_ q: QueryPlan.Score, cutoff: Int64, rate: Double) throws -> String {
        let sample = rate >= 1 ? "" : " AND toFloat64(bitShiftRight(toUInt64(o) * \(LeadModelFit.sampleMultiplier), 11)) * \(0x1.0p-53) < \(rate)"
        return "SELECT o, conv, n, ch, st, first, last, recent, paid, earned, seg FROM (\(try leadCounts(q, at: cutoff))) WHERE conv > \(cutoff) AND n > 0\(sample) ORDER BY o"
    }

    /// The segments' counts over every row with events, and each one's first row (the native value order).
    public var segmentCounts: String {
        let segment = attributeRows("scope = 'customer' AND name = 'segment'")
        return """
            SELECT seg, count(), min(o) FROM
              (SELECT customer, o FROM (SELECT customer FROM \(events) GROUP BY customer) AS c ANY LEFT JOIN \(rowKeys) AS r USING customer) AS co
              ANY LEFT JOIN (SELECT customer, v AS seg FROM (\(segment))) AS s USING customer
            GROUP BY seg
            """
    }

    /// The open leads (no conversion, a touch) scored by the fitted model: how many and their expected
    /// conversions; and the `candidates` most likely, with their counts.
    public func scoreOpen(_ q: QueryPlan.Score, end: Int64, fit: LeadModelFit, stageCount: Int, segments: [String], candidates: Int) throws -> (totals: String, top: String) {
        let day = Double(UTC.msPerDay)
        var features = ["log(1 + n)", "toFloat64(ch)", "st / \(Double(max(stageCount, 1)))", "log(1 + (\(end) - first) / \(day))", "log(1 + (\(end) - last) / \(day))",
                        "log(1 + recent)", "paid / n", "earned / n"]
        features += segments.map { "if(seg = \(SQL.string($0)), 1., 0.)" }
        var logit = "\(fit.beta[0])"
        for (j, f) in features.enumerated() where fit.scale[j] > 0 {
            logit += " + \(fit.beta[j + 1]) * ((\(f)) - \(fit.mean[j])) / \(fit.scale[j])"
        }
        let scored = "SELECT o, key, conv, n, ch, st, first, last, recent, paid, earned, top, seg, 1 / (1 + exp(-(\(logit)))) AS p FROM (\(try leadCounts(q, at: end))) WHERE conv = toInt64(9223372036854775807) AND n > 0"
        return ("SELECT count(), sum(p) FROM (\(scored))", "SELECT o, key, n, ch, st, first, last, recent, paid, earned, top, seg FROM (\(scored)) ORDER BY p DESC, o ASC LIMIT \(candidates)")
    }
}
