import JourneyCore
import JourneyPlanner

/// What any backend computes for `paths`: the top paths (chosen by customers, ties by name; a path named with
/// " → " between its steps and "…" for the cut middle) with their customers and durations, the rest summed, and
/// the customers who started and who never reached B.
public struct PathsAggregate: Sendable, Equatable {
    public struct Path: Sendable, Equatable {
        public var name: String, customers: Int, durations: [Double]
        public init(name: String, customers: Int, durations: [Double]) { self.name = name; self.customers = customers; self.durations = durations }
    }
    public var top: [Path]
    /// Paths beyond the top: how many distinct ones, and their durations.
    public var otherPaths: Int, otherDurations: [Double]
    public var started: Int, neverReached: Int
    public init(top: [Path], otherPaths: Int, otherDurations: [Double], started: Int, neverReached: Int) {
        self.top = top; self.otherPaths = otherPaths; self.otherDurations = otherDurations; self.started = started; self.neverReached = neverReached
    }
}

extension ResultBuilder {
    public static func paths(_ q: QueryPlan.Paths, _ a: PathsAggregate, filterNotes: [String]) -> [ResultTable] {
        let total = max(a.started, 1)
        var rows: [[Value]] = a.top.map { p in
            var d = p.durations
            return [.text(p.name), .int(p.customers), .percent(Double(p.customers) / Double(total)), .duration(quantile(selecting: &d, 0.5))]
        }
        if a.otherPaths > 0 {
            let n = a.started - a.neverReached - a.top.reduce(0) { $0 + $1.customers }
            var d = a.otherDurations
            rows.append([.text("other (\(a.otherPaths) paths)"), .int(n), .percent(Double(n) / Double(total)), .duration(quantile(selecting: &d, 0.5))])
        }
        if let t = q.to, q.from != nil {
            let never = "(never reached \(t.text)\(q.within.map { " within \($0.text)" } ?? ""))"
            rows.append([.text(never), .int(a.neverReached), .percent(Double(a.neverReached) / Double(total)), .null])
        }
        var notes = filterNotes
        notes.append("\(a.started.grouped) customers; consecutive repeats \(q.keepRepeats ? "kept" : "collapsed"); shown by \(q.show.rawValue)")
        if let w = q.within {
            let hasFrom = q.from != nil, hasTo = q.to != nil
            notes.append(hasFrom && hasTo ? "window: B at most \(w.text) after A"
                         : hasTo ? "window: the \(w.text) before B" : "window: the \(w.text) from the path's start")
        }
        return [ResultTable(title: "paths", columns: ["path", "customers", "share", "median duration"], rows: rows, notes: notes,
                            chart: .pathTree(label: 0, value: 1))]
    }
}
