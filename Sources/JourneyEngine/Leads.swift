import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    /// `leads [by DIM] [mql S] [sql S] [won S]`: per customer its first event passing the filter (the group of an
    /// event field), the latest stage it reached and the sum of its values, in one pass.
    public func leads(_ q: QueryPlan.Leads) throws -> [ResultTable] {
        let pass = try GroupedPass(self, by: q.by, filter: q.filter)
        let filter = pass.filter, groupCount = pass.groupCount
        var tally = [LeadsAggregate.Group](repeating: .init(label: "", leads: 0, mql: 0, sql: 0, won: 0, revenue: 0), count: groupCount)
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                var first = -1, stage: UInt8 = 0, value = 0.0
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    if let f = pass.eventFilter, !f.matches(v, i) { continue }
                    if first < 0 { first = i }
                    stage = max(stage, v.stages[i])
                    let x = v.values[i]
                    if !x.isNaN { value += x }
                }
                guard first >= 0 else { continue }
                let g = pass.group(v, first, customer: c)
                tally[g].leads += 1; tally[g].revenue += value
                if stage >= q.mql { tally[g].mql += 1 }
                if stage >= q.sql { tally[g].sql += 1 }
                if stage >= q.won { tally[g].won += 1 }
            }
        }
        let names = pass.names
        withExtendedLifetime(pass) {}
        for g in 0..<groupCount { tally[g].label = names[g] }
        return ResultBuilder.leads(q, LeadsAggregate(groups: tally), filterNotes: filter.description)
    }
}
