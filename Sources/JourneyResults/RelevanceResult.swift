import Foundation
import JourneyCore
import JourneyPlanner

/// What any backend computes for `touchpoints`: per label, the journeys touching it before their first
/// conversion, how many of those converted, where it first appears and the times from its last touch to the
/// conversion; and all journeys and the converted ones.
public struct TouchpointsAggregate: Sendable, Equatable {
    public struct Label: Sendable, Equatable {
        public var name: String, code: Int
        public var journeys: Int, converting: Int
        public var positions: [Double], toConversion: [Double]
        public init(name: String, code: Int, journeys: Int, converting: Int, positions: [Double], toConversion: [Double]) {
            self.name = name; self.code = code; self.journeys = journeys; self.converting = converting
            self.positions = positions; self.toConversion = toConversion
        }
    }
    public var labels: [Label]
    public var all: Int, converted: Int
    public init(labels: [Label], all: Int, converted: Int) { self.labels = labels; self.all = all; self.converted = converted }
}

/// What any backend computes for `gaps`: per decision-stage touchpoint (event), the journeys touching it, those
/// that ended there without converting, and those that converted; its stage and channel.
public struct GapsAggregate: Sendable, Equatable {
    public struct Touchpoint: Sendable, Equatable {
        public var event: String, code: Int, stage: String, channel: String
        public var touching: Int, ended: Int, converting: Int
        public init(event: String, code: Int, stage: String, channel: String, touching: Int, ended: Int, converting: Int) {
            self.event = event; self.code = code; self.stage = stage; self.channel = channel
            self.touching = touching; self.ended = ended; self.converting = converting
        }
    }
    public var touchpoints: [Touchpoint]
    public var journeys: Int, endedAtDecision: Int
    public var decisionStages: [String]
    public init(touchpoints: [Touchpoint], journeys: Int, endedAtDecision: Int, decisionStages: [String]) {
        self.touchpoints = touchpoints; self.journeys = journeys; self.endedAtDecision = endedAtDecision; self.decisionStages = decisionStages
    }
}

extension ResultBuilder {
    public static func touchpoints(_ q: QueryPlan.Relevance, _ a: TouchpointsAggregate, filterNotes: [String]) -> [ResultTable] {
        let base = Double(a.converted) / Double(max(a.all, 1))
        let lost = a.all - a.converted
        struct Row { var x: TouchpointsAggregate.Label; var lift: Double; var verdict: String }
        let rows: [Row] = a.labels.filter { $0.journeys > 0 }.map { x in
            let rate = Double(x.converting) / Double(x.journeys)
            let lift = base > 0 ? rate / base - 1 : .nan
            let verdict = x.journeys < 30 ? "too few journeys" : lift >= 0.1 ? "drives" : lift <= -0.1 ? "appears in losing journeys" : "neutral"
            return Row(x: x, lift: lift, verdict: verdict)
        }
        let rank = ["drives": 0, "neutral": 1, "appears in losing journeys": 2, "too few journeys": 3]
        let shown = rows.sorted { a, b in
            rank[a.verdict]! != rank[b.verdict]! ? rank[a.verdict]! < rank[b.verdict]! : (a.lift != b.lift ? a.lift > b.lift : a.x.code < b.x.code)
        }.prefix(q.top)
        let table: [[Value]] = shown.map { r in
            var positions = r.x.positions, toConversion = r.x.toConversion
            return [.text(r.x.name), .int(r.x.journeys), .percent(Double(r.x.converting) / Double(r.x.journeys)),
                    .percent(Double(r.x.converting) / Double(max(a.converted, 1))), .percent(Double(r.x.journeys - r.x.converting) / Double(max(lost, 1))),
                    r.lift.isNaN ? .null : .percent(r.lift), .double(quantile(selecting: &positions, 0.5)),
                    toConversion.isEmpty ? .null : .duration(quantile(selecting: &toConversion, 0.5)), .text(r.verdict)]
        }
        let name = q.by == .event ? "touchpoint" : q.by.rawValue
        let notes = ["\(a.all.grouped) journeys (customers), \(a.converted.grouped) converted (\(q.conversion.text)): base rate \(String(format: "%.1f", base * 100))%; a journey's touchpoints are those before its first conversion",
                     "lift = conversion rate of the journeys touching it ÷ base rate − 1; drives ≥ +10%, appears in losing journeys ≤ −10%, fewer than 30 journeys: too few",
                     "position = where it first appears in the journey (1 = first touch); time to conversion from its last touch before the conversion"]
            + (rows.count > shown.count ? ["showing \(shown.count) of \(rows.count) \(name)s (top N to see more)"] : []) + filterNotes
        return [ResultTable(title: "touchpoint relevance by \(q.by.rawValue)",
                            columns: [name, "journeys", "conv. rate", "share of converting", "share of lost", "lift",
                                      "median position", "median time to conversion", "verdict"],
                            rows: table, notes: notes, chart: .bars(label: 0, value: 5))]
    }

    public static func gaps(_ q: QueryPlan.Relevance, _ a: GapsAggregate, filterNotes: [String]) -> [ResultTable] {
        let totalTouching = a.touchpoints.reduce(0) { $0 + $1.touching }
        let avg = Double(a.touchpoints.reduce(0) { $0 + $1.ended }) / Double(max(totalTouching, 1))
        let rows: [[Value]] = a.touchpoints.filter { $0.touching > 0 }
            .sorted { $0.ended != $1.ended ? $0.ended > $1.ended : $0.code < $1.code }.prefix(q.top).map { e in
                let rate = Double(e.ended) / Double(e.touching)
                let verdict = e.touching < 30 ? "too few journeys" : rate >= 1.5 * avg && e.ended > 0 ? "gap: journeys end here" : ""
                return [.text(e.event), .text(e.stage), .text(e.channel), .int(e.touching), .int(e.ended),
                        .percent(rate), .percent(Double(e.converting) / Double(e.touching)), .text(verdict)]
            }
        let notes = ["\(a.journeys.grouped) journeys; \(a.endedAtDecision.grouped) ended without converting (\(q.conversion.text)) on a \(a.decisionStages.joined(separator: " or ")) touchpoint",
                     "ended here = journeys whose last touch was it and that never converted; a gap ends at least 1.5× as many journeys as the average decision touchpoint (\(String(format: "%.1f", avg * 100))%)"] + filterNotes
        return [ResultTable(title: "gaps at the decision stages", columns: ["touchpoint", "stage", "channel", "journeys", "ended here", "end rate", "conversion rate", "verdict"],
                            rows: rows, notes: notes, chart: .bars(label: 0, value: 4))]
    }
}
