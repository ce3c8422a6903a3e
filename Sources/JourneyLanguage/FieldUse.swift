/// Which field names a statement's expressions use (so the session loads only the columns it needs).
extension Expr {
    public var fieldNames: Set<String> {
        switch self {
        case .name, .any: return []
        case .compare(let f, _, _, _), .isIn(let f, _, _, _), .isNull(let f, _, _): return f.scope == nil ? [f.name.lowercased()] : []
        case .touched(let e, _), .not(let e, _): return e.fieldNames
        case .and(let a, let b), .or(let a, let b): return a.fieldNames.union(b.fieldNames)
        }
    }
}

extension Statement {
    /// The event fields the statement names: in its expressions, `same`, and its breakdown (`by device`).
    public var fieldNames: Set<String> {
        let fields = breakdown.map { [$0] + $0.also } ?? []
        return expressionFields.union(fields.compactMap { $0.field.scope == nil ? $0.field.name.lowercased() : nil })
    }

    /// The statement's `by`, if it takes one.
    public var breakdown: Breakdown? {
        switch self {
        case .funnel(let q): return q.by
        case .time(_, _, let by, _), .count(_, let by, _, _): return by
        case .matching(let q): return q.by
        case .retention(let q): return q.by
        case .explain(let s), .explainSQL(let s), .accounts(let s): return s.breakdown
        default: return nil
        }
    }

    var expressionFields: Set<String> {
        func of(_ es: [Expr?]) -> Set<String> { es.compactMap { $0 }.reduce(into: Set<String>()) { $0.formUnion($1.fieldNames) } }
        switch self {
        case .stats(let f): return of([f])
        case .quality, .set: return []
        case .funnel(let q): return of(q.steps.map(\.expr) + [q.filter] + q.exclusions.map(\.0)).union(q.same.map { [$0.name.lowercased()] } ?? [])
        case .paths(let q): return of([q.from, q.to, q.filter])
        case .time(let a, let b, _, let f): return of([a, b, f])
        case .dropoff(let a, let n, let f): return of([a, n, f])
        case .count(_, _, let f, _), .top(_, _, let f, _), .pauses(_, _, let f, _), .revenue(_, let f, _), .margin(_, let f, _): return of([f])
        case .value(let q): return of([q.filter])
        case .score(let q): return of([q.filter])
        case .forecast(let q): return of([q.filter])
        case .leads(let q): return of([q.filter])
        case .compare(let q): return of([q.a, q.b, q.filter])
        case .profile(_, let f): return of([f])
        case .customers(let q):
            return of(q.conditions.map { if case .reached(let e, _) = $0 { return e }; return nil } + [q.filter])
        case .attribution(let q): return of([q.conversion, q.filter])
        case .touchpoints(let q), .gaps(let q): return of([q.conversion, q.filter])
        case .matching(let q): return q.pattern.steps.reduce(of([q.filter])) { $0.union($1.fieldNames) }
        case .retention(let q): return of([q.start, q.returning, q.filter])
        case .explain(let s), .explainSQL(let s), .accounts(let s): return s.expressionFields
        }
    }
}

extension Pattern {
    /// Every step predicate in the pattern.
    public var steps: [Expr] {
        switch self {
        case .step(let e): return [e]
        case .sequence(let ps), .alternation(let ps): return ps.flatMap(\.steps)
        case .then(let a, let b, _): return a.steps + b.steps
        case .repetition(let p, _, _): return p.steps
        }
    }
}
