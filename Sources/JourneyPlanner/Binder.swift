import JourneyCore
import JourneyLanguage

/// Resolves names against the catalog: steps and `where` into bound expressions, `by` into a bound breakdown.
/// Records how each bare name was read (for `explain`). Knows the catalog only: no data, no columns.
public struct Binder {
    public let catalog: Catalog
    /// "awareness → stage" notes, for `explain`.
    public private(set) var resolutions: [String] = []

    public init(catalog: Catalog) { self.catalog = catalog }

    /// The event fields `where` and `by` take, besides imported properties.
    public static let eventFields = ["event", "channel", "stage", "kind", "campaign", "device", "source", "value"]

    func table(_ names: [String], _ match: (String) -> Bool) -> [Bool] { names.map { !$0.isEmpty && match($0) } }

    /// A bare name is read as a stage first, then an event, then a channel, then a kind (docs/language.md).
    public mutating func bindName(_ n: Name) throws -> BoundExpr {
        let text = n.text
        func stage() -> BoundExpr? {
            guard let code = catalog.stageCode(text.lowercased()) else { return nil }
            var t = [Bool](repeating: false, count: catalog.stages.count + 1); t[Int(code)] = true
            return .codes(.stage, t)
        }
        func event() -> BoundExpr? {
            guard catalog.events.contains(text) else { return nil }
            return .codes(.event, table(catalog.events) { $0 == text })
        }
        func channel() -> BoundExpr? {
            let key = text.lowercased()
            guard catalog.channels.contains(key) else { return nil }
            return .codes(.channel, table(catalog.channels) { $0 == key })
        }
        func kind() -> BoundExpr? {
            guard let i = Catalog.kinds.firstIndex(of: text.lowercased()), i > 0 else { return nil }
            return .codes(.kind, table(Catalog.kinds) { $0 == text.lowercased() })
        }
        switch n.qualifier {
        case .stage?:
            if let p = stage() { resolutions.append("\(text) → stage"); return p }
            throw unknown("stage", n, catalog.stages)
        case .event?:
            if let p = event() { resolutions.append("\(text) → event"); return p }
            throw unknown("event", n, catalog.events)
        case .channel?:
            if let p = channel() { resolutions.append("\(text) → channel"); return p }
            throw unknown("channel", n, catalog.channels)
        case .kind?:
            if let p = kind() { resolutions.append("\(text) → kind"); return p }
            throw unknown("kind", n, Catalog.kinds)
        case .campaign?:
            guard catalog.campaigns.contains(text) else { throw unknown("campaign", n, catalog.campaigns) }
            resolutions.append("\(text) → campaign")
            return .codes(.campaign, table(catalog.campaigns) { $0 == text })
        case nil:
            var found: [(String, BoundExpr)] = []
            if let p = stage() { found.append(("stage", p)) }
            if let p = event() { found.append(("event", p)) }
            if let p = channel() { found.append(("channel", p)) }
            if let p = kind() { found.append(("kind", p)) }
            if let (what, p) = found.first {
                let others = found.dropFirst().map(\.0)
                resolutions.append("\(text) → \(what)" + (others.isEmpty ? "" : " (also a \(others.joined(separator: " and ")); write \(others[0]):\(text) for that)"))
                return p
            }
            let all = catalog.stages + catalog.events + catalog.channels
            let s = suggestion(for: text, among: all)
            var kindOf = "stage, event or channel"
            if let s { kindOf = catalog.stages.contains(s) ? "stage" : catalog.events.contains(s) ? "event" : "channel" }
            throw Diagnostic(.unknownName, "unknown \(kindOf) '\(text)'", at: n.range,
                             help: s.map { "did you mean '\($0)'?" } ?? "see .stages, .events and .channels for the names in this store")
        }
    }

    func unknown(_ what: String, _ n: Name, _ names: [String]) -> Diagnostic {
        let s = suggestion(for: n.text, among: names)
        return Diagnostic(.unknownName, "unknown \(what) '\(n.text)'", at: n.range,
                          help: s.map { "did you mean '\($0)'?" } ?? "see .\(what == "kind" ? "help" : what + "s") for the names in this store")
    }

    /// A step as bound and as written.
    public mutating func bindStep(_ e: Expr) throws -> BoundStep {
        BoundStep(predicate: try bindEvent(e), text: describe(e), range: e.range)
    }

    /// Binds an event-level predicate. Journey-level parts (customer./account./touched) are rejected here.
    public mutating func bindEvent(_ e: Expr) throws -> BoundExpr {
        switch e {
        case .any: return .any
        case .name(let n): return try bindName(n)
        case .and(let a, let b): return .and(try bindEvent(a), try bindEvent(b))
        case .or(let a, let b): return .or(try bindEvent(a), try bindEvent(b))
        case .not(let a, _): return .not(try bindEvent(a))
        case .touched(_, let r):
            throw Diagnostic(.journeyLevelInStep, "'touched' is a journey-level condition; use it in 'where', not in a step", at: r)
        case .compare(let f, let op, let lit, let r):
            if f.scope != nil || f.name.lowercased() == "first_contact" { throw journeyField(f, r) }
            return try bindComparison(f, op, [lit], negated: false, range: r)
        case .isIn(let f, let lits, let negated, let r):
            if f.scope != nil || f.name.lowercased() == "first_contact" { throw journeyField(f, r) }
            return try bindComparison(f, .eq, lits, negated: negated, range: r)
        case .isNull(let f, let negated, let r):
            if f.scope != nil || f.name.lowercased() == "first_contact" { throw journeyField(f, r) }
            let name = f.name.lowercased()
            if name == "value" { return .valueNull(!negated) }
            if let field = EventField(rawValue: name), field != .event {
                let none = BoundExpr.codes(field, [true])   // code 0: the event has none
                return negated ? .not(none) : none
            }
            guard let p = property(name) else { throw unknownField(f, r) }
            return .property(p, .present(negated))
        }
    }

    func journeyField(_ f: FieldRef, _ r: SourceRange) -> Diagnostic {
        Diagnostic(.journeyLevelInStep, "'\(f.display)' is a journey-level field; use it in 'where', not in a step", at: r)
    }

    /// The catalog's spelling of an imported property, if `name` is one.
    func property(_ name: String) -> String? {
        catalog.properties.first { $0.lowercased() == name.lowercased() }?.lowercased()
    }

    func unknownField(_ f: FieldRef, _ r: SourceRange) -> Diagnostic {
        let fields = Self.eventFields
        let s = suggestion(for: f.name, among: fields + catalog.properties + ["customer.segment", "account.size", "first_contact"])
        return Diagnostic(.unknownField, "unknown field '\(f.display)'", at: f.range,
                          help: s.map { "did you mean '\($0)'?" } ?? "event fields: \(fields.joined(separator: ", "))\(catalog.properties.isEmpty ? "" : "; properties: " + catalog.properties.prefix(10).joined(separator: ", ")); journey fields: customer.ATTR, account.ATTR, first_contact")
    }

    mutating func bindComparison(_ f: FieldRef, _ op: CompareOp, _ lits: [Literal], negated: Bool, range r: SourceRange) throws -> BoundExpr {
        let field = f.name.lowercased()
        func codes(_ names: [String], normalize: (String) -> String, what: String) throws -> [Bool] {
            var t = [Bool](repeating: false, count: names.count)
            for lit in lits {
                let v = normalize(lit.display)
                switch op {
                case .eq, .ne:
                    guard let i = names.firstIndex(of: v), i > 0 else {
                        let s = suggestion(for: v, among: names)
                        throw Diagnostic(.unknownValue, "unknown \(what) '\(lit.display)'", at: r, help: s.map { "did you mean '\($0)'?" } ?? "see .\(what)s")
                    }
                    t[i] = true
                case .contains:
                    for (i, n) in names.enumerated() where i > 0 && n.lowercased().contains(v.lowercased()) { t[i] = true }
                default:
                    throw Diagnostic(.wrongOperator, "'\(op.rawValue)' compares numbers; \(field) is a name (use =, !=, ~ or in)", at: r)
                }
            }
            if op == .ne { t = t.enumerated().map { $0.offset > 0 && !$0.element } }
            if negated { t = t.enumerated().map { $0.offset > 0 && !$0.element } }
            return t
        }
        let channelKey: (String) -> String = { s in
            var out = "", sep = false
            for ch in s.lowercased() { if ch == " " || ch == "-" || ch == "_" { sep = !out.isEmpty } else { if sep { out.append("_"); sep = false }; out.append(ch) } }
            return out
        }
        switch field {
        case "event": return .codes(.event, try codes(catalog.events, normalize: { $0 }, what: "event"))
        case "channel": return .codes(.channel, try codes(catalog.channels, normalize: channelKey, what: "channel"))
        case "stage": return .codes(.stage, try codes([""] + catalog.stages, normalize: { $0.lowercased() }, what: "stage"))
        case "kind": return .codes(.kind, try codes(Catalog.kinds, normalize: { $0.lowercased() }, what: "kind"))
        case "campaign": return .codes(.campaign, try codes(catalog.campaigns, normalize: { $0 }, what: "campaign"))
        case "device": return .codes(.device, try codes(catalog.devices, normalize: channelKey, what: "device"))
        case "source": return .codes(.source, try codes(catalog.sources, normalize: channelKey, what: "source"))
        case "value":
            let numbers = try lits.map { l -> Double in
                guard case .number(let v) = l else { throw Diagnostic(.wrongOperator, "value compares with a number", at: r) }
                return v
            }
            if numbers.count == 1 {
                let p = BoundExpr.value(op, numbers[0])
                return negated ? .not(p) : p
            }
            let any = numbers.reduce(BoundExpr.not(.any)) { .or($0, .value(.eq, $1)) }
            return negated ? .not(any) : any
        default:
            guard let p = property(field) else { throw unknownField(f, r) }
            return .property(p, .compare(op, lits.map(\.display), negated: negated))
        }
    }
}

extension Binder {
    /// Splits `where` into event-level and journey-level conjuncts (see docs/language.md, "Filters").
    public mutating func bindFilter(_ e: Expr?) throws -> BoundFilter {
        var f = BoundFilter()
        guard let e else { return f }
        func conjuncts(_ e: Expr) -> [Expr] {
            if case .and(let a, let b) = e { return conjuncts(a) + conjuncts(b) }
            return [e]
        }
        for c in conjuncts(e) {
            if Self.isJourneyLevel(c) {
                let j = try bindJourney(c)
                f.journeys = f.journeys.map { .and($0, j) } ?? j
                f.description.append("journey-level: \(describe(c))")
            } else {
                let p = try bindEvent(c)
                f.events = f.events.map { .and($0, p) } ?? p
                f.description.append("event-level: \(describe(c))")
            }
        }
        return f
    }

    static func isJourneyLevel(_ e: Expr) -> Bool {
        switch e {
        case .touched: return true
        case .compare(let f, _, _, _), .isIn(let f, _, _, _), .isNull(let f, _, _): return isAttribute(f)
        case .not(let a, _): return isJourneyLevel(a)
        case .and(let a, let b), .or(let a, let b): return isJourneyLevel(a) || isJourneyLevel(b)
        default: return false
        }
    }

    static func isAttribute(_ f: FieldRef) -> Bool { f.scope != nil || f.name.lowercased() == "first_contact" }

    mutating func bindJourney(_ e: Expr) throws -> JourneyExpr {
        func attribute(_ f: FieldRef) throws -> AttributeRef {
            if f.scope == "account" { return AttributeRef(scope: .account, name: f.name) }
            let name = f.name.lowercased()
            guard catalog.customerAttributes.isEmpty || catalog.customerAttributes.contains(where: { $0.lowercased() == name })
                    || ["first_contact", "id", "customer_id"].contains(name) else {
                let s = suggestion(for: f.name, among: catalog.customerAttributes)
                throw Diagnostic(.unknownField, "unknown customer attribute '\(f.name)'", at: f.range,
                                 help: s.map { "did you mean 'customer.\($0)'?" } ?? "customer attributes: \(catalog.customerAttributes.joined(separator: ", "))")
            }
            return AttributeRef(scope: .customer, name: f.name)
        }
        switch e {
        case .and(let a, let b): return .and(try bindJourney(a), try bindJourney(b))
        case .or(let a, let b): return .or(try bindJourney(a), try bindJourney(b))
        case .not(let a, _): return .not(try bindJourney(a))
        case .touched(let inner, _): return .has(try bindEvent(inner))
        case .compare(let f, let op, let lit, _) where Self.isAttribute(f): return .attribute(try attribute(f), .compare(op, lit))
        case .isIn(let f, let lits, let negated, _) where Self.isAttribute(f): return .attribute(try attribute(f), .isIn(lits, negated: negated))
        case .isNull(let f, let negated, _) where Self.isAttribute(f): return .attribute(try attribute(f), .isNull(negated: negated))
        default: return .has(try bindEvent(e))   // an event condition inside a journey-level `or`: the journey has such an event
        }
    }
}

/// What a `by` groups by, resolved against the catalog.
public struct BoundBreakdown: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// An event column: each event under its code.
        case field(EventField)
        /// Each distinct event value a group.
        case value
        /// An imported event property (lower-cased name).
        case property(String)
        /// `month(timestamp)`: each event's calendar month (UTC).
        case month
        /// A customer or account attribute (`month`: its first 7 characters, a date's month).
        case attribute(AttributeRef, month: Bool)
    }
    public var source: Source
    /// As written: `channel`, `customer.segment`, `month(timestamp)`.
    public var display: String
    public var range: SourceRange
    /// `at step N` (funnels): the event of that step names the group.
    public var atStep: Int?
    /// The second field of `count … by A, B` (an array: a struct cannot hold itself).
    var second: [BoundBreakdown] = []
    public var also: BoundBreakdown? { second.first }
    /// Months: groups in time order, every month shown.
    public var isMonths: Bool {
        switch source { case .month: return true; case .attribute(_, let m): return m; default: return false }
    }
    /// Groups by a field of each event (rather than of the customer).
    public var isEventField: Bool { if case .attribute = source { return false }; return true }
}

extension Binder {
    /// Resolves `by`: event fields first, then imported event properties, then customer attributes (an unscoped
    /// name that is none of these is an error, as in `where`). `pairs`: the statement takes `by A, B`.
    public func bindBreakdown(_ d: Breakdown, pairs: Bool = false) throws -> BoundBreakdown {
        if let second = d.also.first, !pairs {
            throw Diagnostic(.oneBreakdown, "two breakdowns are taken by count (count customers by \(d.display), \(second.display)); this statement takes one",
                             at: second.field.range)
        }
        var b = BoundBreakdown(source: try breakdownSource(d), display: d.display, range: d.field.range, atStep: d.atStep)
        if let second = d.also.first { b.second = [try bindBreakdown(Breakdown(field: second.field, month: second.month))] }
        return b
    }

    func breakdownSource(_ d: Breakdown) throws -> BoundBreakdown.Source {
        let name = d.field.name.lowercased()
        if d.field.scope == nil {
            if d.month && name == "timestamp" { return .month }
            if !d.month {
                if let f = EventField(rawValue: name) { return .field(f) }
                if name == "value" { return .value }
                if let p = property(name) { return .property(p) }
            }
            if d.month && (Self.eventFields.contains(name) || property(name) != nil) {
                throw Diagnostic(.monthOfNonDate, "month(…) takes a time: timestamp or a customer attribute holding a date (first_contact)", at: d.field.range)
            }
            if !catalog.customerAttributes.contains(where: { $0.lowercased() == name }) && name != "first_contact" {
                let known = Self.eventFields + catalog.properties + catalog.customerAttributes + ["month(timestamp)"]
                let s = suggestion(for: d.field.name, among: known)
                throw Diagnostic(.unknownField, "unknown field '\(d.field.display)'", at: d.field.range,
                                 help: s.map { "did you mean '\($0)'?" } ?? "event fields: \(Self.eventFields.joined(separator: ", "))"
                                    + (catalog.properties.isEmpty ? "" : "; properties: \(catalog.properties.prefix(10).joined(separator: ", "))")
                                    + "; customer attributes: customer.ATTR (\(catalog.customerAttributes.prefix(8).joined(separator: ", "))), first_contact")
            }
        } else if d.field.scope == "customer", !catalog.customerAttributes.contains(where: { $0.lowercased() == name }), name != "first_contact" {
            let s = suggestion(for: d.field.name, among: catalog.customerAttributes + ["first_contact"])
            throw Diagnostic(.unknownField, "unknown customer attribute '\(d.field.name)'", at: d.field.range,
                             help: s.map { "did you mean 'customer.\($0)'?" } ?? "customer attributes: \(catalog.customerAttributes.joined(separator: ", "))")
        }
        return .attribute(AttributeRef(scope: d.field.scope == "account" ? .account : .customer, name: d.field.name), month: d.month)
    }
}

/// Plain-words rendering of an expression, for `explain` and notes.
public func describe(_ e: Expr) -> String {
    switch e {
    case .name(let n): return (n.qualifier.map { "\($0.rawValue):" } ?? "") + n.text
    case .any: return "any"
    case .compare(let f, let op, let l, _): return "\(f.display) \(op.rawValue) \(l.display)"
    case .isIn(let f, let ls, let neg, _): return "\(f.display) \(neg ? "not in" : "in") (\(ls.map(\.display).joined(separator: ", ")))"
    case .isNull(let f, let neg, _): return "\(f.display) is \(neg ? "not " : "")null"
    case .touched(let x, _): return "touched \(describe(x))"
    case .and(let a, let b): return "\(describe(a)) and \(describe(b))"
    case .or(let a, let b): return "(\(describe(a)) or \(describe(b)))"
    case .not(let a, _): return "not \(describe(a))"
    }
}
