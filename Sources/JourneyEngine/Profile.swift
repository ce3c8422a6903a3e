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
            // Counted by code (a value table per attribute), not by string.
            let (names, codes) = try data.attributes.attributeCodes(a.name, account: a.scope == .account, for: seq.customerIDs)
            var members = [Int](repeating: 0, count: names.count), wins = members
            for c in 0..<seq.customerCount where member[c] {
                let k = Int(codes[c])
                members[k] += 1
                if converted[c] { wins[k] += 1 }
            }
            let name = "\(a.scope.rawValue).\(a.name)"
            for k in names.indices where members[k] > 0 {
                guard let value = names[k] else { continue }
                values.append(.init(attribute: name, value: value, members: members[k], converted: wins[k]))
            }
        }
        return ResultBuilder.profile(q, ProfileAggregate(members: member.filter { $0 }.count, converted: converted.filter { $0 }.count, values: values),
                                     filterNotes: filter.description)
    }
}
