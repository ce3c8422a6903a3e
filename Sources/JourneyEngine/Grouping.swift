import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

/// What a `by` groups by, resolved against the store once for every statement that takes `by`: an event field
/// (each event has a code) or a customer attribute (each customer has a value). A name `where` would reject is
/// rejected here too, with the same did-you-mean.
public enum Grouping {
    case event(EventGroups)
    case customer([String])

    /// The event field, if it is one.
    public var events: EventGroups? { if case .event(let g) = self { return g }; return nil }
    /// The customer attribute's value per customer, if it is one.
    public var values: [String]? { if case .customer(let v) = self { return v }; return nil }
    /// A customer attribute's values as dense codes per customer (0, 1, … in order of first sight) and their names.
    public var denseValues: (codes: [Int], names: [String])? {
        guard let values else { return nil }
        var index: [String: Int] = [:], names: [String] = []
        let codes = values.map { v -> Int in
            if let k = index[v] { return k }
            index[v] = names.count; names.append(v); return names.count - 1
        }
        return (codes, names)
    }
}

/// An event field a `by` groups by: every event's code, and the name behind each code.
public struct EventGroups {
    public enum Column {
        /// A packed column the scans read directly (event, channel, stage, kind).
        case packed(PathShow)
        case campaign
        /// Codes made for this statement (device, source, an imported property, value, month(timestamp)).
        case codes([UInt32])
    }
    public let column: Column
    /// Label by code; code 0 is "(none)" for fields an event may lack.
    public let names: [String]

    @inline(__always) public func code(_ v: UnsafePackedView, _ i: Int) -> UInt32 {
        switch column {
        case .packed(.event): return v.events[i]
        case .packed(.channel): return UInt32(v.channels[i])
        case .packed(.stage): return UInt32(v.stages[i])
        case .packed(.kind): return UInt32(v.kinds[i])
        case .campaign: return v.campaigns[i]
        case .codes(let c): return c[i]
        }
    }

    public func name(_ code: Int) -> String { code < names.count ? names[code] : "(code \(code))" }
    public func label(_ v: UnsafePackedView, _ i: Int) -> String { name(Int(code(v, i))) }
    /// Codes are below this.
    public var bound: Int { names.count }
    /// Whether the groups are months (shown in time order, every month between the first and the last).
    public var months = false
}

extension Executor {
    /// The groups of a bound `by` on this data: each event's code for an event field, each customer's value for
    /// an attribute.
    public func grouping(_ d: BoundBreakdown) throws -> Grouping {
        switch d.source {
        case .field(let f): return .event(eventGroups(f.rawValue)!)
        case .value: return .event(eventGroups("value")!)
        case .property(let name):
            guard let g = eventGroups(name) else { throw QueryError("the property '\(name)' is not loaded") }
            return .event(g)
        case .month: return .event(monthGroups())
        case .attribute(let a, let month): return .customer(try attributeColumn(a, month: month))
        }
    }

    /// An event field or imported property by name, or nil.
    func eventGroups(_ name: String) -> EventGroups? {
        func withNone(_ names: [String]) -> [String] { ["(none)"] + names.dropFirst() }
        switch name {
        case "event", "channel", "stage", "kind":
            let show = PathShow(rawValue: name)!
            return EventGroups(column: .packed(show), names: (0..<codeBound(show)).map { codeName(show, $0) })
        case "campaign":
            let bound = codeBound(campaigns: ())
            return EventGroups(column: .campaign, names: (0..<bound).map { $0 == 0 ? "(none)" : $0 < catalog.campaigns.count ? catalog.campaigns[$0] : "(code \($0))" })
        case "device": return EventGroups(column: .codes(seq.devices.map(UInt32.init)), names: withNone(catalog.devices))
        case "source": return EventGroups(column: .codes(seq.sources.map(UInt32.init)), names: withNone(catalog.sources))
        case "value":
            // Each distinct value a group, named as the number; events without one are "(none)".
            var index: [Double: UInt32] = [:], names = ["(none)"]
            let codes = seq.withView { v in
                (0..<seq.eventCount).map { i -> UInt32 in
                    let x = v.values[i]
                    if x.isNaN { return 0 }
                    if let k = index[x] { return k }
                    let k = UInt32(names.count); index[x] = k
                    names.append(x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x))
                    return k
                }
            }
            return EventGroups(column: .codes(codes), names: names)
        default:
            guard let key = seq.properties.keys.first(where: { $0.lowercased() == name }), let col = seq.properties[key] else { return nil }
            return EventGroups(column: .codes(col.codes), names: withNone(col.values))
        }
    }

    /// `by month(timestamp)`: each event's calendar month (UTC), code 1 = the store's first month.
    func monthGroups() -> EventGroups {
        let first = RetentionPeriod.month.index(seq.times.min() ?? 0), last = RetentionPeriod.month.index(seq.times.max() ?? 0)
        let codes = seq.times.map { UInt32(RetentionPeriod.month.index($0) - first + 1) }
        var g = EventGroups(column: .codes(codes), names: ["(none)"] + (first...max(first, last)).map { RetentionPeriod.month.label($0) })
        g.months = true
        return g
    }
}

extension Executor {
    /// `by A, B`: each group a pair, named "A-value\tB-value" (count shows them as two columns). Two customer
    /// attributes stay a customer attribute; otherwise every event gets the code of its pair.
    func pairGrouping(_ d: BoundBreakdown) throws -> Grouping {
        guard let second = d.also else { return try grouping(d) }
        let a = try grouping(d), b = try grouping(second)
        if case .customer(let x) = a, case .customer(let y) = b { return .customer(zip(x, y).map { "\($0)\t\($1)" }) }
        // Dense codes for a customer side's values, so both sides are codes.
        let ea = a.events, eb = b.events
        let (ca, na) = a.denseValues ?? ([], []), (cb, nb) = b.denseValues ?? ([], [])
        var pairIndex: [UInt64: UInt32] = [:], names: [String] = []
        let combined = seq.withView { v -> [UInt32] in
            var out = [UInt32](repeating: 0, count: seq.eventCount)
            for c in 0..<seq.customerCount {
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    let x = ea?.code(v, i) ?? UInt32(ca[c]), y = eb?.code(v, i) ?? UInt32(cb[c])
                    let key = UInt64(x) << 32 | UInt64(y)
                    if let k = pairIndex[key] { out[i] = k; continue }
                    let k = UInt32(names.count)
                    pairIndex[key] = k
                    names.append((ea?.name(Int(x)) ?? na[Int(x)]) + "\t" + (eb?.name(Int(y)) ?? nb[Int(y)]))
                    out[i] = k
                }
            }
            return out
        }
        return .event(EventGroups(column: .codes(combined), names: names))
    }

}


/// What a one-pass statement over customers with groups needs (revenue, leads): the compiled filter, the groups
/// (an event field's codes, or a customer attribute's dense codes), and the event filter as a step test.
struct GroupedPass {
    let filter: CompiledFilter
    let dim: EventGroups?
    let dense: (codes: [Int], names: [String])?
    let eventFilter: StepTest?
    /// Owns the event filter's tables: keep the value alive for the scan.
    let tables = StepTest.Tables()

    init(_ executor: Executor, by: BoundBreakdown?, filter f: BoundFilter) throws {
        filter = try executor.compile(f)
        let grouping = try by.map(executor.grouping)
        dim = grouping?.events; dense = grouping?.denseValues
        eventFilter = filter.events.map { [tables] in StepTest($0, tables: tables) }
    }
    var groupCount: Int { dim?.bound ?? dense?.names.count ?? 1 }
    /// The group of event `i` of customer `c` (an event field: the event's own code).
    @inline(__always) func group(_ v: UnsafePackedView, _ i: Int, customer c: Int) -> Int { dim.map { Int($0.code(v, i)) } ?? dense?.codes[c] ?? 0 }
    var names: [String] { dim.map { d in (0..<groupCount).map { d.name($0) } } ?? dense?.names ?? ["all"] }
}
