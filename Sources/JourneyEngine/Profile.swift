import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    /// `profile [won S]`: which members converted (one pass), then per attribute value the members and the
    /// converted who have it (attributes read once each).
    public func profile(_ q: QueryPlan.Profile) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        let tables = StepTest.Tables()
        defer { withExtendedLifetime(tables) {} }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        var member = [Bool](repeating: false, count: seq.customerCount), converted = member
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    if let f = eventFilter, !f.matches(v, i) { continue }
                    member[c] = true
                    if v.stages[i] >= q.won { converted[c] = true; break }
                }
            }
        }
        var values: [ProfileAggregate.Value] = []
        for a in q.attributes {
            let read = a.scope == .account ? try data.attributes.accountAttribute(a.name, for: seq.customerIDs)
                                           : try data.attributes.customerAttribute(a.name, for: seq.customerIDs)
            var tally: [String: (Int, Int)] = [:]
            for c in 0..<seq.customerCount where member[c] {
                guard let value = read[c] else { continue }
                tally[value, default: (0, 0)].0 += 1
                if converted[c] { tally[value, default: (0, 0)].1 += 1 }
            }
            let name = "\(a.scope.rawValue).\(a.name)"
            values += tally.map { .init(attribute: name, value: $0.key, members: $0.value.0, converted: $0.value.1) }
        }
        return ResultBuilder.profile(q, ProfileAggregate(members: member.filter { $0 }.count, converted: converted.filter { $0 }.count, values: values),
                                     filterNotes: filter.description)
    }
}
