import JourneyCore
import JourneyLanguage

/// What a statement computes, with every name resolved, every option typed and checked: the logical plan a
/// backend (the native engine, or a SQL translator) runs. It knows nothing of chunks, pointers or threads.
public indirect enum QueryPlan: Sendable, Equatable {
    case stats(Stats)
    case quality
    case funnel(Funnel)
    case paths(Paths)
    case time(Time)
    case dropoff(Dropoff)
    case count(Count)
    case revenue(Revenue)
    case leads(Leads)
    case compare(Compare)
    case profile(Profile)
    case value(Value)
    case score(Score)
    case forecast(Forecast)
    case top(Top)
    case pauses(Pauses)
    case customers(Customers)
    case attribution(Attribution)
    case matching(Matching)
    case touchpoints(Relevance)
    case gaps(Relevance)
    case retention(Retention)
    /// The statement over each account's merged journey (people without an account count alone), counting accounts.
    case accounts(QueryPlan)
    case explain(QueryPlan)
    /// `explain sql`: the SQL a ClickHouse backend would send.
    case explainSQL(QueryPlan)
    case set(name: String, value: Literal)
}

extension QueryPlan {
    public struct Stats: Sendable, Equatable {
        public var filter: BoundFilter
    }

    public struct FunnelStep: Sendable, Equatable {
        public var step: BoundStep
        /// `within D` after this step: at most D after the previous step's event.
        public var within: TimeSpan?
        public var optional: Bool
        public var text: String { step.text }
    }

    /// `excluding X between step from+1 and to+1` (0-based here).
    public struct Exclusion: Sendable, Equatable {
        public var step: BoundStep
        public var from: Int
        public var to: Int
    }

    public struct Funnel: Sendable, Equatable {
        public var steps: [FunnelStep]
        public var within: TimeSpan?
        public var filter: BoundFilter
        public var by: BoundBreakdown?
        public var order: FunnelOrder
        public var entry: FunnelEntry
        public var exclusions: [Exclusion]
        public var same: SameColumn?
        public var unit: CountUnit
        public var top: Int?
        public var ties: TieRule
        /// The 0-based step whose event names a group (`by … at step N`).
        public var groupStep: Int
    }

    public struct Paths: Sendable, Equatable {
        public var from: BoundStep?
        public var to: BoundStep?
        public var within: TimeSpan?
        public var filter: BoundFilter
        public var show: PathShow
        public var top: Int
        public var maxSteps: Int
        public var keepRepeats: Bool
        public var next: Int?
        public var previous: Int?
    }

    public struct Time: Sendable, Equatable {
        public var from: BoundStep
        public var to: BoundStep
        public var by: BoundBreakdown?
        public var filter: BoundFilter
    }

    public struct Dropoff: Sendable, Equatable {
        public var after: BoundStep
        /// What counts as moving on: the `to` step (a stage: it or any later stage), else any later stage.
        public var next: BoundExpr
        public var nextText: String
        public var explicitNext: String?
        public var filter: BoundFilter
    }

    public enum CountTarget: String, Sendable, Equatable { case customers, accounts, events }

    public struct Count: Sendable, Equatable {
        public var unit: CountTarget
        public var by: BoundBreakdown?
        public var filter: BoundFilter
        public var top: Int?
        public init(unit: CountTarget, by: BoundBreakdown?, filter: BoundFilter, top: Int?) {
            self.unit = unit; self.by = by; self.filter = filter; self.top = top
        }
        /// Whether the statement had a `where` (a count without groups then gives a share of the whole store).
        public var filtered: Bool { !filter.isEmpty }
    }

    public struct Top: Sendable, Equatable {
        public var what: PathShow
        public var campaigns: Bool
        public var n: Int
        public var filter: BoundFilter
    }

    public enum PauseKind: String, Sendable, Equatable { case both, resumed, open }

    public struct Pauses: Sendable, Equatable {
        public var longer: TimeSpan
        public var which: PauseKind
        public var filter: BoundFilter
        public var limit: Int?
    }

    public enum Condition: Sendable, Equatable {
        case reached(BoundStep, negated: Bool)
        case silentFor(TimeSpan)
        public var text: String {
            switch self {
            case .reached(let s, let negated): return "\(negated ? "not reached" : "reached") \(s.text)"
            case .silentFor(let d): return "no touch for \(d.text)"
            }
        }
    }

    public struct Customers: Sendable, Equatable {
        public var conditions: [Condition]
        public var filter: BoundFilter
        public var limit: Int
    }

    public enum AttributionModel: String, CaseIterable, Sendable, Equatable {
        case first, last, linear, timeDecay = "time_decay", position, markov, shapley, all
    }

    public struct Attribution: Sendable, Equatable {
        /// The conversion step: the one named, else the stage `conversion`.
        public var conversion: BoundStep
        public var model: AttributionModel
        public var halfLife: TimeSpan?
        public var markovOrder: Int
        public var position: [Int]
        public var by: PathShow
        public var lookback: TimeSpan?
        public var lookbackMs: Int64 { lookback?.milliseconds ?? 90 * 86_400_000 }
        public var filter: BoundFilter
        public func wants(_ m: AttributionModel) -> Bool { model == m || model == .all }
    }

    /// `revenue`: an order is an event with a value (passing the filter); revenue is the sum of their values.
    public struct Revenue: Sendable, Equatable {
        public var by: BoundBreakdown?
        public var filter: BoundFilter
        public var top: Int?
        /// `margin`: revenue, cost to serve and margin (the catalog has costs).
        public var margin = false
    }

    /// The period of the value model, the score's recency features and the forecast: 30 days.
    public static let valuePeriod: Int64 = 30 * 86_400_000

    /// `value`: per customer the historic revenue and the repeat-curve projection over `horizon` periods
    /// (docs/semantics.md, "value").
    public struct Value: Sendable, Equatable {
        public var by: BoundBreakdown?
        public var top: Int?
        public var horizon: Int
        public var filter: BoundFilter
        /// `customers by value`: the ranked list (at most `limit`).
        public var list: Bool
        public var limit: Int
    }

    /// `score`: a logistic model of converting (reaching `won`) within `window`, fitted on the store's history
    /// (docs/semantics.md, "score").
    public struct Score: Sendable, Equatable {
        public var won: UInt8
        public var wonName: String
        public var window: Int64
        public var limit: Int
        public var customer: String?
        public var filter: BoundFilter
    }

    /// `forecast`: the open pipeline's expected conversions and revenue per period (docs/semantics.md, "forecast").
    public struct Forecast: Sendable, Equatable {
        public var won: UInt8
        public var wonName: String
        public var months: Int
        /// The end of the `as of` day (UTC ms), or nil for the end of the data.
        public var asOf: Int64?
        public var asOfText: String?
        public var filter: BoundFilter
    }

    /// `leads`: a lead is a customer with an event passing the filter; it is marketing-qualified, sales-qualified,
    /// won when it has an event at that stage or a later one (stage codes: the catalog's order + 1).
    public struct Leads: Sendable, Equatable {
        public var by: BoundBreakdown?
        public var mql: UInt8, sql: UInt8, won: UInt8
        public var stageNames: [String]
        public var filter: BoundFilter
    }

    /// `compare A with B`: the customers of each side (journey-level conditions) and what they did.
    public struct Compare: Sendable, Equatable {
        public var a: JourneyExpr, b: JourneyExpr
        public var texts: [String]
        public var won: UInt8, wonName: String
        public var filter: BoundFilter
    }

    /// `profile`: per attribute value, the converted and all members who have it; `attributes` are the
    /// customer attributes, then the account ones (scope, name).
    public struct Profile: Sendable, Equatable {
        public var attributes: [AttributeRef]
        public var won: UInt8, wonName: String
        public var filter: BoundFilter
        /// Values held by fewer converted members are not listed (too few to say anything).
        public static let minimumConverted = 5
    }

    public struct Matching: Sendable, Equatable {
        public var pattern: BoundPattern
        public var within: TimeSpan?
        public var filter: BoundFilter
        public var by: BoundBreakdown?
        public var limit: Int
        public var count: Bool
    }

    public struct Relevance: Sendable, Equatable {
        public var conversion: BoundStep
        public var by: PathShow
        public var top: Int
        public var filter: BoundFilter
    }

    public struct Retention: Sendable, Equatable {
        public var start: BoundStep
        public var returning: BoundStep?
        public var period: RetentionPeriod
        public var periods: Int
        public var by: BoundBreakdown?
        public var filter: BoundFilter
    }
}

/// A pattern with its steps bound (see `Pattern`).
public indirect enum BoundPattern: Sendable, Equatable {
    case step(BoundStep)
    case sequence([BoundPattern])
    case then(BoundPattern, BoundPattern, within: TimeSpan?)
    case alternation([BoundPattern])
    case repetition(BoundPattern, min: Int, max: Int?)

    /// Every step, left to right.
    public var steps: [BoundStep] {
        switch self {
        case .step(let s): return [s]
        case .sequence(let ps), .alternation(let ps): return ps.flatMap(\.steps)
        case .then(let a, let b, _): return a.steps + b.steps
        case .repetition(let p, _, _): return p.steps
        }
    }

    /// Steps every match must contain one event of.
    public var required: [BoundStep] {
        switch self {
        case .step(let s): return [s]
        case .sequence(let ps): return ps.flatMap(\.required)
        case .then(let a, let b, _): return a.required + b.required
        case .repetition(let q, let lo, _): return lo > 0 ? q.required : []
        case .alternation: return []
        }
    }

    /// The pattern in words, as the user could have written it.
    public var text: String {
        switch self {
        case .step(let s): return s.text
        case .sequence(let ps): return ps.map { q in if case .alternation = q { return "(\(q.text))" }; return q.text }.joined(separator: " ")
        case .alternation(let ps): return ps.map(\.text).joined(separator: " | ")
        case .then(let a, let b, let w): return "\(a.text) then \(b.text)" + (w.map { " within \($0.text)" } ?? "")
        case .repetition(let q, let lo, let hi):
            var inner = q.text
            if case .step = q {} else { inner = "(\(inner))" }
            switch (lo, hi) {
            case (0, 1): return inner + "?"
            case (0, nil): return inner + "*"
            case (1, nil): return inner + "+"
            default: return inner + "{\(lo),\(hi.map(String.init) ?? "")}"
            }
        }
    }
}

/// A packed column a funnel can hold constant (`same channel`).
public enum SameColumn: String, CaseIterable, Sendable {
    case channel, campaign, device, source, kind
}

extension QueryPlan {
    /// The statement's `where`, bound (nil for statements without one).
    public var filter: BoundFilter? {
        switch self {
        case .stats(let q): return q.filter
        case .funnel(let q): return q.filter
        case .paths(let q): return q.filter
        case .time(let q): return q.filter
        case .dropoff(let q): return q.filter
        case .count(let q): return q.filter
        case .revenue(let q): return q.filter
        case .leads(let q): return q.filter
        case .compare(let q): return q.filter
        case .profile(let q): return q.filter
        case .value(let q): return q.filter
        case .score(let q): return q.filter
        case .forecast(let q): return q.filter
        case .top(let q): return q.filter
        case .pauses(let q): return q.filter
        case .customers(let q): return q.filter
        case .attribution(let q): return q.filter
        case .matching(let q): return q.filter
        case .touchpoints(let q), .gaps(let q): return q.filter
        case .retention(let q): return q.filter
        case .accounts(let p), .explain(let p), .explainSQL(let p): return p.filter
        case .quality, .set: return nil
        }
    }
}
