import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner

/// One attribution journey: the touchpoints (label codes, oldest first) before a conversion, or of a journey that
/// did not convert. `ages` are milliseconds from each touch to the conversion (or to the journey's last touch).
public struct AttributionJourney: Equatable, Sendable {
    public var labels: [UInt32]
    public var ages: [Int64]
    public var converted: Bool
    public var value: Double
    public init(labels: [UInt32], ages: [Int64], converted: Bool, value: Double) {
        self.labels = labels; self.ages = ages; self.converted = converted; self.value = value
    }
}

/// The rule-based models: how one conversion's credit is split over its touchpoints (weights add up to 1).
public enum HeuristicModel: Equatable, Sendable {
    case first, last, linear
    case timeDecay(halfLifeMs: Double)
    case position(first: Double, middle: Double, last: Double)

    /// Weights for touches `0..<n` (oldest first); `ages[i]` = time from touch i to the conversion.
    public func weights(_ n: Int, ages: UnsafeBufferPointer<Int64>, into w: inout [Double]) {
        w.removeAll(keepingCapacity: true)
        guard n > 0 else { return }
        switch self {
        case .first: w.append(1); for _ in 1..<n { w.append(0) }
        case .last: for _ in 1..<n { w.append(0) }; w.append(1)
        case .linear: for _ in 0..<n { w.append(1 / Double(n)) }
        case .timeDecay(let h):
            var sum = 0.0
            for i in 0..<n { let x = exp2(-Double(ages[i]) / h); w.append(x); sum += x }
            for i in 0..<n { w[i] /= sum }
        case .position(let a, let b, let c):
            if n == 1 { w.append(1); return }
            if n == 2 { w.append(a / (a + c)); w.append(c / (a + c)); return }
            let total = a + b + c
            w.append(a / total)
            for _ in 1..<(n - 1) { w.append(b / total / Double(n - 2)) }
            w.append(c / total)
        }
    }

    public var name: String {
        switch self {
        case .first: return "first"
        case .last: return "last"
        case .linear: return "linear"
        case .timeDecay: return "time_decay"
        case .position: return "position"
        }
    }
}

