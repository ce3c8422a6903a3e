import JourneyCore
import JourneyLanguage

/// An event column a predicate or breakdown reads by code.
public enum EventField: String, CaseIterable, Sendable {
    case event, channel, stage, kind, campaign, device, source

    /// The names behind the codes (index = code; code 0 is "none" where an event may lack the field).
    public func names(_ catalog: Catalog) -> [String] {
        switch self {
        case .event: return catalog.events
        case .channel: return catalog.channels
        case .stage: return [""] + catalog.stages
        case .kind: return Catalog.kinds
        case .campaign: return catalog.campaigns
        case .device: return catalog.devices
        case .source: return catalog.sources
        }
    }
}

/// An event-level predicate with every name resolved against the catalog: backend-neutral (a code table says
/// which codes match; `labels` gives their names for a backend that stores names).
public indirect enum BoundExpr: Sendable, Equatable {
    case any
    /// The event's code in `field` is one where the table is true (index = code).
    case codes(EventField, [Bool])
    /// An imported event property (lower-cased name) and what it must hold.
    case property(String, PropertyTest)
    /// `value OP number`; an event without a value matches only `!=`.
    case value(CompareOp, Double)
    /// `value is [not] null` (true: is null).
    case valueNull(Bool)
    case and(BoundExpr, BoundExpr)
    case or(BoundExpr, BoundExpr)
    case not(BoundExpr)

    /// The names of the codes a one-column predicate matches, in code order.
    public func labels(_ catalog: Catalog) -> [String] {
        guard case .codes(let f, let t) = self else { return [] }
        let names = f.names(catalog)
        return t.indices.filter { t[$0] }.map { $0 < names.count ? names[$0] : "(code \($0))" }
    }

    /// The imported properties the predicate reads.
    public var properties: Set<String> {
        switch self {
        case .property(let n, _): return [n]
        case .and(let a, let b), .or(let a, let b): return a.properties.union(b.properties)
        case .not(let a): return a.properties
        default: return []
        }
    }
}

/// What an event property must hold. Values are compared as text, case-insensitively for `=`; as numbers when
/// both sides read as numbers for `<` `<=` `>` `>=`.
public enum PropertyTest: Sendable, Equatable {
    /// `= v`, `!= v`, `~ v`, `< v` …, `in (…)` (op `=` with several values); negated: `not in`.
    case compare(CompareOp, [String], negated: Bool)
    /// `is null` (false) / `is not null` (true).
    case present(Bool)

    /// Whether a stored value matches (nil: the event has none).
    public func matches(_ value: String?) -> Bool {
        switch self {
        case .present(let wanted): return (value != nil) == wanted
        case .compare(let op, let values, let negated):
            guard let name = value else { return false }
            var hit = false
            for v in values {
                switch op {
                case .eq, .ne: hit = name == v || name.lowercased() == v.lowercased()
                case .contains: hit = name.lowercased().contains(v.lowercased())
                default:
                    if let a = Double(name), let b = Double(v) { hit = op.apply(a, b) } else { hit = op.apply(name, v) }
                }
                if hit { break }
            }
            return (op == .ne || negated) ? !hit : hit
        }
    }
}

/// A customer or account attribute a journey-level filter reads.
public struct AttributeRef: Sendable, Equatable {
    public enum Scope: String, Sendable { case customer, account }
    public var scope: Scope
    public var name: String
    public var display: String { "\(scope.rawValue).\(name)" }
    public init(scope: Scope, name: String) { self.scope = scope; self.name = name }
}

/// What an attribute must hold (compared as numbers when both sides read as numbers, else as lower-cased text).
public enum AttributeTest: Sendable, Equatable {
    case compare(CompareOp, Literal)
    case isIn([Literal], negated: Bool)
    case isNull(negated: Bool)

    public func matches(_ v: String?) -> Bool {
        switch self {
        case .isNull(let negated): return (v == nil) != negated
        case .isIn(let lits, let negated): return lits.contains { Self.compare(v, .eq, $0) } != negated
        case .compare(let op, let lit): return Self.compare(v, op, lit)
        }
    }

    static func compare(_ v: String?, _ op: CompareOp, _ lit: Literal) -> Bool {
        guard let v else { return op == .ne }
        let rhs = lit.display
        if op == .contains { return v.lowercased().contains(rhs.lowercased()) }
        if let a = Double(v), let b = Double(rhs) { return op.apply(a, b) }
        return op.apply(v.lowercased(), rhs.lowercased())
    }
}

/// A journey-level predicate: true or false for a whole customer (or account) journey.
public indirect enum JourneyExpr: Sendable, Equatable {
    case attribute(AttributeRef, AttributeTest)
    /// The journey has at least one event matching the predicate (`touched X`, or an event condition inside a
    /// journey-level `or`).
    case has(BoundExpr)
    case and(JourneyExpr, JourneyExpr)
    case or(JourneyExpr, JourneyExpr)
    case not(JourneyExpr)

    public var properties: Set<String> {
        switch self {
        case .has(let e): return e.properties
        case .and(let a, let b), .or(let a, let b): return a.properties.union(b.properties)
        case .not(let a): return a.properties
        case .attribute: return []
        }
    }
}

/// A `where` split into its two levels: which events count, and which journeys count (docs/language.md, "Filters").
public struct BoundFilter: Sendable, Equatable {
    public var events: BoundExpr?
    public var journeys: JourneyExpr?
    /// One line per conjunct: "event-level: channel = linkedin", "journey-level: customer.segment = smb".
    public var description: [String] = []
    public init() {}
    public var isEmpty: Bool { events == nil && journeys == nil }
    public var properties: Set<String> { (events?.properties ?? []).union(journeys?.properties ?? []) }
}

/// A step as bound and as written (for titles and notes).
public struct BoundStep: Sendable, Equatable {
    public var predicate: BoundExpr
    /// The step as the analyst wrote it: `awareness`, `channel = linkedin`.
    public var text: String
    public var range: SourceRange
}
