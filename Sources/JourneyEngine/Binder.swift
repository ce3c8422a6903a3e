import JourneyCore
import JourneyLanguage

/// Reads customer and account attributes for journey-level filters and breakdowns (the store implements it).
public protocol AttributeSource {
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?]
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?]
    func accounts(for ids: [Int64]) throws -> [Int64]
}

/// Everything a query runs over: the packed journeys, the names behind the codes, attributes.
public struct JourneyData {
    public var sequences: PackedSequences
    public var catalog: Catalog
    public var attributes: AttributeSource
    /// Which stages and events each customer has, built on first use and shared by copies of this value.
    public let presence = PresenceIndex()
    public init(sequences: PackedSequences, catalog: Catalog, attributes: AttributeSource) {
        self.sequences = sequences; self.catalog = catalog; self.attributes = attributes
    }
}

/// A step predicate compiled against the catalog: code tables, so matching an event is a lookup.
public indirect enum BoundPredicate: Sendable {
    case any
    case event([Bool])       // indexed by event code
    case channel([Bool])
    case stage([Bool])
    case kind([Bool])
    case campaign([Bool])
    case device([Bool])
    case source([Bool])
    /// A free property: its code per event (0 = absent) and the codes that match.
    case property([UInt32], [Bool])
    case value(CompareOp, Double)
    case valueNull(Bool)
    case and(BoundPredicate, BoundPredicate)
    case or(BoundPredicate, BoundPredicate)
    case not(BoundPredicate)

    @inline(__always)
    public func matches(_ s: UnsafePackedView, _ i: Int) -> Bool {
        switch self {
        case .any: return true
        case .event(let t): let c = Int(s.events[i]); return c < t.count && t[c]
        case .channel(let t): let c = Int(s.channels[i]); return c < t.count && t[c]
        case .stage(let t): let c = Int(s.stages[i]); return c < t.count && t[c]
        case .kind(let t): let c = Int(s.kinds[i]); return c < t.count && t[c]
        case .campaign(let t): let c = Int(s.campaigns[i]); return c < t.count && t[c]
        case .device(let t): let c = Int(s.devices[i]); return c < t.count && t[c]
        case .source(let t): let c = Int(s.sources[i]); return c < t.count && t[c]
        case .property(let codes, let t): let c = Int(codes[i]); return c < t.count && t[c]
        case .value(let op, let v):
            let x = s.values[i]
            return x.isNaN ? op == .ne : op.apply(x, v)
        case .valueNull(let isNull): return s.values[i].isNaN == isNull
        case .and(let a, let b): return a.matches(s, i) && b.matches(s, i)
        case .or(let a, let b): return a.matches(s, i) || b.matches(s, i)
        case .not(let a): return !a.matches(s, i)
        }
    }
}

/// A step compiled for the hot loop: a code table behind a pointer for the common one-column predicates (no
/// reference counting per event), the general predicate otherwise.
public struct StepTest {
    enum Column { case any, event, channel, stage, kind, campaign, general }
    let column: Column
    let table: UnsafePointer<Bool>?
    let count: Int
    let general: BoundPredicate

    /// Keeps the tables' memory alive for as long as the plan that uses them.
    public final class Tables {
        public init() {}
        var pointers: [UnsafeMutablePointer<Bool>] = []
        deinit { for p in pointers { p.deallocate() } }
        func copy(_ t: [Bool]) -> UnsafePointer<Bool> {
            let p = UnsafeMutablePointer<Bool>.allocate(capacity: max(t.count, 1))
            p.initialize(from: t, count: t.count)
            pointers.append(p)
            return UnsafePointer(p)
        }
    }

    public init(_ p: BoundPredicate, tables: Tables) {
        general = p
        switch p {
        case .any: column = .any; table = nil; count = 0
        case .event(let t): column = .event; table = tables.copy(t); count = t.count
        case .channel(let t): column = .channel; table = tables.copy(t); count = t.count
        case .stage(let t): column = .stage; table = tables.copy(t); count = t.count
        case .kind(let t): column = .kind; table = tables.copy(t); count = t.count
        case .campaign(let t): column = .campaign; table = tables.copy(t); count = t.count
        default: column = .general; table = nil; count = 0
        }
    }

    /// What the scan checks, in words: `stage code ∈ {3} (intent)`.
    public func explain(_ catalog: Catalog) -> String {
        func listed(_ names: [String], _ prefix: String) -> String {
            let codes = (0..<count).filter { table.unsafelyUnwrapped[$0] }
            let shown = codes.prefix(6).map { $0 < names.count ? "\($0) (\(names[$0]))" : "\($0)" }.joined(separator: ", ")
            return "\(prefix) code ∈ {\(shown)\(codes.count > 6 ? ", … \(codes.count) codes" : "")}: one table lookup per event"
        }
        switch column {
        case .any: return "any event"
        case .event: return listed(catalog.events, "event")
        case .channel: return listed(catalog.channels, "channel")
        case .stage: return listed([""] + catalog.stages, "stage")
        case .kind: return listed(Catalog.kinds, "kind")
        case .campaign: return listed(catalog.campaigns, "campaign")
        case .general: return "a compound predicate, evaluated per event"
        }
    }

    @inline(__always) public func matches(_ v: UnsafePackedView, _ i: Int) -> Bool {
        let code: Int
        switch column {
        case .any: return true
        case .event: code = Int(v.events[i])
        case .channel: code = Int(v.channels[i])
        case .stage: code = Int(v.stages[i])
        case .kind: code = Int(v.kinds[i])
        case .campaign: code = Int(v.campaigns[i])
        case .general: return general.matches(v, i)
        }
        return code < count && table.unsafelyUnwrapped[code]
    }
}

/// A `StepTest` without its general predicate: nothing reference-counted, so hot loops copy it for free.
/// Only for the one-column tests (`StepTest.code` is nil for compound predicates). Its `matches` repeats
/// `StepTest.matches` on purpose: having one call the other measured ~50% slower in the general funnel path.
public struct CodeTest {
    let column: StepTest.Column
    let table: UnsafePointer<Bool>?
    let count: Int

    @inline(__always) public func matches(_ v: UnsafePackedView, _ i: Int) -> Bool {
        let code: Int
        switch column {
        case .any: return true
        case .event: code = Int(v.events[i])
        case .channel: code = Int(v.channels[i])
        case .stage: code = Int(v.stages[i])
        case .kind: code = Int(v.kinds[i])
        case .campaign: code = Int(v.campaigns[i])
        case .general: return false
        }
        return code < count && table.unsafelyUnwrapped[code]
    }
}

extension CodeTest {
    /// The first event in `lo..<hi` this test matches: the column is chosen once, then one table lookup per event.
    @inline(__always) public func firstMatch(_ v: UnsafePackedView, from lo: Int, to hi: Int) -> Int? {
        @inline(__always) func scan<T: FixedWidthInteger>(_ col: UnsafeBufferPointer<T>) -> Int? {
            let c = col.baseAddress.unsafelyUnwrapped, t = table.unsafelyUnwrapped
            var i = lo
            while i < hi { let code = Int(c[i]); if code < count && t[code] { return i }; i += 1 }
            return nil
        }
        switch column {
        case .any: return lo < hi ? lo : nil
        case .event: return scan(v.events)
        case .channel: return scan(v.channels)
        case .stage: return scan(v.stages)
        case .kind: return scan(v.kinds)
        case .campaign: return scan(v.campaigns)
        case .general: return nil
        }
    }
}

extension StepTest {
    public var code: CodeTest? { column == .general ? nil : CodeTest(column: column, table: table, count: count) }
}

/// Unsafe views of the packed columns for the hot loops.
public struct UnsafePackedView {
    public let times: UnsafeBufferPointer<Int64>
    public let events: UnsafeBufferPointer<UInt32>
    public let channels: UnsafeBufferPointer<UInt16>
    public let stages: UnsafeBufferPointer<UInt8>
    public let kinds: UnsafeBufferPointer<UInt8>
    public let campaigns: UnsafeBufferPointer<UInt32>
    public let values: UnsafeSparseDoubles
    public let offsets: UnsafeBufferPointer<Int32>
    public let devices: UnsafeBufferPointer<UInt16>
    public let sources: UnsafeBufferPointer<UInt16>
}

extension PackedSequences {
    /// Runs `body` with unsafe views of every column.
    public func withView<R>(_ body: (UnsafePackedView) throws -> R) rethrows -> R {
        try times.withUnsafeBufferPointer { t in
            try events.withUnsafeBufferPointer { e in
                try channels.withUnsafeBufferPointer { c in
                    try stages.withUnsafeBufferPointer { s in
                        try kinds.withUnsafeBufferPointer { k in
                            try campaigns.withUnsafeBufferPointer { cp in
                                try values.withView { v in
                                    try offsets.withUnsafeBufferPointer { o in
                                        try devices.withUnsafeBufferPointer { dv in
                                            try sources.withUnsafeBufferPointer { sr in
                                                try body(UnsafePackedView(times: t, events: e, channels: c, stages: s, kinds: k, campaigns: cp,
                                                                          values: v, offsets: o, devices: dv, sources: sr))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Resolves names against the catalog and compiles predicates. Records how each bare name was read.
public struct Binder {
    public let catalog: Catalog
    /// Free event properties loaded for this statement (see `PackedSequences.properties`).
    public var propertyColumns: [String: (values: [String], codes: [UInt32])] = [:]
    /// "awareness → stage" notes, for `explain`.
    public private(set) var resolutions: [String] = []

    public init(catalog: Catalog) { self.catalog = catalog }

    func table(_ names: [String], _ match: (String) -> Bool) -> [Bool] { names.map { !$0.isEmpty && match($0) } }

    /// A bare name is read as a stage first, then an event, then a channel (documented in docs/language.md).
    public mutating func bindName(_ n: Name) throws -> BoundPredicate {
        let text = n.text
        func stage() -> BoundPredicate? {
            guard let code = catalog.stageCode(text.lowercased()) else { return nil }
            var t = [Bool](repeating: false, count: catalog.stages.count + 1); t[Int(code)] = true
            return .stage(t)
        }
        func event() -> BoundPredicate? {
            guard catalog.events.contains(text) else { return nil }
            return .event(table(catalog.events) { $0 == text })
        }
        func channel() -> BoundPredicate? {
            let key = text.lowercased()
            guard catalog.channels.contains(key) else { return nil }
            return .channel(table(catalog.channels) { $0 == key })
        }
        func kind() -> BoundPredicate? {
            guard let i = Catalog.kinds.firstIndex(of: text.lowercased()), i > 0 else { return nil }
            return .kind(table(Catalog.kinds) { $0 == text.lowercased() })
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
            return .campaign(table(catalog.campaigns) { $0 == text })
        case nil:
            var found: [(String, BoundPredicate)] = []
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
            throw Diagnostic("unknown \(kindOf) '\(text)'", at: n.range,
                             help: s.map { "did you mean '\($0)'?" } ?? "see .stages, .events and .channels for the names in this store")
        }
    }

    func unknown(_ what: String, _ n: Name, _ names: [String]) -> Diagnostic {
        let s = suggestion(for: n.text, among: names)
        return Diagnostic("unknown \(what) '\(n.text)'", at: n.range,
                          help: s.map { "did you mean '\($0)'?" } ?? "see .\(what == "kind" ? "help" : what + "s") for the names in this store")
    }

    /// Compiles an event-level predicate. Journey-level parts (customer./account./touched) are rejected here.
    public mutating func bindEvent(_ e: Expr) throws -> BoundPredicate {
        switch e {
        case .any: return .any
        case .name(let n): return try bindName(n)
        case .and(let a, let b): return .and(try bindEvent(a), try bindEvent(b))
        case .or(let a, let b): return .or(try bindEvent(a), try bindEvent(b))
        case .not(let a, _): return .not(try bindEvent(a))
        case .touched(_, let r):
            throw Diagnostic("'touched' is a journey-level condition; use it in 'where', not in a step", at: r)
        case .compare(let f, let op, let lit, let r):
            if f.scope != nil { throw Diagnostic("'\(f.display)' is a journey-level field; use it in 'where', not in a step", at: r) }
            return try bindComparison(f, op, [lit], negated: false, range: r)
        case .isIn(let f, let lits, let negated, let r):
            if f.scope != nil { throw Diagnostic("'\(f.display)' is a journey-level field; use it in 'where', not in a step", at: r) }
            return try bindComparison(f, .eq, lits, negated: negated, range: r)
        case .isNull(let f, let negated, let r):
            switch f.name.lowercased() {
            case "value": return .valueNull(!negated)
            case "channel": return negated ? .not(.channel([true])) : .channel([true])
            case "stage": return negated ? .not(.stage([true])) : .stage([true])
            case "kind": return negated ? .not(.kind([true])) : .kind([true])
            case "campaign": return negated ? .not(.campaign([true])) : .campaign([true])
            case "device": return negated ? .not(.device([true])) : .device([true])
            case "source": return negated ? .not(.source([true])) : .source([true])
            default:
                guard let col = propertyColumns[f.name.lowercased()] else { throw unknownField(f, r) }
                return negated ? .not(.property(col.codes, [true])) : .property(col.codes, [true])
            }
        }
    }

    func unknownField(_ f: FieldRef, _ r: SourceRange) -> Diagnostic {
        let fields = ["event", "channel", "stage", "kind", "campaign", "device", "source", "value"]
        let s = suggestion(for: f.name, among: fields + catalog.properties + ["customer.segment", "account.size", "first_contact"])
        return Diagnostic("unknown field '\(f.display)'", at: f.range,
                          help: s.map { "did you mean '\($0)'?" } ?? "event fields: \(fields.joined(separator: ", "))\(catalog.properties.isEmpty ? "" : "; properties: " + catalog.properties.prefix(10).joined(separator: ", ")); journey fields: customer.ATTR, account.ATTR, first_contact")
    }

    mutating func bindComparison(_ f: FieldRef, _ op: CompareOp, _ lits: [Literal], negated: Bool, range r: SourceRange) throws -> BoundPredicate {
        let field = f.name.lowercased()
        func codes(_ names: [String], normalize: (String) -> String, what: String) throws -> [Bool] {
            var t = [Bool](repeating: false, count: names.count)
            for lit in lits {
                let v = normalize(lit.display)
                switch op {
                case .eq, .ne:
                    guard let i = names.firstIndex(of: v), i > 0 else {
                        let s = suggestion(for: v, among: names)
                        throw Diagnostic("unknown \(what) '\(lit.display)'", at: r, help: s.map { "did you mean '\($0)'?" } ?? "see .\(what)s")
                    }
                    t[i] = true
                case .contains:
                    for (i, n) in names.enumerated() where i > 0 && n.lowercased().contains(v.lowercased()) { t[i] = true }
                default:
                    throw Diagnostic("'\(op.rawValue)' compares numbers; \(field) is a name (use =, !=, ~ or in)", at: r)
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
        case "event": return .event(try codes(catalog.events, normalize: { $0 }, what: "event"))
        case "channel": return .channel(try codes(catalog.channels, normalize: channelKey, what: "channel"))
        case "stage": return .stage(try codes([""] + catalog.stages, normalize: { $0.lowercased() }, what: "stage"))
        case "kind": return .kind(try codes(Catalog.kinds, normalize: { $0.lowercased() }, what: "kind"))
        case "campaign": return .campaign(try codes(catalog.campaigns, normalize: { $0 }, what: "campaign"))
        case "device": return .device(try codes(catalog.devices, normalize: channelKey, what: "device"))
        case "source": return .source(try codes(catalog.sources, normalize: channelKey, what: "source"))
        case _ where propertyColumns[field] != nil:
            let col = propertyColumns[field]!
            var t = [Bool](repeating: false, count: col.values.count)
            for lit in lits {
                let v = lit.display
                for (i, name) in col.values.enumerated() where i > 0 {
                    let hit: Bool
                    switch op {
                    case .eq, .ne: hit = name == v || name.lowercased() == v.lowercased()
                    case .contains: hit = name.lowercased().contains(v.lowercased())
                    default:
                        if let a = Double(name), let b = Double(v) { hit = op.apply(a, b) } else { hit = op.apply(name, v) }
                    }
                    if hit { t[i] = true }
                }
            }
            if op == .ne || negated { t = t.enumerated().map { $0.offset > 0 && !$0.element } }
            return .property(col.codes, t)
        case "value":
            guard lits.count == 1, case .number(let v) = lits[0] else {
                if lits.count > 1 { return lits.reduce(BoundPredicate.not(.any)) { acc, l in
                    if case .number(let v) = l { return .or(acc, .value(.eq, v)) } else { return acc } } }
                throw Diagnostic("value compares with a number", at: r)
            }
            let p = BoundPredicate.value(op, v)
            return negated ? .not(p) : p
        default: throw unknownField(f, r)
        }
    }
}

/// A `where` split into its two levels: which events count, and which journeys count.
public struct BoundFilter {
    public var events: BoundPredicate?
    public var journeys: [Bool]?     // per customer index; nil = all
    public var description: [String] = []
}

extension Binder {
    /// Splits `where` into event-level and journey-level conjuncts (see docs/language.md, "Filters").
    public mutating func bindFilter(_ e: Expr?, data: JourneyData) throws -> BoundFilter {
        var f = BoundFilter()
        guard let e else { return f }
        func conjuncts(_ e: Expr) -> [Expr] {
            if case .and(let a, let b) = e { return conjuncts(a) + conjuncts(b) }
            return [e]
        }
        for c in conjuncts(e) {
            if isJourneyLevel(c) {
                let keep = try evalJourney(c, data: data)
                f.journeys = f.journeys.map { zip($0, keep).map { $0 && $1 } } ?? keep
                f.description.append("journey-level: \(describe(c))")
            } else {
                let p = try bindEvent(c)
                f.events = f.events.map { .and($0, p) } ?? p
                f.description.append("event-level: \(describe(c))")
            }
        }
        return f
    }

    func isJourneyLevel(_ e: Expr) -> Bool {
        switch e {
        case .touched: return true
        case .compare(let f, _, _, _), .isIn(let f, _, _, _), .isNull(let f, _, _):
            return f.scope != nil || f.name.lowercased() == "first_contact"
        case .not(let a, _): return isJourneyLevel(a)
        case .and(let a, let b), .or(let a, let b): return isJourneyLevel(a) || isJourneyLevel(b)
        default: return false
        }
    }

    mutating func evalJourney(_ e: Expr, data: JourneyData) throws -> [Bool] {
        let n = data.sequences.customerCount
        switch e {
        case .and(let a, let b): return zip(try evalJourney(a, data: data), try evalJourney(b, data: data)).map { $0 && $1 }
        case .or(let a, let b): return zip(try evalJourney(a, data: data), try evalJourney(b, data: data)).map { $0 || $1 }
        case .not(let a, _): return try evalJourney(a, data: data).map { !$0 }
        case .touched(let inner, _):
            let p = try bindEvent(inner)
            return data.sequences.withView { v in
                (0..<n).map { c in (Int(v.offsets[c])..<Int(v.offsets[c + 1])).contains { p.matches(v, $0) } }
            }
        case .compare(let f, let op, let lit, _):
            let vals = try attribute(f, data: data)
            return vals.map { compare($0, op, lit) }
        case .isIn(let f, let lits, let negated, _):
            let vals = try attribute(f, data: data)
            return vals.map { v in lits.contains { compare(v, .eq, $0) } != negated }
        case .isNull(let f, let negated, _):
            return try attribute(f, data: data).map { ($0 == nil) != negated }
        default:
            let p = try bindEvent(e)
            return data.sequences.withView { v in
                (0..<n).map { c in (Int(v.offsets[c])..<Int(v.offsets[c + 1])).contains { p.matches(v, $0) } }
            }
        }
    }

    func attribute(_ f: FieldRef, data: JourneyData) throws -> [String?] {
        let ids = data.sequences.customerIDs
        switch f.scope {
        case "account"?: return try data.attributes.accountAttribute(f.name, for: ids)
        case "customer"?: return try data.attributes.customerAttribute(f.name, for: ids)
        default: return try data.attributes.customerAttribute(f.name, for: ids)
        }
    }

    func compare(_ v: String?, _ op: CompareOp, _ lit: Literal) -> Bool {
        guard let v else { return op == .ne }
        let rhs = lit.display
        if op == .contains { return v.lowercased().contains(rhs.lowercased()) }
        if let a = Double(v), let b = Double(rhs) { return op.apply(a, b) }
        return op.apply(v.lowercased(), rhs.lowercased())
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
