import JourneyCore
import JourneyPlanner

/// What any backend computes for `profile`: the members (customers with an event passing the filter), the
/// converted among them, and per attribute value how many of each have it.
public struct ProfileAggregate: Sendable, Equatable {
    public struct Value: Sendable, Equatable {
        public var attribute: String, value: String, members: Int, converted: Int
        public init(attribute: String, value: String, members: Int, converted: Int) {
            self.attribute = attribute; self.value = value; self.members = members; self.converted = converted
        }
    }
    public var members: Int, converted: Int
    public var values: [Value]
    public init(members: Int, converted: Int, values: [Value]) { self.members = members; self.converted = converted; self.values = values }
}

extension ResultBuilder {
    /// The values over-represented among the converted: lift = (share of the converted with the value) / (share
    /// of all members with it), values held by at least `minimumConverted` converted members, highest lift first.
    public static func profile(_ q: QueryPlan.Profile, _ a: ProfileAggregate, filterNotes: [String]) -> [ResultTable] {
        let shown = a.values.filter { $0.converted >= QueryPlan.Profile.minimumConverted && $0.members > 0 && a.converted > 0 }
            .map { v in (v, (Double(v.converted) / Double(a.converted)) / (Double(v.members) / Double(a.members))) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : ($0.0.attribute, $0.0.value) < ($1.0.attribute, $1.0.value) }
            .prefix(20)
        let rows: [[JourneyCore.Value]] = shown.map { v, lift in
            [.text(v.attribute), .text(v.value), .int(v.converted), .percent(Double(v.converted) / Double(a.converted)),
             .percent(Double(v.members) / Double(a.members)), .percent(Double(v.converted) / Double(v.members)), .double(lift)]
        }
        let notes = ["\(a.converted.grouped) of \(a.members.grouped) customers converted (an event at \(q.wonName) or a later stage)",
                     "lift = share among the converted / share among all; above 1: over-represented among the converted; values held by fewer than \(QueryPlan.Profile.minimumConverted) converted customers are left out; the 20 highest shown"]
        return [ResultTable(title: "profile of the converted", columns: ["attribute", "value", "converted", "share of converted", "share of all", "conversion rate", "lift"],
                            rows: rows, notes: notes + filterNotes, chart: .bars(label: 1, value: 6))]
    }
}
