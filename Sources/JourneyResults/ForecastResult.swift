import JourneyCore
import JourneyPlanner

/// What `forecast` computes: per coming 30-day period the expected conversions and revenue with a band (and, as
/// of a past date, what happened); the open pipeline by stage.
public struct ForecastAggregate: Sendable, Equatable {
    public struct Period: Sendable, Equatable {
        public var from: Int64, expectedConversions: Double, expectedRevenue: Double, low: Double, high: Double
        public var actualConversions: Int?, actualRevenue: Double?, complete: Bool
        public init(from: Int64, expectedConversions: Double, expectedRevenue: Double, low: Double, high: Double,
                    actualConversions: Int?, actualRevenue: Double?, complete: Bool) {
            self.from = from; self.expectedConversions = expectedConversions; self.expectedRevenue = expectedRevenue; self.low = low; self.high = high
            self.actualConversions = actualConversions; self.actualRevenue = actualRevenue; self.complete = complete
        }
    }
    public struct Stage: Sendable, Equatable {
        public var stage: String, leads: Int, expectedConversions: Double, expectedRevenue: Double
        /// Back-test: how many of these leads converted within the periods (those in the data).
        public var actualConversions: Int?
        public init(stage: String, leads: Int, expectedConversions: Double, expectedRevenue: Double, actualConversions: Int? = nil) {
            self.stage = stage; self.leads = leads; self.expectedConversions = expectedConversions; self.expectedRevenue = expectedRevenue
            self.actualConversions = actualConversions
        }
    }
    public var periods: [Period], stages: [Stage]
    public var openLeads: Int, pastConversions: Int, meanValue: Double, totalLow: Double, totalHigh: Double
    public var asOf: Int64, end: Int64
    public init(periods: [Period], stages: [Stage], openLeads: Int, pastConversions: Int, meanValue: Double, totalLow: Double, totalHigh: Double, asOf: Int64, end: Int64) {
        self.periods = periods; self.stages = stages; self.openLeads = openLeads; self.pastConversions = pastConversions
        self.meanValue = meanValue; self.totalLow = totalLow; self.totalHigh = totalHigh; self.asOf = asOf; self.end = end
    }
    public var backTest: Bool { periods.first?.actualConversions != nil }
}

extension ResultBuilder {
    public static func forecast(_ q: QueryPlan.Forecast, _ a: ForecastAggregate, filterNotes: [String]) -> [ResultTable] {
        let day = UTC.format(ms: a.asOf, dateOnly: true)
        let rows: [[Value]] = a.periods.enumerated().map { k, p in
            [.int(k + 1), .text(UTC.format(ms: p.from + 1, dateOnly: true)), .double(p.expectedConversions), .money(p.expectedRevenue), .money(p.low), .money(p.high)]
            + (a.backTest ? [p.actualConversions.map { .int($0) } ?? .null, p.complete ? (p.actualRevenue.map { .money($0) } ?? .null) : .null] : [])
        }
        let expected = a.periods.reduce(0) { $0 + $1.expectedRevenue }, conversions = a.periods.reduce(0) { $0 + $1.expectedConversions }
        var notes = ["the open pipeline on \(day): \(a.openLeads.grouped) customers with events and not at \(q.wonName); each converts in a coming 30-day period with the chance the history before \(day) gives its state (highest stage, periods since reaching it), for the mean value of the \(a.pastConversions.grouped) past conversions (\(a.meanValue.money))",
                     "in all \(conversions < 1000 ? String(format: "%.1f", conversions) : Int(conversions.rounded()).grouped) conversions and \(expected.money) expected over \(q.months) periods (10th–90th percentile of 400 simulations: \(a.totalLow.money) to \(a.totalHigh.money)); low and high are each period's own band"]
        if a.backTest {
            let complete = a.periods.filter(\.complete)
            let actual = complete.reduce(0) { $0 + ($1.actualRevenue ?? 0) }, predicted = complete.reduce(0) { $0 + $1.expectedRevenue }
            let actualConversions = complete.reduce(0) { $0 + ($1.actualConversions ?? 0) }, predictedConversions = complete.reduce(0) { $0 + $1.expectedConversions }
            notes.append("back-test: what these leads did after \(day) (only the history before it was used): \(actualConversions.grouped) conversions against \(Int(predictedConversions.rounded()).grouped) expected, \(actual.money) against \(predicted.money) over the \(complete.count) whole periods in the data"
                         + (complete.count < a.periods.count ? "; the data ends before the later periods end (left empty)" : ""))
        }
        let forecast = ResultTable(title: "forecast of the open pipeline" + (q.asOfText.map { " as of \($0)" } ?? ""),
                                   columns: ["period", "from", "conversions", "revenue", "low", "high"] + (a.backTest ? ["actual conversions", "actual revenue"] : []),
                                   rows: rows, notes: notes + filterNotes, chart: .bars(label: 1, value: 3))
        let stages = ResultTable(title: "open pipeline by stage reached",
                                 columns: ["stage", "open leads", "expected conversions", "chance", "expected revenue"] + (a.backTest ? ["actual conversions"] : []),
                                 rows: a.stages.map { [.text($0.stage), .int($0.leads), .double($0.expectedConversions),
                                                       .percent($0.leads == 0 ? 0 : $0.expectedConversions / Double($0.leads)), .money($0.expectedRevenue)]
                                                       + (a.backTest ? [$0.actualConversions.map { .int($0) } ?? .null] : []) },
                                 notes: ["chance = of converting within the \(q.months) periods"])
        return [forecast, stages]
    }
}
