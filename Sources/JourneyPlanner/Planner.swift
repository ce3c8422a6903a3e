import JourneyCore
import JourneyLanguage

/// Turns a parsed statement into its `QueryPlan`: binds every name against the catalog, types every option, and
/// checks that the options fit together. All of a statement's errors about names and options come from here
/// (syntax errors from the parser), before any data is read.
public struct Planner {
    public let catalog: Catalog
    /// How each bare name was read, in order ("awareness → stage"), for `explain`.
    public private(set) var resolutions: [String] = []

    public init(catalog: Catalog) { self.catalog = catalog }

    typealias Stats = QueryPlan.Stats; typealias Funnel = QueryPlan.Funnel; typealias FunnelStep = QueryPlan.FunnelStep
    typealias Exclusion = QueryPlan.Exclusion; typealias Paths = QueryPlan.Paths; typealias Time = QueryPlan.Time
    typealias Dropoff = QueryPlan.Dropoff; typealias CountTarget = QueryPlan.CountTarget; typealias Count = QueryPlan.Count; typealias Revenue = QueryPlan.Revenue; typealias Leads = QueryPlan.Leads; typealias Compare = QueryPlan.Compare; typealias Profile = QueryPlan.Profile
    typealias Top = QueryPlan.Top; typealias PauseKind = QueryPlan.PauseKind; typealias Pauses = QueryPlan.Pauses
    typealias Condition = QueryPlan.Condition; typealias Customers = QueryPlan.Customers; typealias Attribution = QueryPlan.Attribution
    typealias AttributionModel = QueryPlan.AttributionModel; typealias Matching = QueryPlan.Matching
    typealias Relevance = QueryPlan.Relevance; typealias Retention = QueryPlan.Retention

    /// The stage that counts as converted (`won STAGE`, default conversion), by name as the store has it.
    func wonStage(_ t: Token?) throws -> (UInt8, String) {
        let name = t?.text ?? "conversion"
        guard let i = catalog.stages.firstIndex(where: { $0.lowercased() == name.lowercased() }) else {
            let s = suggestion(for: name, among: catalog.stages)
            throw Diagnostic(.unknownValue, t == nil ? "the store has no stage 'conversion'; name the stage that counts as converted with 'won STAGE'" : "unknown stage '\(name)'",
                             at: t?.range ?? SourceRange(start: 0, end: 0, line: 1, column: 1), help: s.map { "did you mean '\($0)'?" } ?? "stages: \(catalog.stages.joined(separator: ", "))")
        }
        return (UInt8(i + 1), catalog.stages[i])
    }

    /// The plan of one statement.
    public static func plan(_ st: Statement, catalog: Catalog) throws -> QueryPlan {
        var p = Planner(catalog: catalog)
        return try p.plan(st)
    }

    public mutating func plan(_ st: Statement) throws -> QueryPlan {
        var b = Binder(catalog: catalog)
        defer { resolutions += b.resolutions }
        switch st {
        case .stats(let f): return .stats(Stats(filter: try b.bindFilter(f)))
        case .quality: return .quality
        case .set(let name, let value): return .set(name: name, value: value)
        case .explain(let inner): return .explain(try plan(inner))
        case .explainSQL(let inner): return .explainSQL(try plan(inner))
        case .accounts(let inner): return .accounts(try plan(inner))
        case .funnel(let q): return .funnel(try funnel(q, &b))
        case .paths(let q):
            return .paths(Paths(from: try q.from.map { try b.bindStep($0) }, to: try q.to.map { try b.bindStep($0) }, within: q.within,
                                filter: try b.bindFilter(q.filter), show: q.show, top: q.top, maxSteps: q.maxSteps, keepRepeats: q.keepRepeats,
                                next: q.next, previous: q.previous))
        case .time(let from, let to, let by, let f):
            return .time(Time(from: try b.bindStep(from), to: try b.bindStep(to), by: try by.map { try b.bindBreakdown($0) }, filter: try b.bindFilter(f)))
        case .dropoff(let after, let next, let f): return .dropoff(try dropoff(after, next, f, &b))
        case .count(let unit, let by, let f, let top):
            guard let target = CountTarget(rawValue: unit) else { throw QueryError("count takes customers, accounts or events") }
            return .count(Count(unit: target, by: try by.map { try b.bindBreakdown($0, pairs: true) }, filter: try b.bindFilter(f), top: top))
        case .compare(let q):
            let (won, wonName) = try wonStage(q.won)
            return .compare(Compare(a: try b.bindJourney(q.a), b: try b.bindJourney(q.b), texts: [describe(q.a), describe(q.b)],
                                    won: won, wonName: wonName, filter: try b.bindFilter(q.filter)))
        case .profile(let w, let f):
            let (won, wonName) = try wonStage(w)
            // Identifiers and the first-contact date are not traits a profile is made of (a value per customer).
            let attributes = catalog.customerAttributes.filter { !["account", "id", "customer_id", "first_contact"].contains($0.lowercased()) }
                .map { AttributeRef(scope: .customer, name: $0) }
                + ["industry", "country", "size"].map { AttributeRef(scope: .account, name: $0) }
            return .profile(Profile(attributes: attributes, won: won, wonName: wonName, filter: try b.bindFilter(f)))
        case .leads(let q):
            // Each stage by name (did-you-mean among the store's), defaults consideration / intent / conversion.
            func stage(_ t: Token?, _ fallback: String) throws -> (UInt8, String) {
                let name = t?.text ?? fallback
                if let i = catalog.stages.firstIndex(where: { $0.lowercased() == name.lowercased() }) { return (UInt8(i + 1), catalog.stages[i]) }
                let s = suggestion(for: name, among: catalog.stages)
                throw Diagnostic(.unknownValue, t == nil ? "the store has no stage '\(name)'; name the stages with mql, sql and won" : "unknown stage '\(name)'",
                                 at: t?.range ?? SourceRange(start: 0, end: 0, line: 1, column: 1), help: s.map { "did you mean '\($0)'?" } ?? "stages: \(catalog.stages.joined(separator: ", "))")
            }
            let (m, mn) = try stage(q.mql, "consideration"), (s, sn) = try stage(q.sql, "intent"), (w, wn) = try stage(q.won, "conversion")
            guard m <= s && s <= w else {
                throw Diagnostic(.leadStagesOrder, "the stages must follow the funnel: mql \(mn), sql \(sn), won \(wn) are out of order",
                                 at: (q.won ?? q.sql ?? q.mql)?.range ?? SourceRange(start: 0, end: 0, line: 1, column: 1), help: "stages in order: \(catalog.stages.joined(separator: " > "))")
            }
            return .leads(Leads(by: try q.by.map { try b.bindBreakdown($0) }, mql: m, sql: s, won: w, stageNames: [mn, sn, wn], filter: try b.bindFilter(q.filter)))
        case .revenue(let by, let f, let top):
            return .revenue(Revenue(by: try by.map { try b.bindBreakdown($0) }, filter: try b.bindFilter(f), top: top))
        case .value(let q):
            var horizon = 12
            if let h = q.horizon {
                horizon = Int((Double(h.milliseconds) / Double(QueryPlan.valuePeriod)).rounded())
                guard horizon >= 1 && horizon <= 120 else {
                    throw Diagnostic(.expected, "a horizon runs 1 to 120 periods of 30 days (30d to 3600d)", at: h.range, help: "e.g. horizon 365d or horizon 12mo")
                }
            }
            return .value(QueryPlan.Value(by: try q.by.map { try b.bindBreakdown($0) }, top: q.top, horizon: horizon, filter: try b.bindFilter(q.filter),
                                list: q.list, limit: q.limit ?? 20))
        case .score(let q):
            let (won, wonName) = try wonStage(q.won)
            let window = q.within?.milliseconds ?? 90 * UTC.msPerDay
            guard window >= UTC.msPerDay else {
                throw Diagnostic(.expected, "a score looks at least a day ahead", at: q.within?.range ?? SourceRange(start: 0, end: 0, line: 1, column: 1))
            }
            return .score(QueryPlan.Score(won: won, wonName: wonName, window: window, limit: q.limit ?? 20, customer: q.customer?.text,
                                filter: try b.bindFilter(q.filter)))
        case .forecast(let q):
            let (won, wonName) = try wonStage(q.won)
            var asOf: Int64?
            if let d = q.asOf {
                let parts = d.split(separator: "-").compactMap { Int($0) }
                guard parts.count == 3 else { throw Diagnostic(.expected, "expected a date such as 2025-06-30 after 'as of'", at: q.asOfRange ?? SourceRange(start: 0, end: 0, line: 1, column: 1)) }
                asOf = Int64(UTC.daysFromCivil(parts[0], parts[1], parts[2]) + 1) * UTC.msPerDay - 1
            }
            return .forecast(QueryPlan.Forecast(won: won, wonName: wonName, months: q.months ?? 6, asOf: asOf, asOfText: q.asOf, filter: try b.bindFilter(q.filter)))
        case .margin(let by, let f, let top):
            guard catalog.hasCosts else {
                throw Diagnostic(.noCosts, "margin needs costs, and this store's touchpoint catalog gives none", at: SourceRange(start: 0, end: 6, line: 1, column: 1),
                                 help: "import a touchpoints file with a 'cost' column (what one touch costs), e.g. journey import STORE touchpoints.csv")
            }
            return .revenue(Revenue(by: try by.map { try b.bindBreakdown($0) }, filter: try b.bindFilter(f), top: top, margin: true))
        case .top(let what, let n, let f, let campaign):
            return .top(Top(what: what, campaigns: campaign, n: n, filter: try b.bindFilter(f)))
        case .pauses(let d, let which, let f, let limit):
            guard let kind = PauseKind(rawValue: which ?? "both") else { throw QueryError("pauses takes 'resumed' or 'open'") }
            return .pauses(Pauses(longer: d, which: kind, filter: try b.bindFilter(f), limit: limit))
        case .customers(let q):
            let conditions = try q.conditions.map { c -> Condition in
                switch c {
                case .reached(let e, let negated): return .reached(try b.bindStep(e), negated: negated)
                case .silentFor(let d): return .silentFor(d)
                }
            }
            return .customers(Customers(conditions: conditions, filter: try b.bindFilter(q.filter), limit: q.limit))
        case .attribution(let q): return .attribution(try attribution(q, &b))
        case .matching(let q):
            return .matching(Matching(pattern: try bind(q.pattern, &b), within: q.within, filter: try b.bindFilter(q.filter),
                                      by: try q.by.map { try b.bindBreakdown($0) }, limit: q.limit, count: q.count))
        case .touchpoints(let q): return .touchpoints(try relevance(q, &b))
        case .gaps(let q): return .gaps(try relevance(q, &b))
        case .retention(let q):
            guard let period = RetentionPeriod(rawValue: q.period) else { throw QueryError("retention periods are day, week, month or quarter") }
            return .retention(Retention(start: try b.bindStep(q.start), returning: try q.returning.map { try b.bindStep($0) }, period: period,
                                        periods: q.periods, by: try q.by.map { try b.bindBreakdown($0) }, filter: try b.bindFilter(q.filter)))
        }
    }

    func funnel(_ q: FunnelQuery, _ b: inout Binder) throws -> Funnel {
        guard let first = q.steps.first else { throw QueryError("a funnel needs at least one step") }
        if first.optional {
            throw Diagnostic(.optionalEntry, "the first step cannot be optional: it is the entry", at: first.expr.range)
        }
        if q.steps.count > 32 {
            throw Diagnostic(.tooManySteps, "a funnel has at most 32 steps; this one has \(q.steps.count)", at: q.steps[32].expr.range)
        }
        if q.order == .any && q.ties == .strictlyLater {
            throw Diagnostic(.strictlyLaterAnyOrder, "'strictly later' orders the steps in time, and 'order any' lets them come in any order", at: first.expr.range,
                             help: "use 'order sequential' or 'order strict' with 'strictly later'")
        }
        if q.order == .any, let s = q.steps.first(where: \.optional) {
            throw Diagnostic(.optionalAnyOrder, "optional steps need an order: 'order any' already lets any step come in any order", at: s.expr.range)
        }
        var same: SameColumn?
        if let f = q.same {
            guard f.scope == nil, let c = SameColumn(rawValue: f.name.lowercased()) else {
                throw Diagnostic(.sameField, "'same' holds an event field constant: \(SameColumn.allCases.map(\.rawValue).joined(separator: ", "))", at: f.range,
                                 help: suggestion(for: f.name, among: SameColumn.allCases.map(\.rawValue)).map { "did you mean '\($0)'?" })
            }
            same = c
        }
        let filter = try b.bindFilter(q.filter)
        let n = q.steps.count
        var exclusions: [Exclusion] = []
        for (x, a, c) in q.exclusions {
            let from = (a ?? 1) - 1, to = (c ?? n) - 1
            guard from >= 0, to < n, from < to else {
                throw Diagnostic(.exclusionSteps, "'excluding … between \(a ?? 1) and \(c ?? n)' needs two step numbers from 1 to \(n), the first smaller", at: x.range)
            }
            exclusions.append(Exclusion(step: try b.bindStep(x), from: from, to: to))
        }
        let steps = try q.steps.map { FunnelStep(step: try b.bindStep($0.expr), within: $0.within, optional: $0.optional) }
        return Funnel(steps: steps, within: q.within, filter: filter, by: try q.by.map { try b.bindBreakdown($0) }, order: q.order, entry: q.entry,
                      exclusions: exclusions, same: same, unit: q.unit, top: q.top, ties: q.ties,
                      groupStep: max(1, min(n, q.by?.atStep ?? 1)) - 1)
    }

    func dropoff(_ after: Expr, _ next: Expr?, _ f: Expr?, _ b: inout Binder) throws -> Dropoff {
        let filter = try b.bindFilter(f)
        let a = try b.bindStep(after)
        let stages = catalog.stages.count
        if let next {
            var p = try b.bindEvent(next)
            var text = describe(next)
            // A stage as the next step: reaching it or any later stage is moving on (a retention touch means the
            // customer got past conversion, with or without a conversion event of their own).
            if case .codes(.stage, let t) = p, t.filter({ $0 }).count == 1, let s = t.firstIndex(of: true), s < stages {
                var tt = t
                for k in s...stages { tt[k] = true }
                p = .codes(.stage, tt); text += " or a later stage"
            }
            return Dropoff(after: a, next: p, nextText: text, explicitNext: describe(next), filter: filter)
        }
        if case .codes(.stage, let t) = a.predicate, let s = t.firstIndex(of: true), s < stages {
            var tt = [Bool](repeating: false, count: stages + 1)
            for k in (s + 1)...stages { tt[k] = true }
            return Dropoff(after: a, next: .codes(.stage, tt), nextText: "a later stage than \(catalog.stages[s - 1])", explicitNext: nil, filter: filter)
        }
        throw Diagnostic(.dropoffNeedsTarget, "dropoff after a non-stage step needs 'to STEP' (which step counts as moving on)", at: after.range)
    }

    /// The conversion step: the one named, else the stage `conversion`.
    func conversion(_ e: Expr?, _ b: inout Binder) throws -> BoundStep {
        if let e { return try b.bindStep(e) }
        guard let code = catalog.stageCode("conversion") else {
            throw QueryError("this store has no stage 'conversion': name the conversion step with 'of STEP' (attribution) or 'for STEP' (touchpoints, gaps)")
        }
        var t = [Bool](repeating: false, count: catalog.stages.count + 1)
        t[Int(code)] = true
        return BoundStep(predicate: .codes(.stage, t), text: "stage conversion", range: SourceRange(start: 0, end: 0, line: 1, column: 1))
    }

    func attribution(_ q: AttributionQuery, _ b: inout Binder) throws -> Attribution {
        let filter = try b.bindFilter(q.filter)
        let conv = try conversion(q.conversion, &b)
        var show = PathShow.channel
        if let by = q.by {
            guard by.field.scope == nil, !by.month, let d = PathShow(rawValue: by.field.name.lowercased()) else {
                throw Diagnostic(.breakdownNotAllowed, "attribution credits touchpoints by channel, event, kind or stage, not by \(by.display)", at: by.field.range,
                                 help: suggestion(for: by.field.name, among: ["channel", "event", "kind", "stage"]).map { "did you mean '\($0)'?" })
            }
            show = d
        }
        guard let model = AttributionModel(rawValue: q.model) else { throw QueryError("unknown attribution model '\(q.model)'") }
        return Attribution(conversion: conv, model: model, halfLife: q.halfLife, markovOrder: q.order ?? 1, position: q.position ?? [40, 20, 40],
                           by: show, lookback: q.lookback, filter: filter)
    }

    func relevance(_ q: RelevanceQuery, _ b: inout Binder) throws -> Relevance {
        let filter = try b.bindFilter(q.filter)
        return Relevance(conversion: try conversion(q.conversion, &b), by: q.by, top: q.top, filter: filter)
    }

    func bind(_ p: Pattern, _ b: inout Binder) throws -> BoundPattern {
        switch p {
        case .step(let e): return .step(try b.bindStep(e))
        case .sequence(let ps): return .sequence(try ps.map { try bind($0, &b) })
        case .alternation(let ps): return .alternation(try ps.map { try bind($0, &b) })
        case .then(let x, let y, let w): return .then(try bind(x, &b), try bind(y, &b), within: w)
        case .repetition(let q, let lo, let hi): return .repetition(try bind(q, &b), min: lo, max: hi)
        }
    }
}
