import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner

/// What any backend computes for a funnel, before it is a table: per group, the customers (or accounts) that
/// reached each step and the step-to-step times of those who did (in milliseconds; for step 0 nothing).
public struct FunnelAggregate: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var reached: [Int]
        public var gaps: [[Double]]
        public init(steps n: Int) { reached = [Int](repeating: 0, count: n); gaps = [[Double]](repeating: [], count: n) }
        public init(reached: [Int], gaps: [[Double]]) { self.reached = reached; self.gaps = gaps }
        /// Adds another group (customers are in one group only, so counts add up and times join).
        public mutating func add(_ o: Group) {
            for k in reached.indices { reached[k] += o.reached[k]; gaps[k] += o.gaps[k] }
        }
    }
    /// Without `by`: one group under the key "". With `by`: one group per label.
    public var groups: [String: Group]
    public init(groups: [String: Group]) { self.groups = groups }
}

/// Turns backends' aggregates into the tables, notes and chart hints every backend shows alike.
public enum ResultBuilder {
    public static func funnel(_ q: QueryPlan.Funnel, _ a: FunnelAggregate, filterNotes: [String]) -> [ResultTable] {
        let n = q.steps.count
        // "Previous" and "next" skip optional steps: an optional step is a detour, not a stage everyone passes.
        let optional = q.steps.map(\.optional)
        func previousRequired(_ k: Int) -> Int { var p = k - 1; while p > 0 && optional[p] { p -= 1 }; return p }
        func nextRequired(_ k: Int) -> Int? { var p = k + 1; while p < n && optional[p] { p += 1 }; return p < n ? p : nil }
        func rows(_ g: FunnelAggregate.Group, group: String?) -> [[Value]] {
            let cnt = g.reached
            return (0..<n).map { k in
                var times = g.gaps[k]
                var r: [Value] = []
                if let group { r.append(.text(group)) }
                let p = previousRequired(k)
                let dropped: Value = optional[k] ? .null : nextRequired(k).map { .int(cnt[k] - cnt[$0]) } ?? .int(0)
                r += [.text("\(k + 1). \(q.steps[k].text)\(optional[k] ? " (optional)" : "")"), .int(cnt[k]),
                      .percent(cnt[0] > 0 ? Double(cnt[k]) / Double(cnt[0]) : .nan),
                      .percent(k == 0 ? (cnt[0] > 0 ? 1 : .nan) : (cnt[p] > 0 ? Double(cnt[k]) / Double(cnt[p]) : .nan)),
                      dropped,
                      k == 0 || times.isEmpty ? .null : .duration(quantile(selecting: &times, 0.5)),
                      k == 0 || times.isEmpty ? .null : .duration(quantile(selecting: &times, 0.9))]
                return r
            }
        }
        let unitName = q.unit.rawValue
        var notes: [String] = []
        if let w = q.within { notes.append("window: \(w.text) from the entry (\(q.entry == .first ? "the first" : "the best") \(q.order == .any ? "event of any step" : q.steps[0].text))") }
        if q.order == .any { notes.append("order any: step k counts \(unitName) who did steps 1 to k in any order") }
        switch q.ties {
        case .strictlyLater: notes.append("strictly later: each step's event comes at a later time than the previous step's")
        case .importOrder: notes.append("ties in import order: a step's event at the previous step's time counts only when it comes later in the store")
        case .together: break
        }
        if let same = q.same { notes.append("same \(same.rawValue): every step's event has the entry event's \(same.rawValue); an event without one matches none") }
        for x in q.exclusions { notes.append("excluding \(x.step.text) between step \(x.from + 1) and step \(x.to + 1): such entries are dropped") }
        notes += filterNotes
        guard let by = q.by else {
            let cols = ["step", unitName, "% of first", "% of previous", "dropped", "median time", "p90 time"]
            return [ResultTable(title: "funnel", columns: cols, rows: rows(a.groups[""] ?? .init(steps: n), group: nil), notes: notes,
                                chart: .funnel(label: 0, value: 1))]
        }
        let cols = [by.display, "step", unitName, "% of first", "% of previous", "dropped", "median time", "p90 time"]
        let entered = a.groups.filter { $0.value.reached[0] > 0 }
        // By size, the top N and "other"; months in time order, every month shown.
        let topN = by.isMonths ? Int.max : q.top ?? 10
        let ranked = by.isMonths ? monthsInOrder(Array(entered.keys))
            : entered.sorted { $0.value.reached[0] != $1.value.reached[0] ? $0.value.reached[0] > $1.value.reached[0] : $0.key < $1.key }.map(\.key)
        var out: [[Value]] = []
        for g in ranked.prefix(topN) { out += rows(entered[g] ?? .init(steps: n), group: g) }
        if ranked.count > topN {
            var other = FunnelAggregate.Group(steps: n)
            for r in ranked.dropFirst(topN) { if let g = entered[r] { other.add(g) } }
            out += rows(other, group: "other")
        }
        if by.isEventField { notes.append("each \(unitName.dropLast()) is counted under the \(by.display) of the event that matched step \(q.groupStep + 1)") }
        return [ResultTable(title: "funnel by \(by.display)", columns: cols, rows: out, notes: notes,
                            chart: .groupedFunnel(group: 0, step: 1, value: 2))]
    }

    /// The groups of a `by month(…)` in time order with every month between the first and the last (those
    /// without customers too), then any group that is not a month ("(none)").
    public static func monthsInOrder(_ labels: [String]) -> [String] {
        func index(_ s: String) -> Int? {
            let parts = s.split(separator: "-")
            guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let y = Int(parts[0]), let m = Int(parts[1]), (1...12).contains(m) else { return nil }
            return y * 12 + m - 1
        }
        let months = labels.compactMap(index)
        let rest = labels.filter { index($0) == nil }.sorted()
        guard let lo = months.min(), let hi = months.max() else { return rest }
        return (lo...hi).map { String(format: "%04d-%02d", $0 / 12, $0 % 12 + 1) } + rest
    }
}
