import JourneyCore

extension QueryPlan {
    /// The optional packed columns (`PackedColumn`) a run of this plan reads, so a load can leave the others out:
    /// every column a field bound anywhere in the plan names (a `where`, a step, a `by`, `same`), and for the
    /// statements whose results show or weigh channels, kinds or campaigns of their own accord (paths,
    /// attribution, stats, drop-off, value, …) those three as well. The statements listed first read only
    /// time, event, stage and value unless a field is named — each checked by running it in the tests with
    /// only those loaded (a missing column there stops the test).
    public var columns: Set<PackedColumn> {
        var named = Set<PackedColumn>()
        Self.collect(self, into: &named)
        switch self {
        case .funnel, .count, .time, .retention, .matching, .leads, .revenue, .forecast, .set, .quality:
            return named
        case .accounts(let p), .explain(let p), .explainSQL(let p):
            return named.union(p.columns)
        default:
            return named.union(PackedColumn.usual)
        }
    }

    /// Every `EventField` and `SameColumn` in a plan value, found by walking it (so a new plan field cannot be
    /// forgotten here); code tables and texts are skipped, they hold no fields.
    private static func collect(_ x: Any, into found: inout Set<PackedColumn>) {
        switch x {
        case let f as EventField:
            if let c = PackedColumn(rawValue: f.rawValue) { found.insert(c) }
        case let s as SameColumn:
            if let c = PackedColumn(rawValue: s.rawValue) { found.insert(c) }
        case is [Bool], is [UInt32], is [Int], is [Double], is String, is [String], is Int, is Double, is Bool:
            return
        default:
            for child in Mirror(reflecting: x).children { collect(child.value, into: &found) }
        }
    }
}
