import Foundation
import JourneyCore
import JourneyEngine
import JourneyLanguage
import JourneyPlanner
import JourneyResults

/// Runs plans on a ClickHouse server (or cluster) that holds a pushed store: translates, sends, reads the rows
/// back into the same neutral aggregates the native engine returns, and builds the tables with the same
/// `ResultBuilder` — so answers, tables and charts are the native ones.
public final class ClickHouseBackend {
    public let client: ClickHouseClient
    public let catalog: Catalog
    /// The events are a Distributed table (a cluster).
    public let cluster: Bool

    public init(client: ClickHouseClient) throws {
        self.client = client
        let tables = try client.rows("SELECT name, engine FROM system.tables WHERE database = \(SQL.string(client.database))")
        let engines = Dictionary(tables.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }, uniquingKeysWith: { a, _ in a })
        guard engines["events"] != nil, engines["dictionary"] != nil else {
            throw ClickHouseError("the database \(client.database) on \(client.display) holds no journey store; copy one there with: journey push STORE --clickhouse \(client.url.absoluteString)?database=\(client.database)")
        }
        cluster = engines["events"] == "Distributed"
        catalog = try Self.readCatalog(client)
    }

    /// The catalog from the server's `dictionary` table, so the binder and Tab completion know its names.
    static func readCatalog(_ client: ClickHouseClient) throws -> Catalog {
        var c = Catalog()
        var fields: [String: [(Int, String)]] = [:]
        for r in try client.rows("SELECT field, code, name FROM dictionary ORDER BY field, code") where r.count == 3 {
            if let code = Int(r[1]) { fields[r[0], default: []].append((code, r[2])) }
        }
        func table(_ f: String, first: Int = 0) -> [String] {
            let list = fields[f] ?? []
            let size = max((list.map(\.0).max() ?? 0) + 1, first == 0 ? 1 : 0)
            var out = [String](repeating: "", count: size)
            for (code, name) in list where code >= 0 { out[code] = name }
            return out
        }
        c.events = table("event"); c.channels = table("channel"); c.campaigns = table("campaign")
        c.devices = table("device"); c.sources = table("source")
        c.stages = Array(table("stage").dropFirst())
        c.properties = (fields["property"] ?? []).map(\.1)
        c.customerAttributes = (fields["customer_attribute"] ?? []).map(\.1)
        c.eventCosts = [Double](repeating: 0, count: c.events.count)
        for (code, cost) in fields["event_cost"] ?? [] where code < c.eventCosts.count { c.eventCosts[code] = Double(cost) ?? 0 }
        return c
    }

    public var translator: Translator { Translator(catalog: catalog, cluster: cluster, database: client.database) }

    public func run(_ plan: QueryPlan) throws -> [ResultTable] {
        try run(plan, translator)
    }

    func run(_ plan: QueryPlan, _ t: Translator) throws -> [ResultTable] {
        switch plan {
        case .accounts(let inner):
            var at = t
            at.accountLevel = true
            return ResultBuilder.asAccounts(try run(try Translator.accountLevelPlan(inner), at))
        case .funnel(var q) where q.unit == .accounts:
            var at = t
            at.accountLevel = true; q.unit = .customers
            return ResultBuilder.asAccounts(try run(.funnel(q), at))
        case .funnel(let q):
            let sql = try t.funnel(q)
            let n = q.steps.count
            var groups: [String: FunnelAggregate.Group] = [:]
            for r in try client.rows(sql) where r.count == 1 + n + (n - 1) {
                let name = q.by.map { t.label($0, r[0]) } ?? ""
                var g = FunnelAggregate.Group(steps: n)
                for k in 0..<n { g.reached[k] = Int(r[1 + k]) ?? 0 }
                for k in 1..<max(1, n) { g.gaps[k] = Self.numbers(r[n + k]) }
                groups[name, default: .init(steps: n)].add(g)
            }
            if q.by == nil && groups.isEmpty { groups[""] = .init(steps: n) }
            return ResultBuilder.funnel(q, FunnelAggregate(groups: groups), filterNotes: q.filter.description + [servedBy])
        case .count(let q):
            let c = try t.count(q)
            let keys = q.by?.also != nil ? 2 : 1
            var agg = CountAggregate(groups: [], totalUnits: 0)
            for r in try client.rows(c.groups) where r.count == keys + 2 && (Int(r[keys + 1]) ?? 0) > 0 {
                var label = q.by.map { t.label($0, r[0]) } ?? "all"
                if keys == 2, let second = q.by?.also { label += "\t" + t.label(second, r[1]) }
                agg.groups.append(.init(label: label, units: Int(r[keys]) ?? 0, events: Int(r[keys + 1]) ?? 0))
            }
            // Groups a label maps together (none here; codes are distinct) are kept apart as the native engine does.
            agg.totalUnits = Int(try client.rows(c.total).first?.first ?? "0") ?? 0
            if let s = c.store, let r = try client.rows(s).first, r.count == 2 {
                agg.storeTotal = q.unit == .events ? Int(r[1]) : Int(r[0])
            }
            return ResultBuilder.count(q, agg, filterNotes: q.filter.description + [servedBy])
        case .time(let q):
            var groups: [String: [Double]] = [:]
            for r in try client.rows(try t.time(q)) where r.count == 2 {
                let name = q.by.map { t.label($0, r[0]) } ?? "all"
                groups[name, default: []] += Self.numbers(r[1])
            }
            return ResultBuilder.time(q, TimeAggregate(groups: groups), filterNotes: q.filter.description + [servedBy])
        case .top(let q):
            let last = try lastEventTime(t)
            let lastMonth = RetentionPeriod.month.index(last), firstMonth = lastMonth - 11
            let bounds = (0...12).map { RetentionPeriod.month.start(firstMonth + $0) }
            var rows: [TopAggregate.Row] = [], total = 0
            for r in try client.rows(try t.top(q, bounds: bounds)) where r.count == 15 {
                let events = Int(r[1]) ?? 0
                total += events
                rows.append(.init(label: t.topLabel(q, Int(r[0]) ?? 0), events: events, customers: Int(r[2]) ?? 0,
                                  trend: (3..<15).map { Double(r[$0]) ?? 0 }))
            }
            return ResultBuilder.top(q, TopAggregate(rows: rows, totalEvents: total, firstMonth: firstMonth, lastMonth: lastMonth),
                                     filterNotes: q.filter.description + [servedBy])
        case .dropoff(let q):
            let end = try lastEventTime(t)
            let sql = try t.dropoff(q, end: end)
            var lasts: [DropoffAggregate.Last] = []
            for r in try client.rows(sql.groups) where r.count == 6 {
                lasts.append(.init(event: t.label(.event, Int(r[0]) ?? 0), channel: t.label(.channel, Int(r[1]) ?? 0), stage: t.label(.stage, Int(r[2]) ?? 0),
                                   customers: Int(r[3]) ?? 0, since: Self.numbers(r[4]), resumed: Int(r[5]) ?? 0))
            }
            let totals = try client.rows(sql.totals).first ?? ["0", "0"]
            return ResultBuilder.dropoff(q, DropoffAggregate(reached: Int(totals[0]) ?? 0, dropped: Int(totals.count > 1 ? totals[1] : "0") ?? 0, lasts: lasts, end: end),
                                         filterNotes: q.filter.description + [servedBy])
        case .retention(let q):
            let end = try lastEventTime(t)
            let n = q.periods
            var rows: [RetentionAggregate.Row] = []
            for r in try client.rows(try t.retention(q, endPeriod: q.period.index(end))) where r.count == 3 + (n - 1) + n {
                let birth = Int(r[2]) ?? 0
                let label = q.by.map { t.label($0, r[0]) } ?? q.period.label(Int(r[0]) ?? birth)
                let eligible = (0..<n).map { Int(r[3 + (n - 1) + $0]) ?? 0 }
                let retained = [eligible[0]] + (1..<max(1, n)).map { Int(r[2 + $0]) ?? 0 }
                rows.append(.init(label: label, period: Int(r[0]) ?? birth, size: Int(r[1]) ?? 0, retained: Array(retained.prefix(n)), eligible: eligible))
            }
            return ResultBuilder.retention(q, RetentionAggregate(rows: rows, end: end), filterNotes: q.filter.description + [servedBy])
        case .customers(let q):
            let end = try lastEventTime(t)
            let sql = try t.customers(q, end: end)
            let shown = try client.rows(sql.list).filter { $0.count == 7 }.map { r in
                CustomerListAggregate.Customer(key: r[0], firstTouch: Int64(r[1]) ?? 0, lastTouch: Int64(r[2]) ?? 0, event: t.label(.event, Int(r[3]) ?? 0),
                                               channel: t.label(.channel, Int(r[4]) ?? 0), stage: t.label(.stage, Int(r[5]) ?? 0), touches: Int(r[6]) ?? 0)
            }
            let total = Int(try client.rows(sql.total).first?.first ?? "0") ?? 0
            return ResultBuilder.customers(q, CustomerListAggregate(total: total, shown: shown, end: end), filterNotes: q.filter.description + [servedBy])
        case .pauses(let q):
            let end = try lastEventTime(t)
            let sql = try t.pauses(q, end: end)
            var resumed: [PausesAggregate.Resumed] = []
            for r in try client.rows(sql.resumed) where r.count == 5 {
                var after: [String: Int] = [:]
                for code in Self.numbers(r[4]) { after[t.label(.event, Int(code)), default: 0] += 1 }
                resumed.append(.init(stages: "\(t.label(.stage, Int(r[0]) ?? 0)) → \(t.label(.stage, Int(r[1]) ?? 0))", lengths: Self.numbers(r[3]),
                                     customers: Int(r[2]) ?? 0, after: after))
            }
            let totals = try client.rows(sql.totals).first ?? ["0", "0"]
            var shown: [PausesAggregate.Open] = []
            if q.which != .resumed {
                shown = try client.rows(sql.open).filter { $0.count == 7 }.map { r in
                    .init(customer: r[0], event: t.label(.event, Int(r[3]) ?? 0), channel: t.label(.channel, Int(r[4]) ?? 0), stage: t.label(.stage, Int(r[5]) ?? 0),
                          lastTouch: Int64(r[1]) ?? 0, silent: Int64(r[2]) ?? 0, touches: Int(r[6]) ?? 0)
                }
            }
            let openCount = Int(try client.rows(sql.openCount).first?.first ?? "0") ?? 0
            return ResultBuilder.pauses(q, PausesAggregate(resumed: resumed, pauseCount: Int(totals[0]) ?? 0, customersWithPause: Int(totals.count > 1 ? totals[1] : "0") ?? 0,
                                                           openCount: openCount, openShown: shown, end: end), filterNotes: q.filter.description + [servedBy])
        case .touchpoints(let q):
            let sql = try t.touchpoints(q)
            let field = EventField(rawValue: q.by.rawValue)!
            let labels = try client.rows(sql.labels).filter { $0.count == 5 }.map { r -> TouchpointsAggregate.Label in
                let code = Int(r[0]) ?? 0
                return .init(name: t.label(field, code), code: code, journeys: Int(r[1]) ?? 0, converting: Int(r[2]) ?? 0,
                             positions: Self.numbers(r[3]), toConversion: Self.numbers(r[4]))
            }
            let totals = try client.rows(sql.totals).first ?? ["0", "0"]
            return ResultBuilder.touchpoints(q, TouchpointsAggregate(labels: labels, all: Int(totals[0]) ?? 0, converted: Int(totals.count > 1 ? totals[1] : "0") ?? 0),
                                             filterNotes: q.filter.description + [servedBy])
        case .gaps(let q):
            let decisionNames = ["consideration", "intent"].filter { catalog.stageCode($0) != nil }
            guard !decisionNames.isEmpty else { throw QueryError("gaps looks at the decision stages consideration and intent; this store's stages have neither") }
            let sql = try t.gaps(q, decision: decisionNames.map { Int(catalog.stageCode($0)!) })
            var ended: [Int: Int] = [:]
            for r in try client.rows(sql.ended) where r.count == 2 { ended[Int(r[0]) ?? 0] = Int(r[1]) ?? 0 }
            let touchpoints = try client.rows(sql.touching).filter { $0.count == 5 }.map { r -> GapsAggregate.Touchpoint in
                let e = Int(r[0]) ?? 0
                return .init(event: t.label(.event, e), code: e, stage: t.label(.stage, Int(r[3]) ?? 0), channel: t.label(.channel, Int(r[4]) ?? 0),
                             touching: Int(r[1]) ?? 0, ended: ended[e] ?? 0, converting: Int(r[2]) ?? 0)
            }
            let journeys = Int(try client.rows(sql.totals).first?.first ?? "0") ?? 0
            return ResultBuilder.gaps(q, GapsAggregate(touchpoints: touchpoints, journeys: journeys, endedAtDecision: ended.values.reduce(0, +),
                                                       decisionStages: decisionNames), filterNotes: q.filter.description + [servedBy])
        case .stats(let q):
            let sql = try t.stats(q)
            let c = try client.rows(sql.customers).first ?? ["[]", "[]", "[]"]
            let a = try client.rows(sql.accounts).first ?? Array(repeating: "[]", count: 7)
            let day = 86_400_000.0
            let touches = Self.numbers(c[0])
            let isConv = Self.numbers(a[3]).map { $0 != 0 }
            func converting(_ xs: [Double]) -> [Double] { zip(xs, isConv).filter { $0.1 }.map(\.0) }
            let aggregate = StatsAggregate(customers: touches.count, events: Int(touches.reduce(0, +)), touches: touches, channels: Self.numbers(c[1]),
                                           days: Self.numbers(c[2]).map { $0 / day },
                                           accountTouches: Self.numbers(a[0]), accountChannels: Self.numbers(a[1]), accountDays: Self.numbers(a[2]).map { $0 / day },
                                           convTouches: converting(Self.numbers(a[4])), convChannels: converting(Self.numbers(a[5])),
                                           convDays: converting(Self.numbers(a[6])).map { $0 / day })
            return ResultBuilder.stats(aggregate, filterNotes: q.filter.description + [servedBy])
        case .paths(let q):
            let sql = try t.paths(q)
            let field = EventField(rawValue: q.show.rawValue)!
            struct Found { var name: String; var customers: Int; var durations: [Double] }
            let found = try client.rows(sql.paths).filter { $0.count == 3 }.map { r in
                Found(name: Self.numbers(r[0]).map { $0 < 0 ? "…" : t.label(field, Int($0)) }.joined(separator: " → "),
                      customers: Int(r[1]) ?? 0, durations: Self.numbers(r[2]))
            }
            let totals = try client.rows(sql.totals).first ?? ["0", "0"]
            // The top paths as the native engine picks them: by customers, ties by name.
            let ranked = found.sorted { $0.customers != $1.customers ? $0.customers > $1.customers : $0.name < $1.name }
            let top = Array(ranked.prefix(q.top))
            let aggregate = PathsAggregate(top: top.map { .init(name: $0.name, customers: $0.customers, durations: $0.durations) },
                                           otherPaths: found.count - top.count, otherDurations: ranked.dropFirst(q.top).flatMap(\.durations),
                                           started: Int(totals[0]) ?? 0, neverReached: Int(totals.count > 1 ? totals[1] : "0") ?? 0)
            return ResultBuilder.paths(q, aggregate, filterNotes: q.filter.description + [servedBy])
        case .attribution(let q):
            let sql = try t.attribution(q)
            let field = EventField(rawValue: q.by.rawValue)!
            let L = field.names(catalog).count
            let totals = try client.rows(sql.totals).first ?? ["0", "0", "0", "0", "0"]
            var touches = [Int](repeating: 0, count: L)
            let models: [QueryPlan.AttributionModel] = [.first, .last, .linear, .timeDecay, .position]
            var credits = models.map { _ in Credit(labels: L) }
            for r in try client.rows(sql.credits) where r.count == 12 {
                guard let l = Int(r[0]), l >= 0, l < L else { continue }
                touches[l] = Int(r[1]) ?? 0
                for m in 0..<5 { credits[m].conversions[l] = Double(r[2 + 2 * m]) ?? 0; credits[m].value[l] = Double(r[3 + 2 * m]) ?? 0 }
            }
            let chosen = models.indices.filter { q.model == .all || models[$0] == q.model }
            func codes(_ s: String) -> [UInt32] { Self.numbers(s).map { UInt32($0) } }
            var paths: [[UInt32]: AttributionAggregate.Tally] = [:], sets: [[UInt32]: AttributionAggregate.Tally] = [:]
            if q.wants(.markov) {
                for r in try client.rows(sql.paths) where r.count == 4 {
                    paths[codes(r[0])] = .init(conversions: Double(r[1]) ?? 0, nulls: Double(r[2]) ?? 0, value: Double(r[3]) ?? 0)
                }
            }
            if q.wants(.shapley) {
                for r in try client.rows(sql.sets) where r.count == 3 { sets[codes(r[0])] = .init(conversions: Double(r[1]) ?? 0, nulls: 0, value: Double(r[2]) ?? 0) }
            }
            let aggregate = AttributionAggregate(labels: (0..<L).map { t.label(field, $0) }, heuristics: chosen.map { models[$0].rawValue },
                                                 credits: chosen.map { credits[$0] }, touches: touches, conversions: Int(totals[0]) ?? 0,
                                                 value: Double(totals[1]) ?? 0, bare: Int(totals[2]) ?? 0, bareValue: Double(totals[3]) ?? 0,
                                                 lost: Int(totals[4]) ?? 0, paths: paths, sets: sets)
            return ResultBuilder.attribution(q, aggregate, filterNotes: q.filter.description + [servedBy])
        case .matching(let q): return try matching(q, t)
        case .profile(let q):
            let sql = try t.profile(q)
            let totals = try client.rows(sql.totals).first ?? ["0", "0"]
            var values: [ProfileAggregate.Value] = []
            for (a, query) in zip(q.attributes, sql.values) {
                for r in try client.rows(query) where r.count == 3 {
                    values.append(.init(attribute: "\(a.scope.rawValue).\(a.name)", value: r[0], members: Int(r[1]) ?? 0, converted: Int(r[2]) ?? 0))
                }
            }
            return ResultBuilder.profile(q, ProfileAggregate(members: Int(totals[0]) ?? 0, converted: Int(totals[1]) ?? 0, values: values),
                                         filterNotes: q.filter.description + [servedBy])
        case .compare(let q):
            let sql = try t.compare(q)
            var sides = [CompareAggregate.Side(), CompareAggregate.Side()]
            for r in try client.rows(sql.sides) where r.count == 6 {
                guard let s = Int(r[0]), s == 0 || s == 1 else { continue }
                sides[s].customers = Int(r[1]) ?? 0; sides[s].converted = Int(r[2]) ?? 0; sides[s].toConvert = Self.numbers(r[3])
                sides[s].revenue = Double(r[4]) ?? 0; sides[s].touches = Int(r[5]) ?? 0
            }
            for r in try client.rows(sql.touchpoints) where r.count == 3 {
                let name = t.label(.event, Int(r[0]) ?? 0)
                for s in 0..<2 { if let n = Int(r[1 + s]), n > 0 { sides[s].byTouchpoint[name, default: 0] += n } }
            }
            return ResultBuilder.compare(q, CompareAggregate(sides: sides), filterNotes: q.filter.description + [servedBy])
        case .leads(let q):
            let groups = try client.rows(try t.leads(q)).filter { $0.count == 6 }.map { r in
                LeadsAggregate.Group(label: q.by.map { t.label($0, r[0]) } ?? "all", leads: Int(r[1]) ?? 0, mql: Int(r[2]) ?? 0, sql: Int(r[3]) ?? 0,
                                     won: Int(r[4]) ?? 0, revenue: Double(r[5]) ?? 0)
            }
            return ResultBuilder.leads(q, LeadsAggregate(groups: groups), filterNotes: q.filter.description + [servedBy])
        case .score(let q):
            return try score(q, t)
        case .forecast(let q):
            let end = try lastEventTime(t), asOf = min(q.asOf ?? end, end)
            var history = PipelineHistory(stages: catalog.stages.count, months: q.months, asOf: asOf)
            let won = Int(q.won), none = Int64.max
            for r in try client.rows(try t.forecastRows(q, asOf: asOf)) where r.count == 3 + won {
                let conv = Int64(r[1]) ?? none
                // The episodes of the highest stage: the stages reached before the conversion, by the time first
                // reached (ties: the lower stage first), each that raises the highest so far.
                var reached: [(stage: Int, from: Int64)] = []
                for s in 0..<won { if let f = Int64(r[3 + s]), f != none, f < conv { reached.append((s, f)) } }
                reached.sort { $0.from != $1.from ? $0.from < $1.from : $0.stage < $1.stage }
                var episodes: [(stage: Int, from: Int64)] = [], highest = -1
                for e in reached where e.stage > highest { highest = e.stage; episodes.append(e) }
                history.add(episodes: episodes, conversion: conv == none ? nil : (conv, Double(r[2]) ?? 0))
            }
            return ResultBuilder.forecast(q, try history.forecast(q, end: end, stageNames: catalog.stages), filterNotes: q.filter.description + [servedBy])
        case .value(let q):
            if let carried = try t.carrying(q.by) { return try run(plan, carried) }
            let end = try lastEventTime(t)
            // The curve from the server, summed here as `RepeatCurve` does; the projection sent back as constants.
            var curve = ValueAggregate.Curve(buyers: [0], firstValue: [0], revenue: [0])
            for r in try client.rows(try t.valueCurve(q, end: end)) where r.count == 4 {
                guard let k = Int(r[0]), k >= 1 else { continue }
                while curve.buyers.count <= k { curve.buyers.append(0); curve.firstValue.append(0); curve.revenue.append(0) }
                curve.buyers[k] = Int(r[1]) ?? 0; curve.firstValue[k] = Double(r[2]) ?? 0; curve.revenue[k] = Double(r[3]) ?? 0
            }
            var cumulative = [0.0]
            for k in 1..<curve.buyers.count { cumulative.append(cumulative[k - 1] + (curve.firstValue[k] > 0 ? curve.revenue[k] / curve.firstValue[k] : 0)) }
            if q.list {
                let sql = try t.valueList(q, cumulative: cumulative, end: end)
                let rows: [ValueAggregate.Customer] = try client.rows(sql.list).filter { $0.count == 8 }.map { r in
                    let stage = Int(r[6]) ?? 0
                    return .init(key: r[0], touches: Int(r[5]) ?? 0, channels: 0, first: 0, last: Int64(r[7]) ?? 0,
                                 stage: stage == 0 || stage > catalog.stages.count ? "" : catalog.stages[stage - 1], orders: Int(r[3]) ?? 0,
                                 historic: Double(r[1]) ?? 0, projected: Double(r[2]) ?? 0, cost: catalog.hasCosts ? Double(r[4]) ?? 0 : nil)
                }
                let ranked = Int(try client.rows(sql.total).first?.first ?? "0") ?? 0
                return ResultBuilder.valueRanking(q, customers: rows, ranked: ranked, curve: curve, end: end, filterNotes: q.filter.description + [servedBy])
            }
            var groups: [ValueAggregate.Group] = []
            var total = ValueAggregate.Group(label: "all", customers: 0, buyers: 0, historic: 0, projected: 0)
            for r in try client.rows(try t.valueGroups(q, cumulative: cumulative, end: end)) where r.count == 5 {
                let g = ValueAggregate.Group(label: q.by.map { t.label($0, r[0]) } ?? "all", customers: Int(r[1]) ?? 0, buyers: Int(r[2]) ?? 0,
                                             historic: Double(r[3]) ?? 0, projected: Double(r[4]) ?? 0)
                groups.append(g)
                total.customers += g.customers; total.buyers += g.buyers; total.historic += g.historic; total.projected += g.projected
            }
            return ResultBuilder.value(q, ValueAggregate(groups: groups, total: total, curve: curve), end: end, filterNotes: q.filter.description + [servedBy])
        case .revenue(let q):
            let sql = try t.revenue(q)
            func group(_ label: String, _ r: ArraySlice<String>) -> RevenueAggregate.Group {
                let x = Array(r)
                return .init(label: label, customers: Int(x[0]) ?? 0, buyers: Int(x[1]) ?? 0, orders: Int(x[2]) ?? 0, revenue: Double(x[3]) ?? 0,
                             cost: Double(x[4]) ?? 0)
            }
            let groups = try client.rows(sql.groups).filter { $0.count == 6 }.map { r in group(q.by.map { t.label($0, r[0]) } ?? "all", r[1...]) }
            let total = try client.rows(sql.total).first.map { group("all", $0[0...]) } ?? group("all", ["0", "0", "0", "0", "0"])
            return ResultBuilder.revenue(q, RevenueAggregate(groups: groups, total: total), filterNotes: q.filter.description + [servedBy])
        case .set: return []
        default:
            _ = try t.sql(plan)   // names what is not translated
            throw Untranslatable("this statement")
        }
    }

    /// The store's last event time on the server (what silences and the last 12 months are measured to).
    public func lastEventTime(_ t: Translator? = nil) throws -> Int64 {
        Int64(try client.rows((t ?? translator).lastEventTime).first?.first ?? "0") ?? 0
    }

    /// `score`: the counts from the server, the model fitted here on the same rows as natively, the open leads
    /// scored on the server with it and the best scored again here from their counts.
    func score(_ q: QueryPlan.Score, _ t: Translator) throws -> [ResultTable] {
        let end = try lastEventTime(t), cutoff = end - q.window
        let customers = Int(try client.rows("SELECT uniqExact(customer) FROM \(t.events)").first?.first ?? "0") ?? 0
        let rate = LeadModelFit.samplingRate(customers: customers)
        // The segment's values, most common first (ties: the first seen); all but the first become features.
        var values: [String] = [], baseline: String?
        if catalog.customerAttributes.contains("segment") {
            let rows = try client.rows(t.segmentCounts).filter { $0.count == 3 && !$0[0].isEmpty }
                .map { (value: $0[0], count: Int($0[1]) ?? 0, first: Int64($0[2]) ?? 0) }
                .sorted { $0.count != $1.count ? $0.count > $1.count : $0.first < $1.first }
            if rows.count >= 2 && rows.count <= 12 { values = rows.map(\.value); baseline = values[0] }
        }
        let segments = values.indices.dropFirst().map { Int32($0) }
        let names = LeadFeatures.base + values.dropFirst().map { "segment = \($0)" }
        func counts(_ r: [String], from i: Int) -> LeadCounts {
            var k = LeadCounts()
            k.touches = Int(r[i]) ?? 0; k.channels = Int(r[i + 1]) ?? 0; k.stage = Int(r[i + 2]) ?? 0
            k.first = Int64(r[i + 3]) ?? 0; k.last = Int64(r[i + 4]) ?? 0; k.recent = Int(r[i + 5]) ?? 0
            k.paid = Int(r[i + 6]) ?? 0; k.earned = Int(r[i + 7]) ?? 0
            return k
        }
        func code(_ seg: String) -> Int32? { values.firstIndex(of: seg).map { Int32($0) } }
        var train: [Double] = [], trainY: [Bool] = [], test: [Double] = [], testY: [Bool] = []
        for r in try client.rows(try t.scoreTraining(q, cutoff: cutoff, rate: rate)) where r.count == 11 {
            let x = LeadFeatures.vector(counts(r, from: 2), at: cutoff, stageCount: catalog.stages.count, segment: code(r[10]), segments: segments)
            let converted = (Int64(r[1]) ?? .max) <= end
            if LeadModelFit.heldBack(Int64(r[0]) ?? 0) { test += x; testY.append(converted) } else { train += x; trainY.append(converted) }
        }
        let fit = try LeadModelFit.fit(train: train, trainY: trainY, test: test, testY: testY, names: names, baseline: baseline,
                                       cutoff: cutoff, end: end, window: q.window, wonName: q.wonName)
        func stageName(_ s: Int) -> String { s >= 1 && s <= catalog.stages.count ? catalog.stages[s - 1] : "" }
        if let key = q.customer {
            let rows = try client.rows("SELECT conv, n, ch, st, first, last, recent, paid, earned, top, seg FROM (\(try t.leadCounts(q, at: end))) WHERE key = \(SQL.string(key))")
            guard let r = rows.first, r.count == 11 else { throw QueryError("no customer '\(key)' here") }
            guard Int64(r[0]) == Int64.max, (Int(r[1]) ?? 0) > 0 else {
                throw QueryError("'\(key)' is not an open lead here (no events passing the filter, or it already reached \(q.wonName))")
            }
            let x = LeadFeatures.vector(counts(r, from: 1), at: end, stageCount: catalog.stages.count, segment: code(r[10]), segments: segments)
            return ResultBuilder.scoreOne(key: key, probability: fit.probability(x), values: x, contributions: fit.contributions(x),
                                          model: fit.aggregate, filterNotes: q.filter.description + [servedBy])
        }
        let sql = try t.scoreOpen(q, end: end, fit: fit, stageCount: catalog.stages.count, segments: Array(values.dropFirst()), candidates: q.limit + 20)
        let totals = try client.rows(sql.totals).first ?? ["0", "0"]
        // The candidates scored again from their counts (the native arithmetic), best first, ties by store order.
        struct Candidate { let o: Int64, key: String, p: Double, x: [Double], top: Int }
        var candidates: [Candidate] = []
        for r in try client.rows(sql.top) where r.count == 12 {
            let x = LeadFeatures.vector(counts(r, from: 2), at: end, stageCount: catalog.stages.count, segment: code(r[11]), segments: segments)
            candidates.append(Candidate(o: Int64(r[0]) ?? 0, key: r[1], p: fit.probability(x), x: x, top: Int(r[10]) ?? 0))
        }
        candidates.sort { $0.p != $1.p ? $0.p > $1.p : $0.o < $1.o }
        let leads = candidates.prefix(q.limit).map { c -> LeadModelAggregate.Lead in
            let touches = Int((exp(c.x[0]) - 1).rounded())
            return LeadModelAggregate.Lead(key: c.key, probability: c.p, touches: touches, stage: stageName(c.top),
                                           daysSinceLast: exp(c.x[4]) - 1, driver: fit.driver(c.x))
        }
        return ResultBuilder.score(Array(leads), open: Int(totals[0]) ?? 0, expected: Double(totals.count > 1 ? totals[1] : "0") ?? 0, model: fit.aggregate,
                                   sampled: rate < 1 ? rate : nil, filterNotes: q.filter.description + [servedBy])
    }

    /// The note every ClickHouse answer carries.
    var servedBy: String { "computed by ClickHouse at \(client.url.host ?? "")\(client.url.port.map { ":\($0)" } ?? "")\(cluster ? " (a cluster)" : "")" }

    /// `[1,2,3]` as numbers.
    static func numbers(_ s: String) -> [Double] {
        s.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).split(separator: ",").compactMap { Double($0) }
    }
}
