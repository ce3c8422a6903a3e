import JourneyCore
import JourneyPlanner

/// What any backend computes for `compare`: per side its customers, the converted, the times to convert, the
/// revenue and touches, and its customers per touchpoint (event name).
public struct CompareAggregate: Sendable, Equatable {
    public struct Side: Sendable, Equatable {
        public var customers = 0, converted = 0, touches = 0
        public var revenue = 0.0
        public var toConvert: [Double] = []
        public var byTouchpoint: [String: Int] = [:]
        public init() {}
    }
    public var sides: [Side]
    public init(sides: [Side]) { self.sides = sides }
}

extension ResultBuilder {
    public static func compare(_ q: QueryPlan.Compare, _ a: CompareAggregate, filterNotes: [String]) -> [ResultTable] {
        let (l, r) = (a.sides[0], a.sides[1])
        func per(_ x: Double, _ n: Int) -> Double? { n == 0 ? nil : x / Double(n) }
        func top(_ s: CompareAggregate.Side) -> Value {
            guard let best = s.byTouchpoint.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }) else { return .null }
            return .text("\(best.key) (\(Int((Double(best.value) * 100 / Double(max(s.customers, 1))).rounded()))%)")
        }
        func median(_ s: CompareAggregate.Side) -> Double? { s.toConvert.isEmpty ? nil : quantile(s.toConvert.sorted(), 0.5) }
        let test = RateTest.pValue(l.converted, l.customers, r.converted, r.customers)
        func row(_ name: String, _ x: Double?, _ y: Double?, _ cell: (Double) -> Value, p: Value = .null) -> [Value] {
            [.text(name), x.map(cell) ?? .null, y.map(cell) ?? .null, x.flatMap { x in y.map { cell($0 - x) } } ?? .null, p]
        }
        let rows: [[Value]] = [
            row("members", Double(l.customers), Double(r.customers), { .int(Int($0)) }),
            row("converted", Double(l.converted), Double(r.converted), { .int(Int($0)) }),
            row("conversion rate", per(Double(l.converted), l.customers), per(Double(r.converted), r.customers), { .percent($0) },
                p: test.map { .text($0.p < 0.0001 ? "< 0.0001" : String(format: "%.4f", $0.p)) } ?? .null),
            row("median time to convert", median(l), median(r), { .duration($0) }),
            row("revenue per member", per(l.revenue, l.customers), per(r.revenue, r.customers), { .money($0) }),
            row("touches per member", per(Double(l.touches), l.customers), per(Double(r.touches), r.customers), { .double($0) }),
            [.text("top touchpoint (share of members)"), top(l), top(r), .null, .null],
        ]
        var notes = ["members = the customers each side's condition holds for (the two sides may share some); converted = an event at \(q.wonName) or a later stage; time to convert from a member's first event to the first such event",
                     "difference = \(q.texts[1]) − \(q.texts[0])"]
        if let test {
            notes.append("p-value of the conversion rates (\(test.test), two-sided): \(test.p < 0.05 ? "below 0.05 — unlikely to be chance alone" : "0.05 or more — could be chance")")
        }
        return [ResultTable(title: "compare \(q.texts[0]) with \(q.texts[1])", columns: ["measure", q.texts[0], q.texts[1], "difference", "p-value"],
                            rows: rows, notes: notes + filterNotes)]
    }
}
