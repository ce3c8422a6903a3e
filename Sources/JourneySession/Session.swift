import Foundation
import JourneyCore
import JourneyStore
import JourneyLanguage
import JourneyPlanner
import JourneyEngine
import JourneyClickHouse

/// Adapts the store to the engine's attribute reads. One per loaded journeys (dropped with them after an import):
/// the customers' accounts, asked for by every `count accounts`, are read once and kept.
final class StoreAttributes: AttributeSource, @unchecked Sendable {
    let store: Store
    private var accountsOfLoaded: (ids: [Int64], accounts: [Int64])?
    private let lock = NSLock()
    /// Customer attributes already read, as a value table and a code per customer (4 bytes each, not a string).
    /// (Account attributes under "account." + name.)
    private var attributesOfLoaded: [String: (ids: [Int64], values: [String?], codes: [Int32])] = [:]
    init(store: Store) { self.store = store }
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] {
        let (values, codes) = try attributeCodes(name, account: false, for: ids)
        return codes.map { values[Int($0)] }
    }
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] {
        let (values, codes) = try attributeCodes(name, account: true, for: ids)
        return codes.map { values[Int($0)] }
    }
    func attributeCodes(_ name: String, account: Bool, for ids: [Int64]) throws -> (values: [String?], codes: [Int32]) {
        lock.lock(); defer { lock.unlock() }
        let key = account ? "account." + name : name
        if let kept = attributesOfLoaded[key], kept.ids == ids { return (kept.values, kept.codes) }
        let (values, codes) = denseCodes(account ? try store.accountAttribute(name, for: ids) : try store.customerAttribute(name, for: ids))
        // Kept only when the values repeat (a segment, a country), not for keys that are unique per customer.
        if values.count * 4 < max(ids.count, 64) { attributesOfLoaded[key] = (ids, values, codes) }
        return (values, codes)
    }
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
    /// The store's state the cached journeys came from (properties loaded later must come from the same one).
    private var cachedGeneration: Int64 = 0
    private var catalogKept: Catalog?
    /// When set, statements run on this ClickHouse server (or cluster) instead of the local store.
    public private(set) var remote: ClickHouseBackend?

    /// Runs the following statements on a ClickHouse server holding a pushed store (`.connect clickhouse URL`).
    public func connect(clickhouse url: String) throws {
        let client = try ClickHouseClient(url)
        client.isCancelled = { [weak self] in self?.isCancelled() ?? false }
        remote = try ClickHouseBackend(client: client)
    }

    /// Back to the local store.
    public func disconnect() { remote = nil }
    public var isCancelled: () -> Bool = { false } { didSet { store.isCancelled = isCancelled } }

    public init(store: Store) { self.store = store }

    public func open(_ path: String) throws {
        store = try Store(path: path)
        store.isCancelled = isCancelled
        cached = nil; catalogKept = nil
    }

    /// Drops the in-memory journeys (after an import).
    public func invalidate() { cached = nil; catalogKept = nil }

    /// The journeys in memory, with at least the optional `columns` (nil: whatever is loaded, else the usual
    /// ones). A statement that reads a column the loaded journeys lack loads them again with it (from one store
    /// state, so every column lines up).
    public func data(columns: Set<PackedColumn>? = nil) throws -> JourneyData {
        if let cached, columns.map({ $0.isSubset(of: cached.sequences.loaded) }) ?? true { return cached }
        let wanted = columns.map { $0.union(cached?.sequences.loaded ?? []) } ?? PackedColumn.usual
        let loaded = try store.loadJourneys(columns: wanted)
        cachedGeneration = loaded.generation
        let d = JourneyData(sequences: loaded.sequences, catalog: loaded.catalog, attributes: StoreAttributes(store: store))
        cached = d
        if ProcessInfo.processInfo.environment["JOURNEY_TRACE"] != nil,
           let proc = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            let lines = proc.split(separator: "\n").filter { $0.hasPrefix("VmRSS") || $0.hasPrefix("VmHWM") || $0.hasPrefix("RssAnon") || $0.hasPrefix("RssFile") }
            FileHandle.standardError.write(Data(("loaded \(d.sequences.eventCount) events (\(wanted.map(\.rawValue).sorted().joined(separator: ", "))), \(d.sequences.byteSize) bytes packed; " + lines.joined(separator: "; ") + "\n").utf8))
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
    /// `record: false` keeps it out of `history` (a statement the shell runs on its own, such as a lesson's check).
    public func run(_ text: String, record: Bool = true) throws -> [ResultTable] {
        var parser = Parser(text, params: params)
        let statements = try parser.parseScript()
        var out: [ResultTable] = []
        for st in statements { out += try execute(st) }
        if record { history.append(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return out
    }

    /// One error a script check found: the diagnostic, the statement's text and the script line it starts on.
    public struct ScriptProblem {
        public let diagnostic: Diagnostic
        public let text: String
        public let line: Int
    }

    /// Checks a whole script before it runs: every statement parsed (reading on after an error) and planned
    /// against the store's catalog, so one run reports every error in the file. `set` statements take effect for
    /// the statements after them; after a dot-command that changes the store (`.import`, `.open`, `.read`) the
    /// names are not checked (the catalog is not known yet), only the syntax.
    public func check(_ blocks: [ScriptBlock]) -> [ScriptProblem] {
        var problems: [ScriptProblem] = []
        var local = params
        var namesKnown = true
        for block in blocks {
            switch block {
            case .comment: continue
            case .command(let t, _):
                let name = t.dropFirst().prefix { !$0.isWhitespace }.lowercased()
                if ["import", "open", "read"].contains(name) { namesKnown = false }
            case .statement(let text, let line):
                var parser = Parser(text, params: local)
                let (statements, errors) = parser.parseScriptRecovering()
                problems += errors.map { ScriptProblem(diagnostic: $0, text: text, line: line) }
                for st in statements {
                    if case .set(let name, let value) = st, !pinned.contains(name) { local[name] = value }
                    guard namesKnown else { continue }
                    do { _ = try plan(st) } catch let d as Diagnostic { problems.append(ScriptProblem(diagnostic: d, text: text, line: line)) } catch {}
                }
            }
        }
        return problems
    }

    /// The store's catalog (names behind the codes), kept with the loaded journeys.
    public func catalog() throws -> Catalog {
        if let remote { return remote.catalog }
        if let cached { return cached.catalog }
        if let catalogKept { return catalogKept }
        let c = try store.catalog()
        catalogKept = c
        return c
    }

    /// Plans a parsed statement against the store's catalog: every name and option checked, nothing run.
    public func plan(_ st: Statement) throws -> (plan: QueryPlan, resolutions: [String]) {
        var planner = Planner(catalog: try catalog())
        let plan = try planner.plan(st)
        return (plan, planner.resolutions)
    }

    func execute(_ st: Statement) throws -> [ResultTable] {
        let (plan, resolutions) = try self.plan(st)
        if case .explainSQL(let inner) = plan {
            // The SQL the statement becomes: the connected server's dialect (a cluster reads events_local in
            // subqueries), or, without one, the single-server SQL for this store's catalog.
            let translator = try remote?.translator ?? Translator(catalog: catalog(), cluster: false, database: "journey")
            let end = try remote?.lastEventTime() ?? data().sequences.times.max() ?? 0
            let queries = try translator.sql(inner, end: end)
            var t = ResultTable(title: "explain sql", columns: ["query"], rows: queries.map { [.text($0)] })
            t.wrapsText = true
            return [t]
        }
        if let remote {
            switch plan {
            case .set(let name, let value):
                if !pinned.contains(name) { params[name] = value }
                return []
            case .explain(let inner):
                var rows = inner.logicalRows
                for r in resolutions { rows.append(("name", r)) }
                for (k, q) in try remote.translator.sql(inner, end: try remote.lastEventTime()).enumerated() { rows.append(("sql \(k + 1)", q)) }
                rows.append(("server", remote.client.display + (remote.cluster ? ", a cluster (events: a Distributed table)" : "")))
                var t = ResultTable(title: "explain", columns: ["part", "meaning"], rows: rows.map { [.text($0.0), .text($0.1)] })
                t.wrapsText = true
                return [t]
            default:
                return try remote.run(plan)
            }
        }
        let fields = st.fieldNames
        switch plan {
        case .quality, .set: break
        default: _ = try data(columns: plan.columns)
        }
        // Free properties named by the statement: load each once, aligned with the journeys.
        let known = Set(Binder.eventFields + ["first_contact"])
        for name in fields.subtracting(known) where cached?.sequences.properties[name] == nil {
            var d = try data()
            guard d.catalog.properties.contains(name) else { continue }
            do {
                d.sequences.properties[name] = try store.loadProperty(name, at: cachedGeneration)
            } catch is Store.StoreChanged {
                // An import landed since the load: everything again, from one state.
                invalidate()
                d = try data()
                guard d.catalog.properties.contains(name) else { continue }
                d.sequences.properties[name] = try store.loadProperty(name, at: cachedGeneration)
            }
            cached = d
        }
        switch plan {
        case .set(let name, let value):
            if !pinned.contains(name) { params[name] = value }
            return []
        case .quality:
            return [try store.quality()]
        case .explain(let inner):
            return [try explain(inner, resolutions: resolutions)]
        case .accounts(let inner):
            // Account level: the statement over each account's merged journey, worded for accounts.
            var ex = Executor(data: try data())
            ex.isCancelled = isCancelled
            return Executor.asAccounts(try ex.accountLevel().run(inner, keys: { try self.store.accountKeys(forCustomers: $0) }))
        default:
            var ex = Executor(data: try data())
            ex.isCancelled = isCancelled
            return try ex.run(plan, keys: { try self.store.customerKeys(for: $0) })
        }
    }

    /// The plan in plain words: the logical plan (what is computed, how each name was read, which filters are
    /// event- or journey-level) and the native engine's physical plan, both from the objects a run uses.
    func explain(_ plan: QueryPlan, resolutions: [String]) throws -> ResultTable {
        var rows = plan.logicalRows
        var named = Set<String>()
        for r in resolutions where named.insert(r).inserted { rows.append(("name", r)) }
        rows += try Executor(data: try data()).physical(plan)
        // What it gives here, read off the statement's own result (explain runs it; not for set).
        if case .quality = plan {
            rows.append(("on this store", ExplainNumbers.quality(try store.quality())))
            return Self.explainTable(rows, plan)
        }
        if case .set = plan { return Self.explainTable(rows, plan) }
        var ex = Executor(data: try data())
        ex.isCancelled = isCancelled
        let result: [ResultTable]
        if case .accounts(let inner) = plan {
            result = Executor.asAccounts(try ex.accountLevel().run(inner, keys: { try self.store.accountKeys(forCustomers: $0) }))
        } else {
            result = try ex.run(plan, keys: { try self.store.customerKeys(for: $0) })
        }
        rows.append(("on this store", ExplainNumbers.sentence(plan, result)))
        return Self.explainTable(rows, plan)
    }

    static func explainTable(_ rows: [(String, String)], _ plan: QueryPlan) -> ResultTable {
        var table = ResultTable(title: "explain", columns: ["part", "meaning"], rows: rows.map { [.text($0.0), .text($0.1)] })
        table.wrapsText = true
        if case .accounts = plan { return Executor.asAccounts([table])[0] }
        return table
    }
}
