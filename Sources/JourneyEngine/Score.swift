import JourneyCore
import JourneyPlanner
import JourneyResults

extension Executor {
    public func score(_ q: QueryPlan.Score, keys: ([Int64]) throws -> [String]) throws -> [ResultTable] { [] }
}
