import JourneyCore
import JourneyLanguage
@testable import JourneyEngine
import JourneyPlanner

/// Attributes for tests whose journeys have none: no customer or account attribute, no account.
struct EmptyAttributes: AttributeSource {
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accounts(for ids: [Int64]) throws -> [Int64] { ids.map { _ in 0 } }
}

/// The tests' random numbers: a 64-bit LCG (Knuth's MMIX constants), the same sequence on every machine.
struct TestRandom {
    var seed: UInt64
    init(seed: UInt64) { self.seed = seed }
    /// Uniform in 0..<n.
    mutating func next(_ n: Int) -> Int {
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        return Int((seed >> 33) % UInt64(max(n, 1)))
    }
}

/// How the tests' plain reference implementations bind: as a statement does, the planner's binder, then the
/// native engine's compile.
struct EngineBinder {
    var binder: JourneyPlanner.Binder
    var data: JourneyData?
    init(catalog: Catalog) { binder = JourneyPlanner.Binder(catalog: catalog) }
    mutating func bindFilter(_ e: Expr?, data: JourneyData) throws -> CompiledFilter {
        self.data = data
        return try Executor(data: data).compile(try binder.bindFilter(e))
    }
    mutating func bindEvent(_ e: Expr) throws -> BoundPredicate {
        let bound = try binder.bindEvent(e)
        return try Executor(data: data ?? JourneyData(sequences: PackedSequences(), catalog: binder.catalog, attributes: EmptyAttributes())).compile(bound)
    }
}

extension Executor {
    /// The event field a reference implementation groups by, if `d` names one (else a customer attribute).
    static func eventDimension(_ d: Breakdown) -> PathShow? {
        d.field.scope == nil && !d.month ? PathShow(rawValue: d.field.name.lowercased()) : nil
    }
    /// A customer or account attribute per customer, as a reference implementation reads it.
    func attributeColumn(_ d: Breakdown) throws -> [String] {
        try attributeColumn(AttributeRef(scope: d.field.scope == "account" ? .account : .customer, name: d.field.name), month: d.month)
    }
}
