import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    /// Runs a plan on the native engine; `keys` names the customers (or accounts) a list shows.
    public func run(_ plan: QueryPlan, keys: @escaping ([Int64]) throws -> [String] = { $0.map(String.init) }) throws -> [ResultTable] {
        switch plan {
        case .stats(let q): return try stats(q)
        case .funnel(let q): return try funnel(q)
        case .paths(let q): return try paths(q)
        case .time(let q): return try time(q)
        case .dropoff(let q): return try dropoff(q)
        case .count(let q): return try count(q)
        case .revenue(let q): return try revenue(q)
        case .leads(let q): return try leads(q)
        case .compare(let q): return try compare(q)
        case .profile(let q): return try profile(q)
        case .value(let q): return try value(q, keys: keys)
        case .score(let q): return try score(q, keys: keys)
        case .forecast(let q): return try forecast(q)
        case .top(let q): return try top(q)
        case .customers(let q): return try customers(q, keys: keys)
        case .attribution(let q): return try attribution(q)
        case .touchpoints(let q): return try touchpoints(q)
        case .gaps(let q): return try gaps(q)
        case .retention(let q): return try retention(q)
        case .pauses(let q): return try pauses(q, keys: keys)
        case .matching(let q): return q.count ? try countMatching(q) : try customersMatching(q, keys: keys)
        case .accounts(let inner):
            // Account level: the statement over each account's merged journey, worded for accounts.
            return Self.asAccounts(try accountLevel().run(inner, keys: keys))
        case .quality, .explain, .explainSQL, .set: return []
        }
    }

    /// Plans a parsed statement against this data's catalog and runs it (tests and tools that hold no session).
    public func run(_ st: Statement, keys: @escaping ([Int64]) throws -> [String] = { $0.map(String.init) }) throws -> [ResultTable] {
        try run(try Planner.plan(st, catalog: catalog), keys: keys)
    }

    /// How the native engine runs a plan, in words (explain's physical part): the objects the run builds,
    /// described — the compiled step tests, the scan chosen, the pruning and what it leaves to read.
    public func physical(_ plan: QueryPlan) throws -> [(String, String)] {
        var rows: [(String, String)] = []
        let cores = scanPartCount
        func scanned(_ customers: Int, _ events: Int) {
            rows.append(("scanned", "\(customers.grouped) of \(seq.customerCount.grouped) customers, \(events.grouped) of \(seq.eventCount.grouped) events"))
        }
        /// Customers and events a plain scan reads: those the journey-level filter keeps.
        func filtered(_ f: BoundFilter) throws {
            let j = try compile(f).journeys
            var cs = 0, es = 0
            for c in 0..<seq.customerCount where j?[c] ?? true { cs += 1; es += Int(seq.offsets[c + 1] - seq.offsets[c]) }
            scanned(cs, es)
        }
        switch plan {
        case .funnel(let q) where q.unit == .accounts:
            var perAccount = q
            perAccount.unit = .customers
            return try accountLevel().physical(.funnel(perAccount))
        case .funnel(let q):
            let native = try compile(q)
            for (k, t) in native.compiled.tests.enumerated() { rows.append(("matcher \(k + 1)", t.explain(catalog))) }
            let how = native.tight
                ? "the tight scan: one table lookup per event" + (q.entry == .best ? ", every entry followed at once (per step the latest start, as ClickHouse's windowFunnel)" : ", from the first entry")
                : "the general matcher (for exclusions, same, optional steps, per-step windows, strictly later or another order): "
                    + (q.entry == .best && q.order == .sequential
                        ? "every entry's chain found by lookups (per step the next matching event), linear in the events, for journeys of \(FunnelMatcher.indexedFrom) events or more (shorter ones: each entry followed forward)"
                        : q.entry == .best
                        ? "entries tried from the latest back, each only when the steps in its window could beat the best found (journeys of \(FunnelMatcher.indexedFrom) events or more)"
                        : "the entry is followed forward")
                    + (q.ties == .together ? ", over each customer's events with ties in step order" : "")
            rows.append(("scan", "\(how); no backtracking; customers split over \(cores) core\(cores == 1 ? "" : "s")"))
            let p = native.scanned(data)
            let pruning = p.how == "none" ? "none for this entry step (a compound step, an event filter, or a step on another column)"
                : "\(p.how): customers without an event the entry step could match are skipped unread"
            rows.append(("pruning", pruning + "; journey-level filters skip customers before their events are read"))
            scanned(p.customers, p.events)
        case .paths(let q):
            let native = try compile(q)
            let p = pathsScanned(native)
            if p.pruned {
                let ends = [q.from, q.to].compactMap { $0 }.map(\.text).joined(separator: " or ")
                rows.append(("pruning", "customers without \(ends) are skipped unread (presence signatures per customer)"))
            } else {
                rows.append(("pruning", "none (no from or to, an event filter, or a compound step)"))
            }
            rows.append(("scan", "keys built \(q.show == .event ? "from event codes" : "from \(q.show.rawValue) codes") per customer; customers split over \(cores) core\(cores == 1 ? "" : "s")"))
            scanned(p.customers, p.events)
        case .matching(let q):
            let scan = try matchScanned(q)
            rows.append(("matcher", scan.matcher.description + "; time linear in the events (no backtracking)"))
            rows.append(("pruning", scan.matcher.requiredText.isEmpty ? "none: the pattern has no step every match needs"
                : "customers without \(scan.matcher.requiredText.count == 1 ? "this step" : "all of these steps") are skipped after one pass: " + scan.matcher.requiredText.joined(separator: "; ")))
            rows.append(("scanned", "\(scan.customers.grouped) of \(seq.customerCount.grouped) customers run through the automaton, \(scan.events.grouped) of \(seq.eventCount.grouped) events"))
        case .accounts(let inner):
            return try accountLevel().physical(inner)
        case .explain(let inner), .explainSQL(let inner):
            return try physical(inner)
        case .quality, .set:
            return []
        case .value, .score, .forecast:
            rows.append(("scan", "each customer's events read once; then the model (docs/semantics.md) over per-customer arrays"))
            try filtered(plan.filter ?? BoundFilter())
        case .revenue, .leads, .compare, .profile:
            // One pass over the customers on the calling thread; what each keeps of its events.
            let keeps: String
            switch plan {
            case .revenue: keeps = "a group's customers and buyers counted by remembering the last customer seen there"
            case .leads: keeps = "its first touch, the latest stage it reached, the sum of its values"
            case .compare: keeps = "(either side's) first event, first conversion, touches, values, touchpoints"
            default: keeps = "until its first conversion; then each attribute read once"
            }
            rows.append(("scan", "each customer's events read once: " + keeps))
            try filtered(plan.filter ?? BoundFilter())
        case .stats, .time, .dropoff, .count, .top, .pauses, .customers, .attribution, .touchpoints, .gaps, .retention:
            rows.append(("scan", "each customer's events read once in time order; customers split over \(cores) core\(cores == 1 ? "" : "s")"))
            try filtered(plan.filter ?? BoundFilter())
        }
        let bytes = seq.byteSize
        let size = bytes >= 1_048_576 ? "\((bytes / 1_048_576).grouped) MiB" : "\((bytes / 1024).grouped) KiB"
        rows.append(("data", "\(seq.customerCount.grouped) customers, \(seq.eventCount.grouped) events in memory (\(size) packed)"))
        return rows
    }
}
