import JourneyCore
import JourneyPlanner

/// What any backend computes for `stats`: the store's sizes and, per customer, per account and per converting
/// account (to its first conversion), touches, distinct channels and days.
public struct StatsAggregate: Sendable, Equatable {
    public var customers: Int, events: Int
    public var touches: [Double], channels: [Double], days: [Double]
    public var accountTouches: [Double], accountChannels: [Double], accountDays: [Double]
    public var convTouches: [Double], convChannels: [Double], convDays: [Double]
    public init(customers: Int, events: Int, touches: [Double], channels: [Double], days: [Double],
                accountTouches: [Double], accountChannels: [Double], accountDays: [Double],
                convTouches: [Double], convChannels: [Double], convDays: [Double]) {
        self.customers = customers; self.events = events; self.touches = touches; self.channels = channels; self.days = days
        self.accountTouches = accountTouches; self.accountChannels = accountChannels; self.accountDays = accountDays
        self.convTouches = convTouches; self.convChannels = convChannels; self.convDays = convDays
    }
}

extension ResultBuilder {
    public static func stats(_ a: StatsAggregate, filterNotes: [String]) -> [ResultTable] {
        func row(_ name: String, _ xs: [Double]) -> [Value] {
            // Summed in sorted order, so every backend's list (whatever order it comes in) gives the same mean.
            var s = zip(xs, xs.dropFirst()).allSatisfy({ $0 <= $1 }) ? xs : radixSorted(xs)
            let mean = s.isEmpty ? Double.nan : s.reduce(0, +) / Double(s.count)
            return [.text(name), .double(mean), .double(quantile(selecting: &s, 0.5))]
        }
        let size = ResultTable(title: "store", columns: ["measure", "count"], rows: [
            [.text("customers"), .int(a.customers)], [.text("accounts (people without one count alone)"), .int(a.accountTouches.count)],
            [.text("events"), .int(a.events)], [.text("converting accounts"), .int(a.convTouches.count)]], notes: filterNotes)
        let per = ResultTable(title: "per journey", columns: ["measure", "mean", "median"], rows: [
            row("touches per customer", a.touches), row("channels per customer", a.channels), row("days per customer (first to last touch)", a.days),
            row("touches per account", a.accountTouches), row("channels per account", a.accountChannels), row("days per account", a.accountDays),
            row("touches per converting account, to conversion", a.convTouches), row("channels per converting account, to conversion", a.convChannels),
            row("days per converting account, first touch to conversion", a.convDays)],
            notes: ["a converting account's journey runs from its first touch (any of its people) to its first conversion-stage event"])
        return [size, per]
    }
}
