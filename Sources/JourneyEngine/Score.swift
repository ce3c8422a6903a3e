import Foundation
import JourneyCore
import JourneyPlanner
import JourneyResults

/// The counts behind a journey's lead features at a moment, over its events up to then that pass the filter
/// (what a server can aggregate too: the ClickHouse backend computes them in SQL).
public struct LeadCounts: Sendable {
    public var touches = 0, channels = 0, stage = 0, recent = 0, paid = 0, earned = 0
    public var first: Int64 = 0, last: Int64 = 0
    public init() {}
}

/// What the lead model knows of a journey at a moment (docs/semantics.md, "score").
public struct LeadFeatures {
    public static let base = ["touches (log)", "channels", "highest stage", "days since first touch (log)", "days since last touch (log)",
                              "touches in the last 30 days (log)", "paid share", "earned share"]
    let stageCount: Double
    /// Segment values that get a feature of their own (all but the most common one, which is the baseline).
    let segments: [Int32]
    var names: [String]
    var count: Int { names.count }

    /// The feature vector of counts taken at `t`, with the customer's segment code among `segments`.
    public static func vector(_ k: LeadCounts, at t: Int64, stageCount: Int, segment: Int32?, segments: [Int32]) -> [Double] {
        let day = Double(UTC.msPerDay), n = Double(k.touches)
        return [log1p(n), Double(k.channels), Double(k.stage) / max(Double(stageCount), 1), log1p(Double(t - k.first) / day),
                log1p(Double(t - k.last) / day), log1p(Double(k.recent)), Double(k.paid) / n, Double(k.earned) / n]
            + segments.map { segment == $0 ? 1 : 0 }
    }

    /// Writes customer `c`'s features at time `t` after `out`; false when it has no event by then.
    func append(_ v: UnsafePackedView, _ c: Int, at t: Int64, filter: StepTest?, segment: Int32?, into out: inout [Double]) -> Bool {
        var k = LeadCounts(), stage: UInt8 = 0
        var channels: UInt64 = 0, extra = Set<UInt16>()
        for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
            if v.times[i] > t { break }
            if let f = filter, !f.matches(v, i) { continue }
            if k.touches == 0 { k.first = v.times[i] }
            k.touches += 1; k.last = v.times[i]; stage = max(stage, v.stages[i])
            if v.times[i] > t - 30 * UTC.msPerDay { k.recent += 1 }
            if v.kinds[i] == 1 { k.paid += 1 } else if v.kinds[i] == 3 { k.earned += 1 }
            let ch = v.channels[i]
            if ch != 0 { if ch < 64 { channels |= 1 << UInt64(ch) } else { extra.insert(ch) } }
        }
        guard k.touches > 0 else { return false }
        k.stage = Int(stage); k.channels = channels.nonzeroBitCount + extra.count
        out += Self.vector(k, at: t, stageCount: Int(stageCount), segment: segment, segments: segments)
        return true
    }
}

/// The fitted lead model and how good it is on the held-back rows: what `score` reports, natively and on
/// ClickHouse alike.
public struct LeadModelFit {
    let model: LogisticModel
    public let aggregate: LeadModelAggregate

    /// Fits on the training rows (`names.count` features each) and measures on the held-back ones.
    public static func fit(train: [Double], trainY: [Bool], test: [Double], testY: [Bool], names: [String], baseline: String?,
                           cutoff: Int64, end: Int64, window: Int64, wonName: String) throws -> LeadModelFit {
        let p = names.count
        guard trainY.contains(true) && trainY.contains(false) else {
            throw QueryError("score needs customers who converted within \(window / UTC.msPerDay) days of the snapshot and customers who did not; this store's history (to \(UTC.format(ms: cutoff, dateOnly: true)), \(trainY.count.grouped) customers) has \(trainY.contains(true) ? "no customer who did not" : "no conversion to \(wonName) after it") — try a longer 'within' or another 'won' stage")
        }
        let model = LogisticModel.fit(train, labels: trainY, features: p)
        let testScores = (0..<testY.count).map { model.probability(test, row: $0) }
        var means = (converted: [Double](repeating: 0, count: p), not: [Double](repeating: 0, count: p))
        let pos = trainY.filter { $0 }.count
        for r in 0..<trainY.count { for j in 0..<p { if trainY[r] { means.converted[j] += train[r * p + j] } else { means.not[j] += train[r * p + j] } } }
        for j in 0..<p { means.converted[j] /= Double(max(pos, 1)); means.not[j] /= Double(max(trainY.count - pos, 1)) }
        let aggregate = LeadModelAggregate(
            features: names, coefficients: Array(model.beta.dropFirst()), intercept: model.beta[0],
            scale: model.scale, meanConverted: means.converted, meanNotConverted: means.not,
            trained: trainY.count, trainedConverted: pos, heldBack: testY.count, heldBackConverted: testY.filter { $0 }.count,
            auc: areaUnderCurve(testScores, testY), calibration: calibrationDeciles(testScores, testY).map { .init(count: $0.count, predicted: $0.predicted, observed: $0.observed) },
            cutoff: cutoff, end: end, window: window, wonName: wonName, baselineSegment: baseline, iterations: model.iterations)
        return LeadModelFit(model: model, aggregate: aggregate)
    }

    public var mean: [Double] { model.mean }
    public var scale: [Double] { model.scale }
    public var beta: [Double] { model.beta }
    public func probability(_ x: [Double]) -> Double { model.probability(x, row: 0) }

    /// Each feature's term β·z in the log-odds.
    public func contributions(_ x: [Double]) -> [Double] {
        var z = [Double](repeating: 0, count: model.beta.count)
        model.standardized(x, row: 0, into: &z)
        return (0..<(model.beta.count - 1)).map { model.beta[$0 + 1] * z[$0 + 1] }
    }

    /// The feature that adds most to the log-odds above an average lead ("" when none adds).
    public func driver(_ x: [Double]) -> String {
        let terms = contributions(x)
        return terms.indices.max { terms[$0] < terms[$1] }.flatMap { terms[$0] > 0 ? aggregate.features[$0] : nil } ?? ""
    }

    /// A hash-chosen share `rate` of the customers (for training on large stores; the same every run).
    public static func sampled(_ id: Int64, _ rate: Double) -> Bool {
        Double((UInt64(bitPattern: id) &* sampleMultiplier) >> 11) * 0x1.0p-53 < rate
    }
    public static let sampleMultiplier: UInt64 = 0xD6E8_FEB8_6659_FD93

    /// The held-back 30% of customers, by a hash of the store id (the same customers every run).
    public static func heldBack(_ id: Int64) -> Bool { ((UInt64(bitPattern: id) &* heldBackMultiplier) >> 32) % 10 < 3 }
    public static let heldBackMultiplier: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The share of customers a model trains and is measured on: about 100,000 of them at most.
    public static func samplingRate(customers n: Int) -> Double { min(1, 100_000 / Double(max(n, 1))) }
}

extension Executor {
    /// `score`: the snapshot at the data's end minus the window trains a logistic model of converting within the
    /// window (30% held back by id to measure it); the open leads are scored on their journeys so far.
    public func score(_ q: QueryPlan.Score, keys: ([Int64]) throws -> [String]) throws -> [ResultTable] {
        // The compiled filter and its event test (the tables they point into live as long as `pass`).
        let pass = try GroupedPass(self, by: nil, filter: q.filter)
        defer { withExtendedLifetime(pass) {} }
        let filter = pass.filter, eventFilter = pass.eventFilter
        let n = seq.customerCount
        let end = seq.times.max() ?? 0, cutoff = end - q.window
        // The segment, when the store has one: its values but the most common become features.
        var segmentCodes: [Int32]? = nil, baseline: String? = nil
        var features = LeadFeatures(stageCount: Double(catalog.stages.count), segments: [], names: LeadFeatures.base)
        if catalog.customerAttributes.contains("segment") {
            let (values, codes) = try data.attributes.attributeCodes("segment", account: false, for: seq.customerIDs)
            var counts = [Int](repeating: 0, count: values.count)
            for k in codes { counts[Int(k)] += 1 }
            let order = values.indices.filter { values[$0] != nil }.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
            if order.count >= 2 && order.count <= 12 {
                segmentCodes = codes; baseline = values[order[0]]
                features = LeadFeatures(stageCount: features.stageCount, segments: order.dropFirst().map { Int32($0) },
                                        names: LeadFeatures.base + order.dropFirst().map { "segment = \(values[$0] ?? "")" })
            }
        }
        let p = features.count
        // Training rows at the cutoff (customers not yet converted), held back by a hash of the id; on a large store
        // a hash-chosen sample of about 100,000 customers (enough for a dozen coefficients; fitting stays fast).
        let rate = LeadModelFit.samplingRate(customers: n)
        struct Rows { var train: [Double] = [], trainY: [Bool] = [], test: [Double] = [], testY: [Bool] = [] }
        let won = q.won
        func conversion(_ v: UnsafePackedView, _ c: Int) -> Int64 {
            for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) where v.stages[i] >= won {
                if let f = eventFilter, !f.matches(v, i) { continue }
                return v.times[i]
            }
            return .max
        }
        let parts = try scanParts(Rows()) { _, range, v, rows in
            for c in range {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                let id = seq.customerIDs[c]
                guard rate >= 1 || LeadModelFit.sampled(id, rate) else { continue }
                let converted = conversion(v, c)
                guard converted > cutoff else { continue }
                let segment = segmentCodes?[c]
                if LeadModelFit.heldBack(id) {
                    if features.append(v, c, at: cutoff, filter: eventFilter, segment: segment, into: &rows.test) { rows.testY.append(converted <= end) }
                } else if features.append(v, c, at: cutoff, filter: eventFilter, segment: segment, into: &rows.train) {
                    rows.trainY.append(converted <= end)
                }
            }
        }
        let train = parts.flatMap(\.train), trainY = parts.flatMap(\.trainY), test = parts.flatMap(\.test), testY = parts.flatMap(\.testY)
        let fit = try LeadModelFit.fit(train: train, trainY: trainY, test: test, testY: testY, names: features.names, baseline: baseline,
                                       cutoff: cutoff, end: end, window: q.window, wonName: q.wonName)
        let model = fit.model, aggregateModel = fit.aggregate
        // Every open lead's probability (streamed: features at the end, scored, the best kept) and its strongest
        // driver (the largest positive term β·z).
        if let key = q.customer {
            let names = try keys(seq.customerIDs)
            guard let c = names.firstIndex(of: key) else { throw QueryError("no customer '\(key)' here") }
            var x: [Double] = []
            let isOpen = seq.withView { v in
                (filter.journeys?[c] ?? true) && conversion(v, c) == .max
                    && features.append(v, c, at: end, filter: eventFilter, segment: segmentCodes?[c], into: &x)
            }
            guard isOpen else { throw QueryError("'\(key)' is not an open lead here (no events passing the filter, or it already reached \(q.wonName))") }
            return ResultBuilder.scoreOne(key: key, probability: fit.probability(x), values: x,
                                          contributions: fit.contributions(x), model: aggregateModel, filterNotes: filter.description)
        }
        struct Best { var open = 0, expected = 0.0, top: [(probability: Double, c: Int)] = [] }
        let limit = q.limit
        let best = try scanParts(Best()) { _, range, v, b in
            var x: [Double] = [], z = [Double](repeating: 0, count: p + 1)
            x.reserveCapacity(p)
            for c in range {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                x.removeAll(keepingCapacity: true)
                guard conversion(v, c) == .max, features.append(v, c, at: end, filter: eventFilter, segment: segmentCodes?[c], into: &x) else { continue }
                model.standardized(x, row: 0, into: &z)
                let probability = model.probability(z)
                b.open += 1; b.expected += probability
                if b.top.count < limit || probability > b.top[b.top.count - 1].probability {
                    // Kept in descending probability, ties by customer position (the scan's order).
                    let at = b.top.firstIndex { probability > $0.probability } ?? b.top.count
                    b.top.insert((probability, c), at: at)
                    if b.top.count > limit { b.top.removeLast() }
                }
            }
        }
        let top = Array(best.flatMap(\.top).sorted { $0.probability != $1.probability ? $0.probability > $1.probability : $0.c < $1.c }.prefix(limit))
        let names = try keys(top.map { seq.customerIDs[$0.c] })
        let leads: [LeadModelAggregate.Lead] = seq.withView { v in
            zip(top, names).map { t, name in
                var x: [Double] = []
                _ = features.append(v, t.c, at: end, filter: eventFilter, segment: segmentCodes?[t.c], into: &x)
                let driver = fit.driver(x)
                var stage: UInt8 = 0
                for i in Int(v.offsets[t.c])..<Int(v.offsets[t.c + 1]) { if let f = eventFilter, !f.matches(v, i) { continue }; stage = max(stage, v.stages[i]) }
                return .init(key: name, probability: t.probability, touches: Int((exp(x[0]) - 1).rounded()),
                             stage: stage == 0 ? "" : catalog.stages[Int(stage) - 1], daysSinceLast: exp(x[4]) - 1, driver: driver)
            }
        }
        let open = best.reduce(0) { $0 + $1.open }, expected = best.reduce(0) { $0 + $1.expected }
        return ResultBuilder.score(leads, open: open, expected: expected, model: aggregateModel, sampled: rate < 1 ? rate : nil, filterNotes: filter.description)
    }

}
