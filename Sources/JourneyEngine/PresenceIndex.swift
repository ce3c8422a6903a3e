import Foundation
import JourneyCore
import JourneyLanguage

/// Candidate pruning: per customer, a 16-bit signature of the stages and a 64-bit signature of the event codes
/// they have at least one event of (code c sets bit c mod 16, or c mod 64: exact for up to 16 stages and 64
/// events; beyond that codes share bits, so a customer may be read in vain but is never skipped wrongly). Built
/// from the packed columns in one pass on first use (~10 ms for 12M events) and kept with the loaded journeys;
/// a funnel or paths then skips, without reading their events, the customers who lack every event its entry
/// step could match.
public final class PresenceIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var stages: [UInt16]?
    private var events: [UInt64]?

    public init() {}

    /// The per-customer stage signatures (bit s mod 16 for stage code s).
    public func stageMasks(_ seq: PackedSequences) -> [UInt16] {
        lock.lock(); defer { lock.unlock() }
        if let stages { return stages }
        let m = Self.build(seq, UInt16.self) { v, i in UInt16(1) << UInt16(v.stages[i] & 15) }
        stages = m
        return m
    }

    /// The per-customer event signatures (bit e mod 64 for event code e).
    public func eventMasks(_ seq: PackedSequences) -> [UInt64] {
        lock.lock(); defer { lock.unlock() }
        if let events { return events }
        let m = Self.build(seq, UInt64.self) { v, i in UInt64(1) << UInt64(v.events[i] & 63) }
        events = m
        return m
    }

    static func build<M: FixedWidthInteger>(_ seq: PackedSequences, _: M.Type, _ bit: (UnsafePackedView, Int) -> M) -> [M] {
        var out = [M](repeating: 0, count: seq.customerCount)
        seq.withView { v in
            out.withUnsafeMutableBufferPointer { o in
                for c in 0..<seq.customerCount {
                    var m: M = 0
                    for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) { m |= bit(v, i) }
                    o[c] = m
                }
            }
        }
        return out
    }
}

/// The candidates a step test admits: a mask to test each customer's presence bits against.
public enum EntryPruning {
    case none
    case stages([UInt16], mask: UInt16)
    case events([UInt64], mask: UInt64)

    /// Pruning for entries that must match one of `tests` (the first step; with `order any`, every step).
    static func of(_ tests: [StepTest], data: JourneyData) -> EntryPruning {
        guard !tests.isEmpty, tests.allSatisfy({ $0.column == tests[0].column }) else { return .none }
        switch tests[0].column {
        case .stage:
            var m: UInt16 = 0
            for t in tests { for code in 0..<t.count where t.table.unsafelyUnwrapped[code] { m |= 1 << UInt16(code & 15) } }
            return m == .max ? .none : .stages(data.presence.stageMasks(data.sequences), mask: m)
        case .event:
            var m: UInt64 = 0
            for t in tests { for code in 0..<t.count where t.table.unsafelyUnwrapped[code] { m |= 1 << UInt64(code & 63) } }
            return m == .max ? .none : .events(data.presence.eventMasks(data.sequences), mask: m)
        default: return .none
        }
    }

    /// False when customer `c` cannot enter (has no event the entry could match).
    @inline(__always) func admits(_ c: Int) -> Bool {
        switch self {
        case .none: return true
        case .stages(let masks, let m): return masks[c] & m != 0
        case .events(let masks, let m): return masks[c] & m != 0
        }
    }

    /// Customers admitted and their events, for `explain`.
    func estimate(_ seq: PackedSequences) -> (customers: Int, events: Int) {
        var cs = 0, es = 0
        for c in 0..<seq.customerCount where admits(c) { cs += 1; es += Int(seq.offsets[c + 1] - seq.offsets[c]) }
        return (cs, es)
    }

    var described: String {
        switch self {
        case .none: return "none"
        case .stages: return "stage presence signature per customer (16 bits)"
        case .events: return "event presence signature per customer (64 bits)"
        }
    }
}

extension Executor {
    /// For `explain`: how a funnel's entry prunes customers, and how many customers and events it then reads.
    public func funnelPruning(_ q: FunnelQuery, binder: inout Binder) throws -> (how: String, customers: Int, events: Int) {
        let filter = try binder.bindFilter(q.filter, data: data)
        let tables = StepTest.Tables()
        let steps = try q.steps.map { StepTest(try binder.bindEvent($0.expr), tables: tables) }
        let pruning = filter.events == nil && !steps.isEmpty ? EntryPruning.of(q.order == .any ? steps : [steps[0]], data: data) : .none
        var cs = 0, es = 0
        for c in 0..<seq.customerCount where (filter.journeys?[c] ?? true) && pruning.admits(c) {
            cs += 1; es += Int(seq.offsets[c + 1] - seq.offsets[c])
        }
        return (pruning.described, cs, es)
    }
}
