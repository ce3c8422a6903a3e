import JourneyCore
import JourneyPlanner
import JourneyResults

extension Executor {
    public func forecast(_ q: QueryPlan.Forecast) throws -> [ResultTable] { [] }
}
