import JourneyCore
import JourneyLanguage
import JourneyPlanner

/// The names behind the packed codes, for rows and keys: every executor labels events through these.
extension Executor {
    func label(_ show: PathShow, _ v: UnsafePackedView, _ i: Int) -> String {
        switch show {
        case .event: return catalog.events[Int(v.events[i])]
        case .channel: let c = Int(v.channels[i]); return c == 0 ? "(none)" : catalog.channels[c]
        case .stage: let s = Int(v.stages[i]); return s == 0 ? "(none)" : catalog.stages[s - 1]
        case .kind: return v.kinds[i] == 0 ? "(none)" : Catalog.kinds[Int(v.kinds[i])]
        }
    }

    func labelCount(_ show: PathShow) -> Int {
        switch show {
        case .event: return catalog.events.count
        case .channel: return catalog.channels.count
        case .stage: return catalog.stages.count + 1
        case .kind: return Catalog.kinds.count
        }
    }

    func labelName(_ show: PathShow, _ c: UInt32) -> String {
        switch show {
        case .event: return catalog.events[Int(c)]
        case .channel: return c == 0 ? "(none)" : catalog.channels[Int(c)]
        case .stage: return c == 0 ? "(none)" : catalog.stages[Int(c) - 1]
        case .kind: return c == 0 ? "(none)" : Catalog.kinds[Int(c)]
        }
    }

    @inline(__always) func labelCode(_ show: PathShow, _ v: UnsafePackedView, _ i: Int) -> UInt32 {
        switch show {
        case .event: return v.events[i]
        case .channel: return UInt32(v.channels[i])
        case .stage: return UInt32(v.stages[i])
        case .kind: return UInt32(v.kinds[i])
        }
    }

    /// How many codes to count an event field over: its catalog's size (stage codes are ordinal + 1), or more
    /// when the data holds a larger code (never from an import; a guard, so no count is lost).
    func codeBound(_ show: PathShow) -> Int {
        seq.withView { v in
            func largest<T: FixedWidthInteger>(_ col: UnsafeBufferPointer<T>) -> Int { col.max().map { Int($0) } ?? 0 }
            switch show {
            case .event: return max(labelCount(show), largest(v.events) + 1)
            case .channel: return max(labelCount(show), largest(v.channels) + 1)
            case .stage: return max(labelCount(show), largest(v.stages) + 1)
            case .kind: return max(labelCount(show), largest(v.kinds) + 1)
            }
        }
    }

    func codeBound(campaigns: Void) -> Int {
        seq.withView { v in max(catalog.campaigns.count, (v.campaigns.max().map { Int($0) } ?? 0) + 1) }
    }

    /// A code's name, or `(code N)` for one the catalog lacks.
    func codeName(_ show: PathShow, _ code: Int) -> String {
        code < labelCount(show) ? labelName(show, UInt32(code)) : "(code \(code))"
    }
}
