/// A name as written: `awareness`, `"W_Completeren aanvraag"`, or qualified `stage:conversion`.
public struct Name: Equatable, Sendable {
    public enum Qualifier: String, Sendable { case stage, event, channel, kind, campaign }
    public var qualifier: Qualifier?
    public var text: String
    public var range: SourceRange
}

/// A literal value in a comparison.
public enum Literal: Equatable, Sendable {
    case text(String), number(Double), date(String), duration(String)
    public var display: String {
        switch self {
        case .text(let s): return s
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .date(let s), .duration(let s): return s
        }
    }
}

public enum CompareOp: String, Sendable {
    case eq = "=", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", contains = "~"

    /// Orders `a` against `b`; `~` (contains) is not an ordering and is false here.
    @inline(__always)
    public func apply<T: Comparable>(_ a: T, _ b: T) -> Bool {
        switch self {
        case .eq: return a == b
        case .ne: return a != b
        case .lt: return a < b
        case .le: return a <= b
        case .gt: return a > b
        case .ge: return a >= b
        case .contains: return false
        }
    }
}

/// A field reference: `channel`, `value`, `customer.segment`, `account.size`, `first_contact`, a property name.
public struct FieldRef: Equatable, Sendable {
    public var scope: String?     // nil, "customer", "account"
    public var name: String
    public var range: SourceRange
    public var display: String { scope.map { "\($0).\(name)" } ?? name }
}

/// A predicate over events or journeys.
public indirect enum Expr: Equatable, Sendable {
    /// `awareness`, `event:webinar` — a step named by stage, event or channel.
    case name(Name)
    /// `any`
    case any(SourceRange)
    /// `channel = linkedin`, `value >= 100`, `customer.segment = 'enterprise'`
    case compare(FieldRef, CompareOp, Literal, SourceRange)
    /// `channel in (linkedin, email)`
    case isIn(FieldRef, [Literal], negated: Bool, SourceRange)
    /// `campaign is null`, `is not null`
    case isNull(FieldRef, negated: Bool, SourceRange)
    /// `touched linkedin` — journeys with at least one event matching the step.
    case touched(Expr, SourceRange)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case not(Expr, SourceRange)

    public var range: SourceRange {
        switch self {
        case .name(let n): return n.range
        case .any(let r), .compare(_, _, _, let r), .isIn(_, _, _, let r), .isNull(_, _, let r), .touched(_, let r), .not(_, let r): return r
        case .and(let a, let b), .or(let a, let b):
            let ra = a.range, rb = b.range
            return SourceRange(start: ra.start, end: rb.end, line: ra.line, column: ra.column)
        }
    }
}

/// One funnel step: a predicate, an optional per-step window (`within 1d` after it), optional (`b?`).
public struct FunnelStep: Equatable, Sendable {
    public var expr: Expr
    public var within: TimeSpan?
    public var optional: Bool
}

/// A duration as written (`30d`) and its milliseconds.
public struct TimeSpan: Equatable, Sendable {
    public var text: String
    public var milliseconds: Int64
    public var range: SourceRange
}

/// A breakdown: `by channel`, `by customer.segment`, `by month(first_contact)`, `at step 2`.
/// `leads`: the stages that make a lead marketing-qualified, sales-qualified and won (names as written, bound
/// against the store's stages), and the breakdown (an event field: the lead's first touch).
public struct LeadsQuery: Equatable, Sendable {
    public var by: Breakdown?
    public var mql: Token?, sql: Token?, won: Token?
    public var filter: Expr?
    public init(by: Breakdown? = nil, mql: Token? = nil, sql: Token? = nil, won: Token? = nil, filter: Expr? = nil) {
        self.by = by; self.mql = mql; self.sql = sql; self.won = won; self.filter = filter
    }
}

/// `value [by DIM [top N]] [horizon D] [where ...]` — lifetime value per group (historic revenue plus the
/// repeat-curve projection); `customers by value [horizon D] [limit N] [where ...]` — customers ranked by it.
public struct ValueQuery: Equatable, Sendable {
    public var by: Breakdown?
    public var top: Int?
    public var horizon: TimeSpan?
    public var filter: Expr?
    /// `customers by value`: the ranked list instead of groups.
    public var list = false
    public var limit: Int?
    public init() {}
}

/// `score [won STAGE] [within D] [limit N] [for KEY] [where ...]` — each open lead's probability of converting
/// within D, from a logistic model fitted on the store's own history.
public struct ScoreQuery: Equatable, Sendable {
    public var won: Token?
    public var within: TimeSpan?
    public var limit: Int?
    /// `for KEY`: one customer's (or account's) score, feature by feature.
    public var customer: Token?
    public var filter: Expr?
    public init() {}
}

/// `forecast [months N] [won STAGE] [as of DATE] [where ...]` — expected revenue of the open pipeline per 30-day
/// period, with a band; `as of` a past date back-tests it against what happened.
public struct ForecastQuery: Equatable, Sendable {
    public var months: Int?
    public var won: Token?
    public var asOf: String?
    public var asOfRange: SourceRange?
    public var filter: Expr?
    public init() {}
}

/// `compare A with B`: two journey-level conditions (an event condition: the journey has such an event).
public struct CompareQuery: Equatable, Sendable {
    public var a: Expr, b: Expr
    public var won: Token?
    public var filter: Expr?
    public init(a: Expr, b: Expr, won: Token? = nil, filter: Expr? = nil) { self.a = a; self.b = b; self.won = won; self.filter = filter }
}

public struct Breakdown: Equatable, Sendable {
    public var field: FieldRef
    public var month: Bool
    public var atStep: Int?
    /// A second breakdown (`by channel, customer.segment`): groups are pairs.
    public var also: [Breakdown] = []
    /// As written: `channel`, `customer.segment`, `month(timestamp)`.
    public var display: String { month ? "month(\(field.display))" : field.display }
    public init(field: FieldRef, month: Bool, atStep: Int? = nil, also: [Breakdown] = []) {
        self.field = field; self.month = month; self.atStep = atStep; self.also = also
    }
}

public enum FunnelOrder: String, Sendable { case sequential, strict, any }
public enum FunnelEntry: String, Sendable { case first, best }
public enum CountUnit: String, Sendable { case customers, accounts }
public enum PathShow: String, Sendable { case event, channel, stage, kind }

/// How a step treats events at the same time as the previous step's (docs/semantics.md, "Event order").
public enum TieRule: String, Sendable {
    /// The default, as ClickHouse's `windowFunnel`: events at one time are taken in step order, wherever they
    /// stand in the file (an event still matches one step at most).
    case together = "ties together"
    /// `ties in import order`: a later step must be a later event in the store's order (the rule before 2026-12).
    case importOrder = "ties in import order"
    /// `strictly later`: a later step's event must come at a later time (as `windowFunnel`'s `strict_increase`).
    case strictlyLater = "strictly later"
}

public struct FunnelQuery: Equatable, Sendable {
    public var steps: [FunnelStep]
    public var within: TimeSpan?
    public var filter: Expr?
    public var by: Breakdown?
    public var order: FunnelOrder = .sequential
    public var entry: FunnelEntry = .first
    public var exclusions: [(Expr, Int?, Int?)] = []
    public var same: FieldRef?
    public var unit: CountUnit = .customers
    public var top: Int?
    /// `ties in import order` or `strictly later`; by default events at one time are taken in step order.
    public var ties: TieRule = .together
    public static func == (a: FunnelQuery, b: FunnelQuery) -> Bool {
        a.steps == b.steps && a.within == b.within && a.filter == b.filter && a.by == b.by && a.order == b.order
            && a.entry == b.entry && a.same == b.same && a.unit == b.unit && a.top == b.top && a.exclusions.count == b.exclusions.count
            && a.ties == b.ties
    }
}

public struct PathsQuery: Equatable, Sendable {
    public var from: Expr?
    public var to: Expr?
    public var within: TimeSpan?
    public var filter: Expr?
    public var show: PathShow = .event
    public var top: Int = 10
    public var maxSteps: Int = 5
    public var keepRepeats = false
    public var next: Int?
    public var previous: Int?
}

/// A parsed statement. Each case shows the syntax it stands for.
public indirect enum Statement: Equatable, Sendable {
    /// `stats [where ...]`
    case stats(filter: Expr?)
    /// `quality`
    case quality
    /// `funnel a > b > c [within 30d] [where ...] [by channel [at step N]] ...`
    case funnel(FunnelQuery)
    /// `paths [from A] [to B] [within D] [where ...] [show channel] [top N] [max K steps] [keep repeats]`
    case paths(PathsQuery)
    /// `time from A to B [by DIM] [where ...]`
    case time(from: Expr, to: Expr, by: Breakdown?, filter: Expr?)
    /// `dropoff after S [where ...]`
    case dropoff(after: Expr, next: Expr?, filter: Expr?)
    /// `count customers|accounts|events [by DIM [top N]] [where ...]`
    case count(unit: String, by: Breakdown?, filter: Expr?, top: Int?)
    /// `revenue [by DIM [top N]] [where ...]` — orders (events with a value), revenue, order value, per customer.
    case revenue(by: Breakdown?, filter: Expr?, top: Int?)
    /// `margin [by DIM [top N]] [where ...]` — revenue, cost to serve (the touchpoint catalog's costs) and margin.
    case margin(by: Breakdown?, filter: Expr?, top: Int?)
    /// `value …` / `customers by value …` — see `ValueQuery`.
    case value(ValueQuery)
    /// `score …` — see `ScoreQuery`.
    case score(ScoreQuery)
    /// `forecast …` — see `ForecastQuery`.
    case forecast(ForecastQuery)
    /// `leads [by DIM] [mql STAGE] [sql STAGE] [won STAGE] [where ...]` — lead quality per first touch.
    case leads(LeadsQuery)
    /// `compare A with B [won STAGE] [where ...]` — two segments side by side, with a test of the conversion rates.
    case compare(CompareQuery)
    /// `profile [won STAGE] [where ...]` — the ideal customer profile: attribute values over-represented among
    /// the converted, with lift.
    case profile(won: Token?, filter: Expr?)
    /// `top channels|events|stages|kinds|campaigns [N] [where ...]`
    case top(what: PathShow, n: Int, filter: Expr?, campaign: Bool)
    /// `pauses longer than 30d [resumed|open]`
    case pauses(longer: TimeSpan, which: String?, filter: Expr?, limit: Int?)
    /// `customers who reached intent and not reached conversion and no touch for 14d [where ...] [limit N]`
    case customers(CustomersQuery)
    /// `attribution [of STEP] [model M [half_life D] [order N] | position A B C] [by DIM] [lookback D] [where ...]`
    case attribution(AttributionQuery)
    /// A statement at account level: `paths … count accounts`, `accounts who …` — each account's journey is its
    /// people's events merged.
    case accounts(Statement)
    /// `customers matching PATTERN [within D] [where ...] [limit N]`, `count matching PATTERN [within D] [by DIM] [where ...]`
    case matching(MatchQuery)
    /// `touchpoints [for STEP] [by event|channel|kind|stage] [top N] [where ...]` — which touchpoints matter.
    case touchpoints(RelevanceQuery)
    /// `gaps [for STEP] [top N] [where ...]` — decision-stage touchpoints where many journeys end.
    case gaps(RelevanceQuery)
    /// `retention from STEP [returning STEP] [every day|week|month] [periods N] [by DIM] [where ...]`
    /// — parsed and bound; the engine comes with a later issue.
    case retention(RetentionQuery)
    /// `explain STATEMENT`
    case explain(Statement)
    /// `explain sql STATEMENT`: the ClickHouse SQL the statement is translated to.
    case explainSQL(Statement)
    /// `set NAME = VALUE`
    case set(name: String, value: Literal)
}

/// One condition of `customers who …`.
public enum CustomerCondition: Equatable, Sendable {
    /// `[not] reached STEP` — has (or has no) event matching the step.
    case reached(Expr, negated: Bool)
    /// `no touch for D` — the last touch lies more than D before the store's last event.
    case silentFor(TimeSpan)
}

public struct CustomersQuery: Equatable, Sendable {
    public var conditions: [CustomerCondition]
    public var filter: Expr?
    public var limit: Int = 50
}

public struct AttributionQuery: Equatable, Sendable {
    public var conversion: Expr?
    public var model: String = "last"
    public var halfLife: TimeSpan?
    public var order: Int?
    public var position: [Int]?
    public var by: Breakdown?
    public var lookback: TimeSpan?
    public var filter: Expr?
    public static let models = ["first", "last", "linear", "time_decay", "position", "markov", "shapley", "all"]
}

/// A regular pattern over a customer's events (see docs/semantics.md, "match").
public indirect enum Pattern: Equatable, Sendable {
    /// One event matching the predicate: `webinar`, `channel = linkedin`, `any`.
    case step(Expr)
    /// Consecutive parts: `a b c` (each right after the previous, no other event between).
    case sequence([Pattern])
    /// `a then b [within D]`: b later than a, other events allowed between; b's first event at most D after a's last.
    case then(Pattern, Pattern, within: TimeSpan?)
    /// `a | b`
    case alternation([Pattern])
    /// `p?` `p*` `p+` `p{m,n}` (max nil = unbounded)
    case repetition(Pattern, min: Int, max: Int?)
}

public struct MatchQuery: Equatable, Sendable {
    public var pattern: Pattern
    public var within: TimeSpan?
    public var filter: Expr?
    public var by: Breakdown?
    public var limit: Int = 50
    /// true: `count matching` (a summary); false: `customers matching` (the list).
    public var count: Bool
    public init(pattern: Pattern, count: Bool) { self.pattern = pattern; self.count = count }
}

public struct RelevanceQuery: Equatable, Sendable {
    public var conversion: Expr?
    public var by: PathShow = .event
    public var top: Int = 20
    public var filter: Expr?
    public init() {}
}

public struct RetentionQuery: Equatable, Sendable {
    public var start: Expr
    public var returning: Expr?
    public var period: String = "week"
    public var periods: Int = 8
    public var by: Breakdown?
    public var filter: Expr?
}

extension Literal {
    /// A value given on the command line (`--param since=2024-01-01`): a number, date or duration when it reads as
    /// one, else text.
    public static func fromArgument(_ v: String) -> Literal {
        let toks = Lexer.tokenize(v)
        switch toks.first?.kind {
        case .number? where toks.count == 2: return .number(Double(v) ?? 0)
        case .date? where toks.count == 2: return .date(v)
        case .duration? where toks.count == 2: return .duration(v)
        default: return .text(v)
        }
    }
}
