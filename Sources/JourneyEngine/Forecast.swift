import Foundation
import JourneyCore
import JourneyPlanner
import JourneyResults

/// The life tables behind `forecast` (docs/semantics.md, "forecast"): for each state — highest stage reached and
/// whole 30-day periods since reaching it (the last bucket holds all older) — and each coming period k, the
/// customers in that state at an anchor (every 30 days back from the forecast's day) who were still open and
/// observed through period k, and those who converted in it.
struct PipelineLifeTable {
    static let buckets = 24
    let months: Int
    /// Indexed [state * (months + 1) + k] with state = stage * buckets + bucket, k in 1...months (k = 0 unused).
    var atRisk: [Int], conversions: [Int]

    init(stages: Int, months: Int) {
        self.months = months
        atRisk = [Int](repeating: 0, count: (stages + 1) * Self.buckets * (months + 1))
        conversions = atRisk
    }

    static func state(stage: Int, elapsed: Int64, period: Int64) -> Int { stage * buckets + min(Int(elapsed / period), buckets - 1) }

    /// One anchor: at risk in periods 1 … (the last period observed before `asOf`, or the conversion's).
    @inline(__always) mutating func anchor(state: Int, at a: Int64, conversion: Int64?, asOf: Int64, period: Int64) {
        let observed = Int((asOf - a) / period)   // periods wholly before asOf
        var last = min(observed, months)
        let row = state * (months + 1)
        if let t = conversion, t <= asOf {
            let k = Int((t - a) / period) + 1
            if k <= last { conversions[row + k] += 1; last = k }
        }
        guard last >= 1 else { return }
        for k in 1...last { atRisk[row + k] += 1 }
    }

    mutating func add(_ other: PipelineLifeTable) {
        for i in atRisk.indices { atRisk[i] += other.atRisk[i]; conversions[i] += other.conversions[i] }
    }

    /// The chance of converting in each period 1 … months for a lead in `state`. Where no one in the state was
    /// at risk in period k (long-stalled states are young in the history: a lead 17 periods in a stage has few
    /// predecessors observed 6 periods on), the nearest shorter time in the same stage that has some stands in.
    func distribution(_ state: Int) -> [Double] {
        let stage = state / Self.buckets
        var survive = 1.0, out = [Double](repeating: 0, count: months + 1)
        for k in 1...months {
            var s = state
            while atRisk[s * (months + 1) + k] == 0 && s > stage * Self.buckets { s -= 1 }
            let n = atRisk[s * (months + 1) + k], c = conversions[s * (months + 1) + k]
            let q = n > 0 ? Double(c) / Double(n) : 0
            out[k] = survive * q
            survive *= 1 - q
        }
        return out
    }
}

/// What the forecast learns from, customer by customer (in store order): the life table, the values of past
/// conversions and the open leads — the same whichever backend read the journeys.
public struct PipelineHistory {
    var table: PipelineLifeTable
    var values: [Double] = []
    var leadState: [Int] = [], leadStage: [Int] = [], actual: [(Int64, Double)?] = []
    let asOf: Int64, months: Int
    let period = QueryPlan.valuePeriod

    public init(stages: Int, months: Int, asOf: Int64) {
        table = PipelineLifeTable(stages: stages, months: months); self.asOf = asOf; self.months = months
    }

    /// One customer: its episodes (each highest stage reached by `asOf` and since when, in time order; the first
    /// from its first event) and its first conversion, at any time (time, value).
    public mutating func add(episodes: [(stage: Int, from: Int64)], conversion: (Int64, Double)?) {
        guard !episodes.isEmpty else { return }
        let converted = conversion.map { $0.0 <= asOf } ?? false
        if converted, let x = conversion?.1 { values.append(x) }
        // The same question asked every 30 days back from asOf: at each such day the customer's state, while it
        // was open (in phase with the open leads, so their time within a state matches).
        var e = episodes.count - 1, a = asOf - period
        while a >= episodes[0].from {
            while episodes[e].from > a { e -= 1 }
            if !converted || conversion!.0 > a {
                table.anchor(state: PipelineLifeTable.state(stage: episodes[e].stage, elapsed: a - episodes[e].from, period: period),
                             at: a, conversion: converted ? conversion?.0 : nil, asOf: asOf, period: period)
            }
            a -= period
        }
        if !converted, let last = episodes.last {
            leadState.append(PipelineLifeTable.state(stage: last.stage, elapsed: asOf - last.from, period: period))
            leadStage.append(last.stage)
            actual.append(conversion)
        }
    }

    /// Another part's customers, after this part's.
    public mutating func append(_ other: PipelineHistory) {
        table.add(other.table)
        values += other.values; leadState += other.leadState; leadStage += other.leadStage; actual += other.actual
    }

    /// The forecast: expected conversions and revenue per period with the simulated band, the back-test when
    /// `asOf` is before `end`, and the pipeline by stage.
    public func forecast(_ q: QueryPlan.Forecast, end: Int64, stageNames: [String]) throws -> ForecastAggregate {
        guard !values.isEmpty else {
            throw QueryError("forecast needs past conversions to \(q.wonName) to learn from, and there are none before \(UTC.format(ms: asOf, dateOnly: true))")
        }
        let meanValue = values.reduce(0, +) / Double(values.count)
        let valueVariance = values.reduce(0) { $0 + ($1 - meanValue) * ($1 - meanValue) } / Double(values.count)
        // Leads grouped by state: the same chances for all in one.
        var perState: [Int: Int] = [:]
        for s in leadState { perState[s, default: 0] += 1 }
        let states = perState.keys.sorted()
        let chances = Dictionary(uniqueKeysWithValues: states.map { ($0, table.distribution($0)) })
        var expected = [Double](repeating: 0, count: q.months + 1)
        for s in states { for k in 1...q.months { expected[k] += Double(perState[s]!) * chances[s]![k] } }
        // The band: 400 simulated futures (each lead converts in period k with its chance, for a value drawn from
        // the past conversions); a binomial per state and period, drawn by geometric skips.
        var rng = SeededRandom(seed: 0x5EED)
        let runs = 400
        var simulated = [[Double]](repeating: [Double](repeating: 0, count: runs), count: q.months + 1)
        for r in 0..<runs {
            for s in states {
                var remaining = perState[s]!, survive = 1.0
                let chance = chances[s]!
                for k in 1...q.months where remaining > 0 {
                    let conditional = survive > 0 ? min(chance[k] / survive, 1) : 0
                    survive -= chance[k]
                    let x = rng.binomial(remaining, conditional)
                    remaining -= x
                    if x < 50 {
                        for _ in 0..<x { simulated[k][r] += values[rng.int(values.count)] }
                    } else {
                        // The sum of many draws: normal with the draws' mean and variance (central limit).
                        simulated[k][r] += max(0, Double(x) * meanValue + (Double(x) * valueVariance).squareRoot() * rng.normal())
                    }
                }
            }
        }
        var totals = [Double](repeating: 0, count: runs)
        for r in 0..<runs { for k in 1...q.months { totals[r] += simulated[k][r] } }
        func band(_ xs: [Double]) -> (Double, Double) { let s = xs.sorted(); return (quantile(s, 0.1), quantile(s, 0.9)) }
        var periods: [ForecastAggregate.Period] = []
        let backTest = asOf < end
        for k in 1...q.months {
            let from = asOf + Int64(k - 1) * period
            var act: (Int, Double)? = nil
            if backTest {
                var n = 0, x = 0.0
                for a in actual { if let (t, v) = a, t > from, t <= from + period { n += 1; x += v } }
                act = (n, x)
            }
            let (lo, hi) = band(simulated[k])
            periods.append(.init(from: from, expectedConversions: expected[k], expectedRevenue: expected[k] * meanValue, low: lo, high: hi,
                                 actualConversions: act?.0, actualRevenue: act?.1, complete: from + period <= end))
        }
        var byStage: [ForecastAggregate.Stage] = []
        for stage in 0...stageNames.count {
            let leads = leadStage.filter { $0 == stage }.count
            guard leads > 0 else { continue }
            let conv = states.filter { $0 / PipelineLifeTable.buckets == stage }.reduce(0.0) { sum, s in sum + Double(perState[s]!) * chances[s]!.reduce(0, +) }
            var happened: Int? = nil
            if backTest {
                let horizon = min(asOf + Int64(q.months) * period, end)
                happened = leadStage.indices.filter { leadStage[$0] == stage && (actual[$0].map { $0.0 <= horizon } ?? false) }.count
            }
            byStage.append(.init(stage: stage == 0 ? "(no stage)" : stageNames[stage - 1], leads: leads, expectedConversions: conv,
                                 expectedRevenue: conv * meanValue, actualConversions: happened))
        }
        let (lo, hi) = band(totals)
        return ForecastAggregate(periods: periods, stages: byStage, openLeads: leadState.count, pastConversions: values.count,
                                 meanValue: meanValue, totalLow: lo, totalHigh: hi, asOf: asOf, end: end)
    }
}

extension Executor {
    public func forecast(_ q: QueryPlan.Forecast) throws -> [ResultTable] {
        // The compiled filter and its event test (the tables they point into live as long as `pass`).
        let pass = try GroupedPass(self, by: nil, filter: q.filter)
        defer { withExtendedLifetime(pass) {} }
        let filter = pass.filter, eventFilter = pass.eventFilter
        let end = seq.times.max() ?? 0
        let asOf = min(q.asOf ?? end, end)
        let won = Int(q.won)
        // One scan, split over the cores: each part its own history, joined in store order.
        let parts = try scanParts(PipelineHistory(stages: catalog.stages.count, months: q.months, asOf: asOf)) { _, range, v, part in
            var episodes: [(stage: Int, from: Int64)] = []
            for c in range {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                // Episodes of the highest stage reached (from the first event: stage 0), the conversion.
                episodes.removeAll(keepingCapacity: true)
                var conversion: (Int64, Double)? = nil, highest = -1
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    if let f = eventFilter, !f.matches(v, i) { continue }
                    let t = v.times[i], s = Int(v.stages[i])
                    if s >= won {
                        let x = v.values[i]
                        conversion = (t, x.isNaN ? 0 : x); break
                    }
                    if t > asOf { continue }
                    if s > highest { highest = s; episodes.append((s, t)) }
                }
                part.add(episodes: episodes, conversion: conversion)
            }
        }
        var history = parts[0]
        for part in parts.dropFirst() { history.append(part) }
        return ResultBuilder.forecast(q, try history.forecast(q, end: end, stageNames: catalog.stages), filterNotes: filter.description)
    }
}

/// The draws the forecast's simulation needs beyond uniform ones; a fixed seed makes the band the same every run.
extension SeededRandom {
    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u = max(unit(), 1e-300), v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
    /// Successes in `n` trials of chance `p`: geometric skips between successes, O(successes + 1); the normal
    /// approximation when the variance is 50 or more (thousands of leads in one state).
    mutating func binomial(_ n: Int, _ p: Double) -> Int {
        guard p > 0, n > 0 else { return 0 }
        if p >= 1 { return n }
        let mean = Double(n) * p, variance = mean * (1 - p)
        if variance >= 50 { return min(n, max(0, Int((mean + variance.squareRoot() * normal()).rounded()))) }
        let logq = log1p(-p)
        var x = 0, i = 0
        while true {
            let u = max(unit(), 1e-300)
            i += Int(floor(log(u) / logq)) + 1
            if i > n { return x }
            x += 1
        }
    }
}
