import JourneyCore
import JourneyPlanner

/// What any backend computes for `count`: per group present, the distinct customers (or accounts) and the
/// events; the distinct units over all groups; and, for a filtered count without groups, the store's total.
public struct CountAggregate: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        /// The label; two fields' pair as "a\tb".
        public var label: String
        public var units: Int
        public var events: Int
        public init(label: String, units: Int, events: Int) { self.label = label; self.units = units; self.events = events }
    }
    public var groups: [Group]
    /// Distinct customers (accounts) counted in any group.
    public var totalUnits: Int
    /// A filtered count without groups: all customers (accounts, events) in the store, for its share.
    public var storeTotal: Int?
    public init(groups: [Group], totalUnits: Int, storeTotal: Int? = nil) {
        self.groups = groups; self.totalUnits = totalUnits; self.storeTotal = storeTotal
    }
}

extension ResultBuilder {
    public static func count(_ q: QueryPlan.Count, _ a: CountAggregate, filterNotes: [String]) -> [ResultTable] {
        let unit = q.unit.rawValue, by = q.by
        let pairs = by?.also != nil
        let monthly = by?.isMonths == true && !pairs
        let allEvents = a.groups.reduce(0) { $0 + $1.events }
        func value(_ g: CountAggregate.Group) -> Int { q.unit == .events ? g.events : g.units }
        var shown: [CountAggregate.Group?] = a.groups.sorted { value($0) != value($1) ? value($0) > value($1) : $0.label < $1.label }
        var labels = shown.map { $0!.label }
        if monthly {
            // Time order, months without any shown as 0.
            let byName = Dictionary(a.groups.map { ($0.label, $0) }, uniquingKeysWith: { x, _ in x })
            labels = monthsInOrder(labels)
            shown = labels.map { byName[$0] }
        }
        var rows: [[Value]] = zip(shown, labels).map { g, k in
            guard let g else { return [.text(k), .int(0), .percent(0)] }
            let label: [Value] = by == nil ? [] : pairs ? k.split(separator: "\t", omittingEmptySubsequences: false).map { .text(String($0)) } : [.text(k)]
            return label + [.int(value(g)),
                            .percent(q.unit == .events ? Double(g.events) / Double(max(allEvents, 1)) : Double(g.units) / Double(max(a.totalUnits, 1)))]
        }
        var notes = filterNotes
        if by == nil, let all = a.storeTotal, case .int(let n)? = rows.first?.first {
            // Without groups a filtered count's share is of the whole store (not a constant 100%).
            rows[0][1] = .percent(all > 0 ? Double(n) / Double(all) : .nan)
            notes.append("share = of all \(all.grouped) \(unit) in the store")
        }
        if let top = q.top, rows.count > top {
            notes.append("the \(top) largest of \(rows.count) groups shown (\(by?.isMonths == true ? "the first months" : "top \(top)"))")
            rows = Array(rows.prefix(top))
        }
        if let by, by.isEventField || by.also?.isEventField == true, q.unit != .events {
            notes.append("a \(unit.dropLast()) counts under every \(by.display) it has an event with; shares can add up to more than 100%")
        }
        let groupColumns = by.map { [$0.display] + ($0.also.map { [$0.display] } ?? []) } ?? []
        if pairs { notes.append("groups are pairs of \(groupColumns.joined(separator: " and ")); share = of all counted \(unit)") }
        return [ResultTable(title: "count \(unit)", columns: groupColumns + [unit, "share"], rows: rows, notes: notes,
                            chart: by == nil || pairs ? nil : monthly ? .columns(label: 0, value: 1) : .bars(label: 0, value: 1))]
    }
}
