import Foundation
import JourneyCore
import JourneyStore
import JourneyLanguage
import JourneyEngine

/// Adapts the store to the engine's attribute reads. One per loaded journeys (dropped with them after an import):
/// the customers' accounts, asked for by every `count accounts`, are read once and kept.
final class StoreAttributes: AttributeSource, @unchecked Sendable {
    let store: Store
    private var accountsOfLoaded: (ids: [Int64], accounts: [Int64])?
    private let lock = NSLock()
    /// Customer attributes already read, as a value table and a code per customer (4 bytes each, not a string).
    private var attributesOfLoaded: [String: (ids: [Int64], values: [String?], codes: [Int32])] = [:]
    init(store: Store) { self.store = store }
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] {
        lock.lock(); defer { lock.unlock() }
        if let kept = attributesOfLoaded[name], kept.ids == ids { return kept.codes.map { kept.values[Int($0)] } }
        let read = try store.customerAttribute(name, for: ids)
        var values: [String?] = [], index: [String?: Int32] = [:]
        let codes = read.map { v -> Int32 in
            if let k = index[v] { return k }
            let k = Int32(values.count); index[v] = k; values.append(v); return k
        }
        // Kept only when the values repeat (a segment, a country), not for keys that are unique per customer.
        if values.count * 4 < max(ids.count, 64) { attributesOfLoaded[name] = (ids, values, codes) }
        return read
    }
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { try store.accountAttribute(name, for: ids) }
    func accounts(for ids: [Int64]) throws -> [Int64] {
        lock.lock(); defer { lock.unlock() }
        if let kept = accountsOfLoaded, kept.ids == ids { return kept.accounts }
        let a = try store.accounts(for: ids)
        accountsOfLoaded = (ids, a)
        return a
    }
}

/// One analyst's session over one store: the API the shell, the batch runner and reports share.
public final class Session {
    public private(set) var store: Store
    public var params: [String: Literal] = [:]
    /// Parameters given on the command line (`--param`): a script's `set` of the same name is its default and
    /// does not override them.
    public var pinned: Set<String> = []
    /// Statements that ran without error, for `.save`.
    public private(set) var history: [String] = []
    private var cached: JourneyData?
    public var isCancelled: () -> Bool = { false }

    public init(store: Store) { self.store = store }

    public func open(_ path: String) throws {
        store = try Store(path: path)
        cached = nil
    }

    /// Drops the in-memory journeys (after an import).
    public func invalidate() { cached = nil }

    /// The journeys in memory; device and source columns only once a statement names them.
    public func data(devicesAndSources: Bool = false) throws -> JourneyData {
        if let cached, !devicesAndSources || !cached.sequences.devices.isEmpty || cached.sequences.eventCount == 0 { return cached }
        let d = JourneyData(sequences: try store.loadSequences(devicesAndSources: devicesAndSources), catalog: try store.catalog(),
                            attributes: StoreAttributes(store: store))
        cached = d
        if ProcessInfo.processInfo.environment["JOURNEY_TRACE"] != nil,
           let proc = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            let lines = proc.split(separator: "\n").filter { $0.hasPrefix("VmRSS") || $0.hasPrefix("VmHWM") || $0.hasPrefix("RssAnon") || $0.hasPrefix("RssFile") }
            FileHandle.standardError.write(Data(("loaded \(d.sequences.eventCount) events, \(d.sequences.byteSize) bytes packed; " + lines.joined(separator: "; ") + "\n").utf8))
        }
        return d
    }

    /// The welcome line's figures.
    public func describeStore() -> String {
        guard let s = try? store.summary() else { return store.path }
        let range = s.first.map { "\(UTC.format(ms: $0, dateOnly: true)) … \(UTC.format(ms: s.last ?? $0, dateOnly: true))" } ?? "no events yet"
        return "\(store.path): \(s.customers.grouped) customers, \(s.accounts.grouped) accounts, \(s.events.grouped) events, \(range)"
    }

    /// Parses and runs one or more statements; returns their tables. Errors are `Diagnostic` (with source range) or `StoreError`.
    public func run(_ text: String) throws -> [ResultTable] {
        var parser = Parser(text, params: params)
        let statements = try parser.parseScript()
        var out: [ResultTable] = []
        for st in statements { out += try execute(st) }
        history.append(text.trimmingCharacters(in: .whitespacesAndNewlines))
        return out
    }

    func execute(_ st: Statement) throws -> [ResultTable] {
        let fields = st.fieldNames
        if !fields.isDisjoint(with: ["device", "source"]) { _ = try data(devicesAndSources: true) }
        // Free properties named by the statement: load each once, aligned with the journeys.
        let known: Set<String> = ["event", "channel", "stage", "kind", "campaign", "device", "source", "value", "first_contact"]
        for name in fields.subtracting(known) where cached?.sequences.properties[name] == nil {
            var d = try data()
            guard d.catalog.properties.contains(name) else { continue }
            d.sequences.properties[name] = try store.loadProperty(name)
            cached = d
        }
        switch st {
        case .set(let name, let value):
            if !pinned.contains(name) { params[name] = value }
            return []
        case .quality:
            return [try store.quality()]
        case .explain(let inner):
            return [try explain(inner)]
        case .accounts(let inner):
            // Account level: the statement over each account's merged journey, worded for accounts.
            var ex = Executor(data: try data())
            ex.isCancelled = isCancelled
            let accounts = try ex.accountLevel()
            var binder = Binder(catalog: accounts.data.catalog)
            binder.propertyColumns = accounts.data.sequences.properties
            return Executor.asAccounts(try run(inner, accounts, &binder, keys: { try self.store.accountKeys(forCustomers: $0) }))
        default:
            let data = try data()
            var binder = Binder(catalog: data.catalog)
            binder.propertyColumns = data.sequences.properties
            var ex = Executor(data: data)
            ex.isCancelled = isCancelled
            return try run(st, ex, &binder, keys: { try self.store.customerKeys(for: $0) })
        }
    }

    /// Runs a statement on an executor; `keys` names the customers (or accounts) a list shows.
    func run(_ st: Statement, _ ex: Executor, _ binder: inout Binder, keys: @escaping ([Int64]) throws -> [String]) throws -> [ResultTable] {
            switch st {
            case .stats(let f): return try ex.stats(filter: f, binder: &binder)
            case .funnel(let q): return try ex.funnel(q, binder: &binder)
            case .paths(let q): return try ex.paths(q, binder: &binder)
            case .time(let a, let b, let by, let f): return try ex.time(from: a, to: b, by: by, filter: f, binder: &binder)
            case .dropoff(let a, let n, let f): return try ex.dropoff(after: a, next: n, filter: f, binder: &binder)
            case .count(let unit, let by, let f, let top): return try ex.count(unit: unit, by: by, filter: f, top: top, binder: &binder)
            case .top(let what, let n, let f, let campaign): return try ex.top(what, n: n, campaign: campaign, filter: f, binder: &binder)
            case .customers(let q):
                return try ex.customers(q, binder: &binder, keys: keys)
            case .attribution(let q): return try ex.attribution(q, binder: &binder)
            case .touchpoints(let q): return try ex.touchpoints(q, binder: &binder)
            case .matching(let q):
                if q.count { return try ex.countMatching(q, binder: &binder) }
                return try ex.customersMatching(q, binder: &binder, keys: keys)
            case .gaps(let q): return try ex.gaps(q, binder: &binder)
            case .retention(let q): return try ex.retention(q, binder: &binder)
            case .pauses(let d, let which, let f, let limit):
                return try ex.pauses(longer: d, which: which, filter: f, limit: limit, binder: &binder, keys: keys)
            default: return []
            }
    }

    static func modelWords(_ q: AttributionQuery) -> String {
        switch q.model {
        case "first": return "the first touchpoint gets the whole conversion"
        case "last": return "the last touchpoint before the conversion gets it all"
        case "linear": return "each touchpoint gets an equal share"
        case "time_decay": return "each touchpoint's share halves for every \(q.halfLife?.text ?? "7d") it lies before the conversion"
        case "position":
            let p = q.position ?? [40, 20, 40]
            return "the first touchpoint gets \(p[0])%, the last \(p[2])%, the ones between share \(p[1])%"
        case "markov": return "a Markov chain of order \(q.order ?? 1) over all journeys (converting or not); each \(q.by?.field.display ?? "channel") is credited by how much the conversion probability drops when it is removed"
        case "shapley": return "Shapley values: each \(q.by?.field.display ?? "channel") gets its average marginal contribution to the conversions over all orders in which the \(q.by?.field.display ?? "channel")s could join"
        default: return "first, last, linear, time_decay, position, markov and shapley side by side"
        }
    }

    /// Which tie rule ran, in words (explain).
    static func tieWords(_ t: TieRule) -> String {
        switch t {
        case .together: return "ties together (the default, as ClickHouse's windowFunnel): events at one time are taken in step order, wherever they stand in the file; an event matches one step at most"
        case .importOrder: return "ties in import order: a step's event at the previous step's time counts only when it comes later in the store"
        case .strictlyLater: return "strictly later (as windowFunnel's strict_increase): each step's event comes at a later time than the previous step's"
        }
    }

    /// The plan in plain words: what is computed, how each name was read, which filters are event- or journey-level.
    func explain(_ st: Statement) throws -> ResultTable {
        if case .accounts(let inner) = st {
            // The same plan over account journeys: say so first.
            var t = try explain(inner)
            t.rows.insert([.text("level"), .text("accounts: each account's journey is all its people's events merged in time order (people without an account count alone); the statement runs over those journeys and counts accounts")], at: 0)
            return Executor.asAccounts([t])[0]
        }
        let data = try data()
        var binder = Binder(catalog: data.catalog)
        var rows: [[Value]] = []
        func add(_ k: String, _ v: String) { rows.append([.text(k), .text(v)]) }
        switch st {
        case .funnel(let q):
            add("statement", "funnel of \(q.steps.count) steps, order \(q.order.rawValue), entry \(q.entry.rawValue), counting \(q.unit.rawValue)")
            if q.unit == .accounts { add("level", "accounts: each account's journey is all its people's events merged in time order (people without an account count alone)") }
            let tables = StepTest.Tables()
            defer { withExtendedLifetime(tables) {} }   // the compiled tests point into it
            for (i, s) in q.steps.enumerated() {
                let test = StepTest(try binder.bindEvent(s.expr), tables: tables)
                add("step \(i + 1)", describe(s.expr) + (s.optional ? " (optional)" : "") + (s.within.map { " within \($0.text) of step \(i)" } ?? ""))
                add("  matcher", test.explain(data.catalog))
            }
            let cores = ProcessInfo.processInfo.activeProcessorCount > 1 && data.sequences.customerCount > 20_000 ? 2 : 1
            var b2 = Binder(catalog: data.catalog)
            b2.propertyColumns = data.sequences.properties
            let p = try Executor(data: data).funnelPruning(q, binder: &b2)
            let how = p.tight
                ? "the tight scan: one table lookup per event" + (q.entry == .best ? ", every entry followed at once (per step the latest start, as ClickHouse's windowFunnel)" : ", from the first entry")
                : "the general matcher (for exclusions, same, optional steps, per-step windows, strictly later or another order): "
                    + (q.entry == .best && q.order == .sequential
                        ? "every entry's chain found by lookups (per step the next matching event), linear in the events, for journeys of \(FunnelMatcher.indexedFrom) events or more (shorter ones: each entry followed forward)"
                        : q.entry == .best
                        ? "entries tried from the latest back, each only when the steps in its window could beat the best found (journeys of \(FunnelMatcher.indexedFrom) events or more)"
                        : "the entry is followed forward")
                    + (q.ties == .together ? ", over each customer's events with ties in step order" : "")
            add("scan", "\(how); no backtracking; customers split over \(cores) core\(cores == 1 ? "" : "s")")
            do {
                let how = p.how == "none" ? "none for this entry step (a compound step, an event filter, or a step on another column)"
                    : "\(p.how): customers without an event the entry step could match are skipped unread"
                add("pruning", how + "; journey-level filters skip customers before their events are read")
                add("scanned", "\(p.customers.grouped) of \(data.sequences.customerCount.grouped) customers, \(p.events.grouped) of \(data.sequences.eventCount.grouped) events")
            }
            add("window", q.within.map { "\($0.text) from the entry step" } ?? "none: any time after the entry")
            let entryWords = q.entry == .first ? "take the first \(describe(q.steps[0].expr))"
                : "try every \(describe(q.steps[0].expr)) as the entry (the furthest step any reaches counts, with the times of the latest entry that got that far)"
            add("ties", Self.tieWords(q.ties))
            add("in plain words", "for each customer, \(entryWords); then the first matching event of each later step after the previous one\(q.ties == .strictlyLater ? " (at a later time: events at the previous step's time are passed over)" : q.ties == .importOrder ? " (it may share the previous step's time, being later in the store's order)" : " (it may share the previous step's time, wherever it stands among the events of that time)")\(q.within.map { ", no later than \($0.text) after the entry" } ?? ""); count how many reach each step")
            let f = try binder.bindFilter(q.filter, data: data)
            for d in f.description { add("filter", d) }
            if let by = q.by {
                let isEvent: Bool
                if case .event = try Executor(data: data).grouping(by) { isEvent = true } else { isEvent = false }
                add("breakdown", "\(by.display)\(isEvent ? " of the event matching step \(by.atStep ?? 1)" : " (customer attribute)")")
            }
        case .paths(let q):
            if let f = q.from { _ = try binder.bindEvent(f) }
            if let t = q.to { _ = try binder.bindEvent(t) }
            add("statement", "paths" + (q.from.map { " from \(describe($0))" } ?? "") + (q.to.map { " to \(describe($0))" } ?? "")
                + (q.next.map { " next \($0)" } ?? "") + (q.previous.map { " previous \($0)" } ?? "") + (q.within.map { " within \($0.text)" } ?? ""))
            let start = q.from.map { "the first \(describe($0))" } ?? "the first event"
            var end = q.to.map { "the first \(describe($0))" + (q.from == nil ? "" : " after it") } ?? "the last event"
            if let w = q.within {
                if q.from != nil && q.to != nil { end += ", if it came at most \(w.text) later (else: never reached)" }
                else if q.to != nil { end += ", starting at most \(w.text) before it" } else { end += " at most \(w.text) after the start" }
            }
            let steps = q.next.map { "; only the start and the \($0) steps after it" } ?? q.previous.map { "; only the \($0) steps before the end and the end" }
                ?? "; more than \(q.maxSteps) steps shown as the first \(q.maxSteps - 1), … and the last"
            add("in plain words", "for each customer, the sequence of \(q.show.rawValue)s from \(start) to \(end); a step is \(q.show == .event ? "an" : "a") \(q.show.rawValue) with repeats \(q.keepRepeats ? "kept" : "collapsed")\(steps); the top \(q.top) sequences with their customers, share and median duration")
            let f = try binder.bindFilter(q.filter, data: data)
            for d in f.description { add("filter", d) }
            var b2 = Binder(catalog: data.catalog)
            b2.propertyColumns = data.sequences.properties
            let p = try Executor(data: data).pathsScanned(q, binder: &b2)
            if p.pruned {
                let ends = [q.from, q.to].compactMap { $0 }.map(describe).joined(separator: " or ")
                add("pruning", "customers without \(ends) are skipped unread (presence signatures per customer)")
            } else {
                add("pruning", "none (no from or to, an event filter, or a compound step)")
            }
            add("scanned", "\(p.customers.grouped) of \(data.sequences.customerCount.grouped) customers, \(p.events.grouped) of \(data.sequences.eventCount.grouped) events")
        case .attribution(let q):
            if let c = q.conversion { _ = try binder.bindEvent(c) }
            let conv = q.conversion.map(describe) ?? "stage conversion"
            let by = q.by?.field.display ?? "channel"
            add("statement", "attribution of \(conv), model \(q.model), by \(by), lookback \(q.lookback?.text ?? "90d")")
            add("in plain words", "every event matching \(conv) is a conversion; its journey is the customer's touchpoints since the previous conversion and at most \(q.lookback?.text ?? "90d") before it; "
                + Self.modelWords(q) + "; credits and the conversion's value are added up per \(by)")
            let f = try binder.bindFilter(q.filter, data: data)
            for d in f.description { add("filter", d + (d.hasPrefix("event-level") ? " (which events count as touchpoints; conversions are found among all events)" : "")) }
        case .matching(let q):
            let tables = StepTest.Tables()
            defer { withExtendedLifetime(tables) {} }   // the compiled tests point into it
            var b = binder
            let m = try PatternMatcher(q.pattern, within: q.within, tables: tables) { e in StepTest(try b.bindEvent(e), tables: tables) }
            binder = b
            add("statement", "\(q.count ? "count" : "customers") matching \(describe(q.pattern))\(q.within.map { " within \($0.text)" } ?? "")")
            add("in plain words", "each customer's events are read once, left to right, by an automaton of the pattern (juxtaposed steps are consecutive events; 'then' allows other events between; ? * + {m,n} repeat; | is either); matches do not overlap, each is the earliest-ending one after the previous" + (q.within.map { "; a match lasts at most \($0.text) from its first event to its last" } ?? ""))
            add("matcher", m.description + "; time linear in the events (no backtracking)")
            let f = try binder.bindFilter(q.filter, data: data)
            for d in f.description { add("filter", d) }
            var b2 = Binder(catalog: data.catalog)
            b2.propertyColumns = data.sequences.properties
            let scan = try Executor(data: data).matchScanned(q, binder: &b2)
            add("pruning", scan.required.isEmpty ? "none: the pattern has no step every match needs"
                : "customers without \(scan.required.count == 1 ? "this step" : "all of these steps") are skipped after one pass: " + scan.required.joined(separator: "; "))
            add("scanned", "\(scan.customers.grouped) of \(data.sequences.customerCount.grouped) customers run through the automaton, \(scan.events.grouped) of \(data.sequences.eventCount.grouped) events")
        case .retention(let q):
            _ = try binder.bindEvent(q.start)
            if let r = q.returning { _ = try binder.bindEvent(r) }
            add("statement", "retention from \(describe(q.start))\(q.returning.map { " returning \(describe($0))" } ?? "") every \(q.period), \(q.periods) periods")
            add("in plain words", "each customer's first \(describe(q.start)) puts them in a cohort (its \(q.period)\(q.by.map { ", or their \($0.display)" } ?? "")); for k = 1 … \(q.periods - 1), the share of the cohort with \(q.returning.map(describe) ?? "any event") after it in the calendar \(q.period) k \(q.period)s later (\"on\" retention, as Mixpanel and Amplitude)")
            let f = try binder.bindFilter(q.filter, data: data)
            for d in f.description { add("filter", d) }
        case .touchpoints(let q), .gaps(let q):
            if let c = q.conversion { _ = try binder.bindEvent(c) }
            let conv = q.conversion.map(describe) ?? "stage conversion"
            if case .touchpoints = st {
                add("statement", "touchpoints for \(conv) by \(q.by.rawValue)")
                add("in plain words", "for every \(q.by.rawValue): the customers whose touchpoints before their first \(conv) include it, how many of them converted, and the lift over the base conversion rate; verdicts: drives (lift ≥ +10%), neutral, appears in losing journeys (≤ −10%), too few journeys (< 30)")
            } else {
                add("statement", "gaps for \(conv)")
                add("in plain words", "touchpoints at the consideration and intent stages: how many journeys touch each, and how many end there without ever reaching \(conv); a gap ends at least 1.5× the average share")
            }
            let f = try binder.bindFilter(q.filter, data: data)
            for d in f.description { add("filter", d) }
        case .count(let unit, let by, let f, let top):
            let fields = by.map { [$0] + $0.also } ?? []
            add("statement", "count \(unit)" + (fields.isEmpty ? "" : " by " + fields.map(\.display).joined(separator: ", ")) + (top.map { " top \($0)" } ?? ""))
            let what = unit == "events" ? "the events passing the filter" : "the \(unit) with at least one event passing the filter"
            var how = ""
            if let by {
                let ex = Executor(data: data)
                let kinds = try fields.map { b -> String in
                    var one = b; one.also = []
                    if case .event = try ex.grouping(one) { return "\(b.display) (an event field: \(unit == "events" ? "each event under its value" : "counted under every value they have an event with"))" }
                    return "\(b.display) (a customer attribute: each under its value)"
                }
                how = "; grouped by " + kinds.joined(separator: " and ") + (by.also.isEmpty ? "" : ", each group a pair")
                    + (by.month ? "; months in time order, empty ones shown" : "; largest groups first")
            }
            add("in plain words", what + how + "; share = of the counted \(unit)" + (by == nil && f != nil ? " (without groups: of all \(unit) in the store)" : ""))
            let filter = try binder.bindFilter(f, data: data)
            for d in filter.description { add("filter", d) }
        case .time(let a, let b, let by, let f):
            _ = try binder.bindEvent(a); _ = try binder.bindEvent(b)
            add("statement", "time from \(describe(a)) to \(describe(b))" + (by.map { " by \($0.display)" } ?? ""))
            add("in plain words", "for each customer, the first \(describe(a)), then the first \(describe(b)) at its time or later (one at the same time counts wherever it stands in the file, as the funnel's ties); the durations' min, quartiles, p90 and max, and a histogram in day buckets")
            for d in try binder.bindFilter(f, data: data).description { add("filter", d) }
        case .dropoff(let a, let next, let f):
            _ = try binder.bindEvent(a)
            add("statement", "dropoff after \(describe(a))" + (next.map { " to \(describe($0))" } ?? ""))
            let on = next.map { "\(describe($0)) event (or, for a stage, any later stage)" } ?? "event of a later stage"
            add("in plain words", "the customers with an event \(describe(a)) and no \(on) at its time or later: how many, and where they stopped (their last touchpoint), how long ago, and whether they came back after a pause over 30 days")
            for d in try binder.bindFilter(f, data: data).description { add("filter", d) }
        case .pauses(let d, let which, let f, let limit):
            add("statement", "pauses longer than \(d.text)" + (which.map { " \($0)" } ?? "") + (limit.map { " limit \($0)" } ?? ""))
            add("in plain words", "gaps of more than \(d.text) between a customer's consecutive touches: resumed ones by the stages before and after, and open ones (no touch since, to the store's last event), the longest silent first")
            for x in try binder.bindFilter(f, data: data).description { add("filter", x) }
        case .top(let what, let n, let f, let campaign):
            let name = campaign ? "campaigns" : what.rawValue + "s"
            add("statement", "top \(n) \(name)")
            add("in plain words", "the \(n) \(name) with the most events: events, share of events, customers, and events per month over the last 12 months")
            for d in try binder.bindFilter(f, data: data).description { add("filter", d) }
        case .customers(let q):
            let conditions = q.conditions.map { c -> String in
                switch c {
                case .reached(let e, let negated): return "\(negated ? "never reached" : "reached") \(describe(e))"
                case .silentFor(let d): return "no touch for \(d.text)"
                }
            }
            for c in q.conditions { if case .reached(let e, _) = c { _ = try binder.bindEvent(e) } }
            add("statement", "customers who " + conditions.joined(separator: " and ") + " limit \(q.limit)")
            add("in plain words", "the customers for whom every condition holds (reached: any event of it, at any time; silence measured to the store's last event), the most recently active first, with their first and last touch")
            for d in try binder.bindFilter(q.filter, data: data).description { add("filter", d) }
        case .stats(let f):
            add("statement", "stats")
            add("in plain words", "per customer and per account (people without one alone): touches, distinct channels and days from first to last touch; for converting accounts up to their first conversion-stage event")
            for d in try binder.bindFilter(f, data: data).description { add("filter", d) }
        default:
            add("statement", "\(st)".prefix(200).description)
        }
        var named = Set<String>()
        for r in binder.resolutions where named.insert(r).inserted { add("name", r) }
        let bytes = data.sequences.byteSize
        let size = bytes >= 1_048_576 ? "\((bytes / 1_048_576).grouped) MiB" : "\((bytes / 1024).grouped) KiB"
        add("data", "\(data.sequences.customerCount.grouped) customers, \(data.sequences.eventCount.grouped) events in memory (\(size) packed)")
        var table = ResultTable(title: "explain", columns: ["part", "meaning"], rows: rows)
        table.wrapsText = true
        return table
    }
}

