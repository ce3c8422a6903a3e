import Foundation
import JourneyCore

/// What `score` computes: the fitted lead model with its quality on the held-back customers, and the open leads.
public struct LeadModelAggregate: Sendable, Equatable {
    public struct Bin: Sendable, Equatable {
        public var count: Int, predicted: Double, observed: Double
        public init(count: Int, predicted: Double, observed: Double) { self.count = count; self.predicted = predicted; self.observed = observed }
    }
    public struct Lead: Sendable, Equatable {
        public var key: String, probability: Double, touches: Int, stage: String, daysSinceLast: Double, driver: String
        public init(key: String, probability: Double, touches: Int, stage: String, daysSinceLast: Double, driver: String) {
            self.key = key; self.probability = probability; self.touches = touches; self.stage = stage; self.daysSinceLast = daysSinceLast; self.driver = driver
        }
    }
    public var features: [String]
    /// Per standard deviation of each feature (0 for a feature constant in training).
    public var coefficients: [Double]
    public var intercept: Double
    public var scale: [Double]
    public var meanConverted: [Double], meanNotConverted: [Double]
    public var trained: Int, trainedConverted: Int, heldBack: Int, heldBackConverted: Int
    public var auc: Double
    public var calibration: [Bin]
    public var cutoff: Int64, end: Int64, window: Int64
    public var wonName: String
    public var baselineSegment: String?
    public var iterations: Int
    public init(features: [String], coefficients: [Double], intercept: Double, scale: [Double], meanConverted: [Double], meanNotConverted: [Double],
                trained: Int, trainedConverted: Int, heldBack: Int, heldBackConverted: Int, auc: Double, calibration: [Bin],
                cutoff: Int64, end: Int64, window: Int64, wonName: String, baselineSegment: String?, iterations: Int) {
        self.features = features; self.coefficients = coefficients; self.intercept = intercept; self.scale = scale
        self.meanConverted = meanConverted; self.meanNotConverted = meanNotConverted
        self.trained = trained; self.trainedConverted = trainedConverted; self.heldBack = heldBack; self.heldBackConverted = heldBackConverted
        self.auc = auc; self.calibration = calibration; self.cutoff = cutoff; self.end = end; self.window = window
        self.wonName = wonName; self.baselineSegment = baselineSegment; self.iterations = iterations
    }
    var days: Int64 { window / 86_400_000 }
}

extension ResultBuilder {
    static func modelTables(_ m: LeadModelAggregate) -> [ResultTable] {
        let model = ResultTable(
            title: "lead model (logistic regression, per standard deviation of each feature)",
            columns: ["feature", "coefficient", "odds ratio", "mean if converted", "mean if not"],
            rows: m.features.indices.map { j in
                [.text(m.features[j]), .double(m.coefficients[j]), m.scale[j] > 0 ? .double(exp(m.coefficients[j])) : .null,
                 .double(m.meanConverted[j]), .double(m.meanNotConverted[j])]
            },
            notes: ["trained on the \(m.trained.grouped) customers not at \(m.wonName) by \(UTC.format(ms: m.cutoff, dateOnly: true)) (the data's end minus \(m.days) days), \(m.trainedConverted.grouped) of whom got there within \(m.days) days; features from their events up to that day; Newton's method, \(m.iterations) steps, ridge penalty 1",
                    "odds ratio = how the odds of converting multiply per standard deviation more of the feature (> 1 helps, < 1 hurts)"
                    + (m.baselineSegment.map { "; segment features compare with segment \($0)" } ?? "")])
        let calibration = ResultTable(
            title: "calibration on the held-back customers (by deciles of the predicted probability)",
            columns: ["decile", "customers", "predicted", "observed"],
            rows: m.calibration.enumerated().map { [.int($0.offset + 1), .int($0.element.count), .percent($0.element.predicted), .percent($0.element.observed)] },
            notes: ["AUC \(m.auc.isNaN ? "n/a" : String(format: "%.3f", m.auc)) on \(m.heldBack.grouped) held-back customers (\(m.heldBackConverted.grouped) converted; 30% by a hash of the id, never used to fit): the chance a converting customer is scored above one who did not (0.5 = a coin, 1 = perfect)"])
        return [model, calibration]
    }

    /// `sampled`: the share of customers the model was trained and measured on (a large store), nil for all.
    public static func score(_ leads: [LeadModelAggregate.Lead], open: Int, expected: Double, model m: LeadModelAggregate, sampled: Double?, filterNotes: [String]) -> [ResultTable] {
        let list = ResultTable(
            title: "open leads most likely to reach \(m.wonName) within \(m.days) days",
            columns: ["customer", "probability", "stage reached", "touches", "days since last touch", "strongest driver"],
            rows: leads.map { [.text($0.key), .percent($0.probability), .text($0.stage), .int($0.touches), .double($0.daysSinceLast.rounded()), .text($0.driver)] },
            notes: ["the \(leads.count) of \(open.grouped) open leads (customers with events, not at \(m.wonName) by \(UTC.format(ms: m.end, dateOnly: true))) with the highest probability; together the open leads are expected to bring \(String(format: "%.1f", expected)) conversions in the next \(m.days) days",
                    "strongest driver = the feature that raises this lead's log-odds most above an average lead's ('score for KEY' shows them all)"]
                + (sampled.map { ["the model was trained and measured on a \(String(format: "%.1f", $0 * 100))% sample of the customers (about 100,000, chosen by a hash of the id); every open lead is scored"] } ?? [])
                + filterNotes,
            chart: .bars(label: 0, value: 1))
        return [list] + modelTables(m)
    }

    public static func scoreOne(key: String, probability: Double, values: [Double], contributions: [Double], model m: LeadModelAggregate, filterNotes: [String]) -> [ResultTable] {
        let order = contributions.indices.sorted { abs(contributions[$0]) > abs(contributions[$1]) }
        let table = ResultTable(
            title: "why \(key) scores \(String(format: "%.1f", probability * 100))%",
            columns: ["feature", "value", "mean if converted", "mean if not", "effect on log-odds"],
            rows: order.map { j in [.text(m.features[j]), .double(values[j]), .double(m.meanConverted[j]), .double(m.meanNotConverted[j]), .double(contributions[j])] },
            notes: ["probability of reaching \(m.wonName) within \(m.days) days: \(String(format: "%.1f", probability * 100))% = 1 / (1 + e^-(\(String(format: "%.3f", m.intercept)) + the effects)); an effect is the coefficient × how many standard deviations the value lies from the training mean, largest first",
                    "log-scaled features show log(1 + x): touches, days and recent touches"] + filterNotes,
            chart: .bars(label: 0, value: 4))
        return [table] + modelTables(m)
    }
}
