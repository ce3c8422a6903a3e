import JourneyCore
import JourneyLanguage
import JourneyPlanner

/// Reads customer and account attributes for journey-level filters and breakdowns (the store implements it).
public protocol AttributeSource {
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?]
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?]
    func accounts(for ids: [Int64]) throws -> [Int64]
    /// An attribute as a value table and a code per id (cheaper to count by than strings); `account`: an
    /// account attribute.
    func attributeCodes(_ name: String, account: Bool, for ids: [Int64]) throws -> (values: [String?], codes: [Int32])
}

extension AttributeSource {
    public func attributeCodes(_ name: String, account: Bool, for ids: [Int64]) throws -> (values: [String?], codes: [Int32]) {
        denseCodes(account ? try accountAttribute(name, for: ids) : try customerAttribute(name, for: ids))
    }
}

/// Values as a table of the distinct ones and a code per position (in order of first sight).
public func denseCodes(_ read: [String?]) -> (values: [String?], codes: [Int32]) {
    var values: [String?] = [], index: [String?: Int32] = [:]
    let codes = read.map { v -> Int32 in
        if let k = index[v] { return k }
        let k = Int32(values.count); index[v] = k; values.append(v); return k
    }
    return (values, codes)
}

/// Everything a query runs over: the packed journeys, the names behind the codes, attributes.
public struct JourneyData {
    public var sequences: PackedSequences
    public var catalog: Catalog
    public var attributes: AttributeSource
    /// Which stages and events each customer has, built on first use and shared by copies of this value.
    public let presence = PresenceIndex()
    /// The accounts' merged journeys, built by the first `count accounts` statement and kept for the next ones.
    let accountLevel = AccountLevelCache()
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

/// A `where` compiled for the scan: the event-level predicate, and the journeys that pass (per customer; nil = all).
public struct CompiledFilter {
    public var events: BoundPredicate?
    public var journeys: [Bool]?
    public var description: [String]
}

extension Executor {
    /// Compiles a bound predicate into the scan's form (an imported property: the column loaded for it).
    public func compile(_ e: BoundExpr) throws -> BoundPredicate {
        switch e {
        case .any: return .any
        case .codes(let f, let t):
            switch f {
            case .event: return .event(t)
            case .channel: return .channel(t)
            case .stage: return .stage(t)
            case .kind: return .kind(t)
            case .campaign: return .campaign(t)
            case .device: return .device(t)
            case .source: return .source(t)
            }
        case .property(let name, let test):
            guard let key = seq.properties.keys.first(where: { $0.lowercased() == name }), let col = seq.properties[key] else {
                throw QueryError("the property '\(name)' is not loaded")
            }
            // Code 0 is "absent"; the table says which stored values match.
            let table = col.values.indices.map { $0 == 0 ? test.matches(nil) : test.matches(col.values[$0]) }
            return .property(col.codes, table)
        case .value(let op, let v): return .value(op, v)
        case .valueNull(let isNull): return .valueNull(isNull)
        case .and(let a, let b): return .and(try compile(a), try compile(b))
        case .or(let a, let b): return .or(try compile(a), try compile(b))
        case .not(let a): return .not(try compile(a))
        }
    }

    /// Compiles `where`: the event predicate, and the journey-level part evaluated to a flag per customer.
    public func compile(_ f: BoundFilter) throws -> CompiledFilter {
        CompiledFilter(events: try f.events.map(compile), journeys: try f.journeys.map(journeys), description: f.description)
    }

    /// Which customers a journey-level predicate holds for.
    func journeys(_ e: JourneyExpr) throws -> [Bool] {
        let n = seq.customerCount
        switch e {
        case .and(let a, let b): return zip(try journeys(a), try journeys(b)).map { $0 && $1 }
        case .or(let a, let b): return zip(try journeys(a), try journeys(b)).map { $0 || $1 }
        case .not(let a): return try journeys(a).map { !$0 }
        case .has(let inner):
            let p = try compile(inner)
            return seq.withView { v in
                (0..<n).map { c in (Int(v.offsets[c])..<Int(v.offsets[c + 1])).contains { p.matches(v, $0) } }
            }
        case .attribute(let a, let test):
            // The test once per distinct value, then a flag per customer by its value's code (a string test per
            // customer cost ~0.2 s on 2.4M customers).
            let (values, codes) = try data.attributes.attributeCodes(a.name, account: a.scope == .account, for: seq.customerIDs)
            let verdict = values.map(test.matches)
            return codes.map { verdict[Int($0)] }
        }
    }
}
