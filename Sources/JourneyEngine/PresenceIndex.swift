import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner

/// Candidate pruning: per customer, a 16-bit signature of the stages and a 64-bit signature of the event codes
/// they have at least one event of (code c sets bit c mod 16, or c mod 64: exact for up to 16 stages and 64
/// events; beyond that codes share bits, so a customer may be read in vain but is never skipped wrongly). Built
/// from the packed columns in one pass on first use (~10 ms for 12M events) and kept with the loaded journeys;
/// a funnel or paths then skips, without reading their events, the customers who lack every event its entry
/// step could match.
public final class PresenceIndex: @unchecked Sendable {
    private let lock = NSLock()
    // Owned buffers rather than arrays, so a scan tests a customer with one load and no reference counting.
    private var stages: UnsafeMutableBufferPointer<UInt16>?
    private var events: UnsafeMutableBufferPointer<UInt64>?
    private var ties: UnsafeMutableBufferPointer<Bool>?

    public init() {}
    deinit { stages?.deallocate(); events?.deallocate(); ties?.deallocate() }

    /// Per customer: whether two of its events share a time (the general matcher then reads them in tie order),
    /// built on first use.
    func tiedCustomers(_ seq: PackedSequences) -> UnsafePointer<Bool> {
        lock.lock(); defer { lock.unlock() }
        if let ties { return UnsafePointer(ties.baseAddress.unsafelyUnwrapped) }
        let out = UnsafeMutableBufferPointer<Bool>.allocate(capacity: max(seq.customerCount, 1))
        seq.withView { v in
            for c in 0..<seq.customerCount { out[c] = FunnelMatcher.hasTies(v, Int(v.offsets[c]), Int(v.offsets[c + 1])) }
        }
        ties = out
        return UnsafePointer(out.baseAddress.unsafelyUnwrapped)
    }

    /// The per-customer stage signatures (bit s mod 16 for stage code s), built on first use.
    func stageMasks(_ seq: PackedSequences) -> UnsafePointer<UInt16> {
        lock.lock(); defer { lock.unlock() }
        if let stages { return UnsafePointer(stages.baseAddress.unsafelyUnwrapped) }
        let m = Self.build(seq, UInt16.self) { v, i in UInt16(1) << UInt16(v.stages[i] & 15) }
        stages = m
        return UnsafePointer(m.baseAddress.unsafelyUnwrapped)
    }

    /// The per-customer event signatures (bit e mod 64 for event code e), built on first use.
    func eventMasks(_ seq: PackedSequences) -> UnsafePointer<UInt64> {
        lock.lock(); defer { lock.unlock() }
        if let events { return UnsafePointer(events.baseAddress.unsafelyUnwrapped) }
        let m = Self.build(seq, UInt64.self) { v, i in UInt64(1) << UInt64(v.events[i] & 63) }
        events = m
        return UnsafePointer(m.baseAddress.unsafelyUnwrapped)
    }

    /// One pass over every event, the customers split over the cores (a cold start's first funnel builds it).
    static func build<M: FixedWidthInteger>(_ seq: PackedSequences, _: M.Type, _ bit: (UnsafePackedView, Int) -> M) -> UnsafeMutableBufferPointer<M> {
        let out = UnsafeMutableBufferPointer<M>.allocate(capacity: max(1, seq.customerCount))
        let n = seq.customerCount
        let parts = seq.eventCount > 1_000_000 ? ProcessInfo.processInfo.activeProcessorCount : 1
        seq.withView { v in
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                for c in (n * p / parts)..<(n * (p + 1) / parts) {
                    var m: M = 0
                    for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) { m |= bit(v, i) }
                    out[c] = m
                }
            }
        }
        return out
    }
}

/// The candidates a step test admits: a mask to test each customer's presence signature against. The
/// signatures belong to the data's `PresenceIndex`, which outlives every query on that data.
public struct EntryPruning {
    private var stages: UnsafePointer<UInt16>?
    private var events: UnsafePointer<UInt64>?
    private var mask: UInt64 = 0

    static let none = EntryPruning()

    /// Pruning for entries that must match one of `tests` (the first step; with `order any`, every step).
    static func of(_ tests: [StepTest], data: JourneyData) -> EntryPruning {
        guard !tests.isEmpty, tests.allSatisfy({ $0.column == tests[0].column }) else { return .none }
        var p = EntryPruning()
        switch tests[0].column {
        case .stage:
            for t in tests { for code in 0..<t.count where t.table.unsafelyUnwrapped[code] { p.mask |= 1 << UInt64(code & 15) } }
            if p.mask == 0xFFFF { return .none }
            p.stages = data.presence.stageMasks(data.sequences)
        case .event:
            for t in tests { for code in 0..<t.count where t.table.unsafelyUnwrapped[code] { p.mask |= 1 << UInt64(code & 63) } }
            if p.mask == .max { return .none }
            p.events = data.presence.eventMasks(data.sequences)
        default: return .none
        }
        return p
    }

    /// False when customer `c` cannot enter (has no event the entry could match).
    @inline(__always) func admits(_ c: Int) -> Bool {
        if let s = stages { return UInt64(s[c]) & mask != 0 }
        if let e = events { return e[c] & mask != 0 }
        return true
    }

    var described: String {
        if stages != nil { return "stage presence signature per customer (16 bits)" }
        if events != nil { return "event presence signature per customer (64 bits)" }
        return "none"
    }
}

extension Executor.NativeFunnel {
    /// For `explain`: how the entry prunes customers, and how many customers and events the scan then reads.
    public func scanned(_ data: JourneyData) -> (how: String, customers: Int, events: Int) {
        let seq = data.sequences
        var cs = 0, es = 0
        for c in 0..<seq.customerCount where (filter.journeys?[c] ?? true) && pruning.admits(c) {
            cs += 1; es += Int(seq.offsets[c + 1] - seq.offsets[c])
        }
        return (pruning.described, cs, es)
    }
}
