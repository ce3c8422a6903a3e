import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    /// `leads [by DIM] [mql S] [sql S] [won S]`: per customer its first event passing the filter (the group of an
    /// event field), the latest stage it reached and the sum of its values, in one pass.
    public func leads(_ q: QueryPlan.Leads) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        let grouping = try q.by.map(grouping)
        let dim = grouping?.events, dense = grouping?.denseValues
        let groupCount = dim?.bound ?? dense?.names.count ?? 1
        var tally = [LeadsAggregate.Group](repeating: .init(label: "", leads: 0, mql: 0, sql: 0, won: 0, revenue: 0), count: groupCount)
        let tables = StepTest.Tables()
        defer { withExtendedLifetime(tables) {} }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                var first = -1, stage: UInt8 = 0, value = 0.0
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    if let f = eventFilter, !f.matches(v, i) { continue }
                    if first < 0 { first = i }
                    stage = max(stage, v.stages[i])
                    let x = v.values[i]
                    if !x.isNaN { value += x }
                }
                guard first >= 0 else { continue }
                let g = dim.map { Int($0.code(v, first)) } ?? dense?.codes[c] ?? 0
                tally[g].leads += 1; tally[g].revenue += value
                if stage >= q.mql { tally[g].mql += 1 }
                if stage >= q.sql { tally[g].sql += 1 }
                if stage >= q.won { tally[g].won += 1 }
            }
        }
        let names = dim.map { d in (0..<groupCount).map { d.name($0) } } ?? dense?.names ?? ["all"]
        for g in 0..<groupCount { tally[g].label = names[g] }
        return ResultBuilder.leads(q, LeadsAggregate(groups: tally), filterNotes: filter.description)
    }
}
