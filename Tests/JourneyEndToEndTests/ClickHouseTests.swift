import Foundation
import Testing
import JourneyTestSupport
import JourneyClickHouse

/// The two loopback ClickHouse servers the tests use: from `make test` (JOURNEY_CLICKHOUSE_URL, …_URL2), or started
/// here with Tests/clickhouse/servers.sh when the tests run alone (and stopped when the test process exits).
enum ClickHouseServers {
    nonisolated(unsafe) static var startedDir: String?
    static let urls: (String, String)? = {
        let env = ProcessInfo.processInfo.environment
        if let a = env["JOURNEY_CLICKHOUSE_URL"], let b = env["JOURNEY_CLICKHOUSE_URL2"] { return (a, b) }
        let dir = tempDir() + "/clickhouse"
        let script = SavedQueryTests.root.appendingPathComponent("Tests/clickhouse/servers.sh").path
        guard let r = try? run("/bin/sh", [script, "start", dir]), r.status == 0 else { return nil }
        startedDir = dir
        // Stopped when the test process exits (a plain `system`: Foundation's Process is not reliable then).
        atexit {
            guard let d = ClickHouseServers.startedDir else { return }
            let script = SavedQueryTests.root.appendingPathComponent("Tests/clickhouse/servers.sh").path
            _ = system("/bin/sh '\(script)' stop '\(d)' >/dev/null 2>&1")
        }
        var a: String?, b: String?
        for line in r.out.split(separator: "\n") {
            if line.hasPrefix("JOURNEY_CLICKHOUSE_URL=") { a = String(line.dropFirst("JOURNEY_CLICKHOUSE_URL=".count)) }
            if line.hasPrefix("JOURNEY_CLICKHOUSE_URL2=") { b = String(line.dropFirst("JOURNEY_CLICKHOUSE_URL2=".count)) }
        }
        guard let a, let b else { return nil }
        return (a, b)
    }()

    static func run(_ exe: String, _ args: [String], env: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), x = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: x, as: UTF8.self))
    }

    /// A query's answer (TabSeparated) straight from a server, for checks the tests make themselves.
    static func query(_ url: String, _ sql: String) throws -> String {
        try run("/usr/bin/curl", ["-s", "--data-binary", sql, url]).out
    }
}

/// The same statements on the native engine, on one ClickHouse server and on a 2-shard cluster: identical answers.
@Suite(.serialized) struct ClickHouseTests {
    /// The demo store pushed once to a single server and once to the cluster (a database per run).
    static let pushed: (single: String, cluster: String)? = {
        guard let (a, b) = ClickHouseServers.urls else { return nil }
        let db = "t\(UInt32.random(in: 0...UInt32.max))"
        let single = a + "?database=\(db)_single", cluster = a + "?database=\(db)_cluster"
        guard let r1 = try? journey(["push", SavedQueryTests.store, "--clickhouse", single]), r1.status == 0 else { return nil }
        guard let r2 = try? journey(["push", SavedQueryTests.store, "--clickhouse", cluster, "--cluster", "journey_2shards",
                                     "--shard", a, "--shard", b], env: ["JOURNEY_PUSH_BATCH_EVENTS": "3000"]), r2.status == 0 else { return nil }
        return (single, cluster)
    }()

    func csv(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try journey(args + ["--mode", "csv"])
    }

    /// Two csv outputs equal cell for cell, numbers within 1e-9 (relative): sums of floating-point credits added
    /// in another order differ in the last bits (the issue's "same numbers within 1e-9").
    func same(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: "\n", omittingEmptySubsequences: false), y = b.split(separator: "\n", omittingEmptySubsequences: false)
        guard x.count == y.count else { return false }
        for (l, m) in zip(x, y) where l != m {
            let c = l.split(separator: ",", omittingEmptySubsequences: false), d = m.split(separator: ",", omittingEmptySubsequences: false)
            guard c.count == d.count else { return false }
            for (u, v) in zip(c, d) where u != v {
                guard let p = Double(u), let q = Double(v), abs(p - q) <= 1e-9 * max(1, abs(p), abs(q)) else { return false }
            }
        }
        return true
    }

    @Test func serversAreThere() throws {
        #expect(ClickHouseServers.urls != nil, "ClickHouse servers could not be started (is clickhouse-server installed? `make test` installs it)")
        #expect(Self.pushed != nil, "push failed")
    }

    /// The cluster really is two shards, each holding some customers and none of them twice.
    @Test func theClusterSplitsCustomersOverShards() throws {
        guard let (a, b) = ClickHouseServers.urls, let pushed = Self.pushed else { Issue.record("no servers"); return }
        let db = pushed.cluster.components(separatedBy: "database=").last!
        let n1 = Int(try ClickHouseServers.query(a, "SELECT uniqExact(customer) FROM \(db).events_local").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let n2 = Int(try ClickHouseServers.query(b, "SELECT uniqExact(customer) FROM \(db).events_local").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let all = Int(try ClickHouseServers.query(a, "SELECT uniqExact(customer) FROM \(db).events").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        #expect(n1 > 0 && n2 > 0 && n1 + n2 == all, "shards \(n1) + \(n2) vs \(all)")
        let events = Int(try ClickHouseServers.query(a, "SELECT count() FROM \(db).events").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        let native = try csv([SavedQueryTests.store, "-c", "count events"]).out.split(separator: "\n")[1].split(separator: ",")[0]
        #expect(String(events) == native)
    }

    /// Generated funnels, counts, times, tops, dropoffs, retention grids, customer lists, pauses, touchpoints, gaps, stats, paths and attribution: the native answer, the single server's and the cluster's, cell for cell.
    @Test func generatedStatementsGiveTheNativeAnswers() throws {
        guard let pushed = Self.pushed else { Issue.record("no servers"); return }
        var seed: UInt64 = 77
        func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(n)) }
        let steps = ["awareness", "consideration", "intent", "conversion", "event:webinar", "channel:linkedin", "stage:intent or channel = email"]
        let filters = ["", " where channel = linkedin", " where customer.segment = enterprise", " where touched stage:conversion",
                       " where channel != email and customer.industry ~ a", " where value > 100 or stage = awareness", " where not customer.segment in (smb, enterprise)"]
        let bys = ["", " by channel", " by stage at step 2", " by customer.segment", " by device", " by campaign", " by month(timestamp)", " by month(first_contact)"]
        var statements: [String] = []
        for _ in 0..<24 {
            let n = 2 + next(3)
            var s = "funnel " + (0..<n).map { k in steps[next(steps.count)] + (k > 0 && next(4) == 0 ? " within \([3, 30][next(2)])d" : "") }.joined(separator: " > ")
            s += ["", "", " same channel", " same campaign"][next(4)]
            if next(2) == 0 { s += " within \([7, 30, 90, 365][next(4)])d" }
            s += filters[next(filters.count)] + bys[next(bys.count)]
            s += ["", "", " ties in import order", " strictly later"][next(4)]
            s += ["", " entry best"][next(2)]
            statements.append(s)
        }
        for _ in 0..<16 {
            let unit = ["customers", "accounts", "events"][next(3)]
            let by = ["", " by channel", " by stage", " by kind", " by campaign", " by value", " by month(timestamp)", " by customer.segment", " by channel, stage", " by source", " by month(first_contact)"][next(11)]
            statements.append("count \(unit)\(by)\(filters[next(filters.count)])")
        }
        for _ in 0..<10 {
            let by = ["", " by channel", " by customer.segment", " by month(timestamp)", " by stage", " by month(first_contact)"][next(6)]
            statements.append("time from \(steps[next(steps.count)]) to \(steps[next(steps.count)])\(by)\(filters[next(filters.count)])")
            statements.append("top \(1 + next(8)) \(["channels", "events", "stages", "kinds", "campaigns"][next(5)])\(filters[next(filters.count)])")
            statements.append("retention from \(steps[next(4)])\(["", " returning stage:conversion", " returning channel:email"][next(3)]) every \(["day", "week", "month", "quarter"][next(4)]) periods \(1 + next(6))\(["", " by channel", " by customer.segment"][next(3)])\(filters[next(filters.count)])")
            statements.append("customers who reached \(steps[next(4)])\(["", " and not reached stage:conversion", " and no touch for 30d"][next(3)]) limit \(1 + next(20))\(filters[next(filters.count)])")
            statements.append("pauses longer than \([7, 30, 90][next(3)])d\(["", " resumed", " open", " open limit 5", " open limit 120"][next(5)])\(filters[next(filters.count)])")
            statements.append("touchpoints\(["", " for stage:intent", " for event:webinar"][next(3)]) by \(["event", "channel", "stage", "kind"][next(4)]) top \(3 + next(20))\(filters[next(filters.count)])")
            statements.append("gaps\(["", " for stage:intent"][next(2)]) top \(3 + next(10))\(filters[next(filters.count)])")
            statements.append("stats\(filters[next(filters.count)])")
            statements.append("\(["revenue", "margin"][next(2)])\(["", " by channel", " by customer.segment", " by month(timestamp)", " by stage top 2", " by value"][next(6)])\(filters[next(filters.count)])\(["", " count accounts"][next(2)])")
            statements.append("attribution\(["", " of stage:intent", " of event:webinar"][next(3)]) model \(["first", "last", "linear", "time_decay half_life 14d", "position 30 40 30", "markov", "markov order 2", "shapley", "all"][next(9)])\(["", " by stage", " by kind", " by event"][next(4)])\(["", " lookback 30d"][next(2)])\(filters[next(filters.count)])")
            let ends = ["", " from awareness", " to conversion", " from awareness to conversion", " from consideration to stage:intent", " from awareness next 3", " to conversion previous 2"]
            statements.append("paths\(ends[next(ends.count)])\(["", " within 60d", " within 365d"][next(3)])\(["", " show channel", " show stage", " show kind"][next(4)])\(["", " keep repeats", " max 3 steps", " top 3"][next(4)])\(filters[next(filters.count)])")
            statements.append("dropoff after \(["awareness", "consideration", "intent"][next(3)])\(["", " to stage:conversion", " to event:webinar"][next(3)])\(filters[next(filters.count)])")
        }
        for _ in 0..<6 {
            statements.append("leads\(["", " by channel", " by customer.segment", " by month(timestamp)", " by campaign"][next(5)])\(["", " mql awareness", " won retention", " sql consideration"][next(4)])\(filters[next(filters.count)])\(["", " count accounts"][next(2)])")
        }
        for _ in 0..<5 {
            let sides = ["customer.segment = smb", "customer.segment = enterprise", "touched channel:linkedin", "not touched stage:conversion", "channel = email", "customer.segment != smb"]
            statements.append("compare \(sides[next(sides.count)]) with \(sides[next(sides.count)])\(["", " won intent"][next(2)])\(filters[next(filters.count)])\(["", " count accounts"][next(2)])")
        }
        for _ in 0..<3 {
            statements.append("profile\(["", " won intent"][next(2)])\(filters[next(filters.count)])\(["", " count accounts"][next(2)])")
        }
        for _ in 0..<5 {
            statements.append("value\(["", " by channel", " by customer.segment", " by month(timestamp)", " by stage top 2"][next(5)])\(["", " horizon 90d", " horizon 720d"][next(3)])\(filters[next(filters.count)])\(["", " count accounts"][next(2)])")
            statements.append("customers by value limit \(1 + next(15))\(["", " horizon 180d"][next(2)])\(filters[next(filters.count)])\(["", " count accounts"][next(2)])")
        }
        for _ in 0..<4 {
            statements.append("score limit \(1 + next(12))\(["", " within 60d", " within 180d won intent"][next(3)])\(["", " where channel != email", " where customer.segment != smb"][next(3)])\(["", " count accounts"][next(2)])")
        }
        statements.append("score for C0001396")
        for _ in 0..<4 {
            statements.append("forecast\(["", " months 3", " months 9"][next(3)])\(["", " as of 2025-06-30", " as of 2025-12-31"][next(3)])\(["", " won intent"][next(2)])\(["", " where channel != email", " where customer.segment = enterprise"][next(3)])\(["", " count accounts"][next(2)])")
        }
        // Patterns: the server picks the customers who can match, journey's matcher runs on their events.
        let atoms = ["awareness", "consideration", "conversion", "webinar", "channel = email", "(intent | event:demo_request)", "any"]
        for _ in 0..<14 {
            func atom() -> String { atoms[next(atoms.count)] + ["", "", "+", "?", "{2}"][next(5)] }
            var p = atom()
            for _ in 0..<(1 + next(3)) { p += [" then ", " ", " then ", " any* "][next(4)] + atom() }
            if p.allSatisfy({ $0 != " " }) || p.hasPrefix("any?") { p = "awareness then " + p }
            let by = ["", " by channel", " by customer.segment", " by month(timestamp)", " by stage"][next(5)]
            statements.append(next(2) == 0 ? "count matching \(p)\(["", " within 30d", " within 180d"][next(3)])\(by)\(filters[next(filters.count)])"
                                           : "customers matching \(p)\(["", " within 60d"][next(2)]) limit \(1 + next(15))\(filters[next(filters.count)])")
        }
        // At account level (each account's people merged into one journey), with event-level filters.
        let eventFilters = ["", " where channel = linkedin", " where value > 100 or stage = awareness"]
        for _ in 0..<6 {
            statements.append("funnel awareness > \(["consideration", "intent", "conversion"][next(3)]) > conversion\(["", " within 90d"][next(2)])\(["", " entry best"][next(2)])\(eventFilters[next(3)])\(["", " by channel"][next(2)]) count accounts")
            statements.append("\(["paths from awareness to conversion", "time from awareness to conversion", "dropoff after consideration", "retention from awareness every month periods 3", "attribution model \(["last", "markov", "all"][next(3)])", "touchpoints", "gaps"][next(7)])\(eventFilters[next(3)]) count accounts")
        }
        // Account level with journey-level filters (an account row takes its first person's customer attributes),
        // attribute breakdowns, and the lists, which name accounts.
        let accountFilters = ["", " where customer.segment = enterprise", " where touched stage:conversion", " where not account.industry = software", " where channel = linkedin"]
        for _ in 0..<8 {
            let f = accountFilters[next(accountFilters.count)]
            statements.append("funnel awareness > intent > conversion within 180d\(["", " by customer.segment", " by account.industry", " by channel"][next(4)])\(f) count accounts")
            statements.append("\(["time from awareness to conversion by customer.segment", "retention from awareness every month periods 3 by account.industry", "paths from awareness to conversion", "attribution model linear"][next(4)])\(f) count accounts")
            statements.append(["accounts who reached intent and not reached stage:conversion limit \(1 + next(12))\(f)",
                               "pauses longer than \([30, 60][next(2)])d open limit \(1 + next(9))\(f) count accounts",
                               "customers matching awareness then intent limit \(1 + next(9))\(f) count accounts",
                               "count matching consideration then conversion within 180d\(["", " by customer.segment", " by channel"][next(3)])\(f) count accounts"][next(4)])
        }
        for s in statements {
            let native = try csv([SavedQueryTests.store, "-c", s])
            #expect(native.status == 0, "\(s): \(native.err)")
            for url in [pushed.single, pushed.cluster] {
                let remote = try csv(["--clickhouse", url, "-c", s])
                #expect(remote.status == 0 && same(remote.out, native.out), "\(s) on \(url):\n\(remote.out)\(remote.err)\nnative:\n\(native.out)")
            }
        }
    }

    /// A store of short journeys whose events mostly share their day (so ties everywhere, in shuffled file order),
    /// pushed to one server and to the cluster: the general funnel (strict and any order, optional steps,
    /// exclusions, `same`, every tie rule, entry first and best) must give the native answer on both.
    static let tied: (store: String, single: String, cluster: String)? = {
        guard let (a, b) = ClickHouseServers.urls else { return nil }
        let d = tempDir()
        var seed: UInt64 = 2026
        func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(n)) }
        let stages = ["awareness", "consideration", "intent", "conversion", "retention"]
        var lines = ["customer_id,timestamp,event,stage,channel"]
        for c in 0..<400 {
            for _ in 0..<(1 + next(14)) {
                let day = 1 + next(20), hour = [0, 0, 0, 12][next(4)]
                lines.append("c\(c),2025-03-\(String(format: "%02d", day))T\(String(format: "%02d", hour)):00:00Z,e\(next(4)),\(stages[next(5)]),\(["email", "website", "linkedin"][next(3)])")
            }
        }
        try? (lines.joined(separator: "\n") + "\n").write(toFile: d + "/t.csv", atomically: true, encoding: .utf8)
        let store = d + "/t.journey"
        guard (try? journey(["import", d + "/t.csv", "--into", store, "--no-progress"]))?.status == 0 else { return nil }
        let db = "g\(UInt32.random(in: 0...UInt32.max))"
        let single = a + "?database=\(db)", cluster = a + "?database=\(db)c"
        guard (try? journey(["push", store, "--clickhouse", single]))?.status == 0,
              (try? journey(["push", store, "--clickhouse", cluster, "--cluster", "journey_2shards", "--shard", a, "--shard", b]))?.status == 0 else { return nil }
        return (store, single, cluster)
    }()

    @Test func generalFunnelsOnTiedJourneys() throws {
        guard let t = Self.tied else { Issue.record("no servers or store"); return }
        var seed: UInt64 = 91
        func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(n)) }
        let steps = ["awareness", "consideration", "intent", "conversion", "event:e1", "channel:email", "stage:intent or channel = linkedin", "event:e2"]
        var statements: [String] = []
        for _ in 0..<70 {
            let order = ["", "", " order strict", " order any"][next(4)]
            let n = 2 + next(3)
            var s = "funnel " + (0..<n).map { k in
                steps[next(steps.count)] + (k > 0 && order != " order any" && next(3) == 0 ? "?" : "") + (k > 0 && next(5) == 0 ? " within \(1 + next(6))d" : "")
            }.joined(separator: " > ")
            if next(2) == 0 {
                let from = 1 + next(n - 1), to = from + 1 + next(n - from)
                s += " excluding \(["channel:website", "event:e3", "retention"][next(3)])" + (next(2) == 0 ? " between \(from) and \(to)" : "")
            }
            if next(4) == 0 { s += " same channel" }
            if next(2) == 0 { s += " within \([3, 7, 15][next(3)])d" }
            s += order
            s += ["", " ties in import order", order == " order any" ? "" : " strictly later"][next(3)]
            s += ["", " entry best"][next(2)]
            s += ["", "", " by channel", " by stage at step 2", " where channel != linkedin"][next(5)]
            statements.append(s)
        }
        // Patterns read ties in their own tie order (by the pattern's steps as written).
        let atoms = ["awareness", "e1", "e2", "intent", "channel = email", "(conversion | e3)", "any"]
        for _ in 0..<20 {
            func atom() -> String { atoms[next(atoms.count)] + ["", "", "+", "?", "{2}"][next(5)] }
            var p = atom()
            for _ in 0..<(1 + next(2)) { p += [" then ", " ", " then "][next(3)] + atom() }
            if p.hasPrefix("any?") { p = "e0 " + p }
            statements.append("\(["count", "customers"][next(2)]) matching \(p)\(["", " within 2d", " within 10d"][next(3)])\(["", " where channel != linkedin"][next(2)])")
        }
        for s in statements {
            let native = try csv([t.store, "-c", s])
            guard native.status == 0 else { Issue.record("\(s): \(native.err)"); continue }
            for url in [t.single, t.cluster] {
                let remote = try csv(["--clickhouse", url, "-c", s])
                #expect(remote.status == 0 && same(remote.out, native.out), "\(s) on \(url):\n\(remote.out)\(remote.err)\nnative:\n\(native.out)")
            }
        }
    }

    /// Every saved script: where ClickHouse runs it, the answers are the native ones; where a statement is not
    /// translated yet, the run stops with a message naming it (never a wrong answer).
    @Test func savedScriptsRunOrSayWhatIsNotTranslated() throws {
        guard let pushed = Self.pushed else { Issue.record("no servers"); return }
        for name in SavedQueryTests.scripts {
            let script = SavedQueryTests.root.appendingPathComponent("queries/\(name)").path
            let native = try csv([SavedQueryTests.store, "-f", script])
            for url in [pushed.single, pushed.cluster] {
                let remote = try csv(["--clickhouse", url, "-f", script])
                if remote.status == 0 { #expect(same(remote.out, native.out), "\(name) on \(url)") }
                else {
                    #expect(remote.err.contains("is not translated to ClickHouse yet"), "\(name): \(remote.err)")
                    #expect(native.out.hasPrefix(remote.out), "\(name): what ran before the stop equals the native output")
                }
            }
        }
    }

    /// Names and values with quotes, backslashes, SQL and invalid UTF-8 reach ClickHouse as inert literals: the
    /// server hands back exactly the bytes, the filters find what the native engine finds, and no table is lost.
    @Test func hostileNamesAndValuesStayInert() throws {
        guard let (a, _) = ClickHouseServers.urls else { Issue.record("no servers"); return }
        let d = tempDir()
        let hostile = ["it's", "back\\slash", "x'; DROP TABLE events; --", "tab\there", "\"quoted\"", "naïve ünïcode", "semi;colon"]
        var lines = ["customer_id,timestamp,event,stage,channel"], customers = ["customer_id,segment"]
        for (k, h) in hostile.enumerated() {
            let q = "\"" + h.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            lines.append("c\(k),2025-01-0\(1 + k % 9)T10:00:00Z,\(q),awareness,email")
            lines.append("c\(k),2025-02-0\(1 + k % 9)T10:00:00Z,buy,conversion,web")
            customers.append("c\(k),\(q)")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: d + "/e.csv", atomically: true, encoding: .utf8)
        try (customers.joined(separator: "\n") + "\n").write(toFile: d + "/customers.csv", atomically: true, encoding: .utf8)
        #expect(try journey(["import", d + "/e.csv", d + "/customers.csv", "--into", d + "/h.journey", "--no-progress"]).status == 0)
        // The master data is there: each hostile segment names one customer.
        #expect(try csv([d + "/h.journey", "-c", "count customers by customer.segment"]).out.split(separator: "\n").count == hostile.count + 1)
        let db = "h\(UInt32.random(in: 0...UInt32.max))"
        let url = a + "?database=\(db)"
        let push = try journey(["push", d + "/h.journey", "--clickhouse", url])
        #expect(push.status == 0, "\(push.err)")
        for h in hostile {
            let lit = "\"" + h.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            for s in ["count customers where customer.segment = \(lit)", "funnel event:\(lit) > conversion", "count events where event = \(lit)"] {
                let native = try csv([d + "/h.journey", "-c", s]), remote = try csv(["--clickhouse", url, "-c", s])
                #expect(native.status == remote.status && native.out == remote.out, "\(s): \(native.out)\(native.err) vs \(remote.out)\(remote.err)")
            }
        }
        #expect(try ClickHouseServers.query(a, "EXISTS TABLE \(db).events").hasPrefix("1"))
        // Raw bytes (invalid UTF-8 among them) round-trip through the escaping unchanged: the server reads back
        // exactly the bytes that went in.
        let samples: [[UInt8]] = hostile.map { Array($0.utf8) } + [[0xFF, 0xFE, 0x27, 0x5C], [0x27, 0x3B, 0x00, 0x0A, 0x80], Array("\\'\\".utf8)]
        for bytes in samples {
            let literal = SQL.bytes(bytes)
            #expect(literal.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "the query text is plain ASCII")
            let hex = try ClickHouseServers.query(a, "SELECT hex(\(literal))").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(hex == bytes.map { String(format: "%02X", $0) }.joined(), "\(bytes): \(hex)")
        }
    }

    /// Imported event properties filter and group on ClickHouse as natively (the store of BreakdownTests has `plan`).
    @Test func importedPropertiesFilterAndGroupAsNatively() throws {
        guard let (a, b) = ClickHouseServers.urls else { Issue.record("no servers"); return }
        let db = "p\(UInt32.random(in: 0...UInt32.max))"
        let single = a + "?database=\(db)", cluster = a + "?database=\(db)c"
        #expect(try journey(["push", BreakdownTests.store, "--clickhouse", single]).status == 0)
        #expect(try journey(["push", BreakdownTests.store, "--clickhouse", cluster, "--cluster", "journey_2shards", "--shard", a, "--shard", b]).status == 0)
        for s in ["count customers where plan = pro", "count events by channel where plan != pro", "funnel awareness > conversion where plan is null",
                  "count customers where plan in (free, pro)", "funnel (awareness and plan = free) > conversion within 60d by device",
                  "time from awareness to conversion where touched plan = pro", "paths from awareness to conversion where not plan is null",
                  "attribution model linear where plan ~ r", "funnel awareness > conversion where plan = pro count accounts",
                  "paths from awareness to conversion where not plan is null count accounts",
                  // `by` an imported property (its value joined to each event), with journey-level filters too.
                  "count customers by plan", "count events by channel, plan", "funnel awareness > conversion by plan at step 2 where touched channel:email",
                  "funnel awareness > consideration? > conversion order strict by plan", "time from awareness to conversion by plan",
                  "retention from awareness every month periods 3 by plan", "count matching awareness then conversion by plan where touched channel:email",
                  "funnel awareness > conversion by plan count accounts"] {
            let native = try csv([BreakdownTests.store, "-c", s])
            for url in [single, cluster] {
                let remote = try csv(["--clickhouse", url, "-c", s])
                #expect(remote.status == 0 && same(remote.out, native.out), "\(s) on \(url): \(remote.out)\(remote.err) vs \(native.out)")
            }
        }
    }

    /// An interrupted push resumes without duplicates: a batch that reached the server only in part is completed
    /// (its customers already there are skipped), the batches logged are not sent again.
    @Test func pushResumesWithoutDuplicates() throws {
        guard let (a, _) = ClickHouseServers.urls else { Issue.record("no servers"); return }
        let db = "r\(UInt32.random(in: 0...UInt32.max))"
        let url = a + "?database=\(db)"
        let env = ["JOURNEY_PUSH_BATCH_EVENTS": "2000"]
        #expect(try journey(["push", SavedQueryTests.store, "--clickhouse", url], env: env).status == 0)
        // As if interrupted: the last two batches not logged, the last one's events half there, the one before gone.
        let log = try ClickHouseServers.query(a, "SELECT batch, lo, hi FROM \(db).push_log ORDER BY batch DESC LIMIT 2 FORMAT TSV")
            .split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(log.count == 2)
        guard log.count == 2 else { return }
        let (last, prev) = (log[0], log[1])
        for q in ["ALTER TABLE \(db).push_log DELETE WHERE batch >= \(prev[0])",
                  "ALTER TABLE \(db).events DELETE WHERE (customer >= \(prev[1]) AND customer <= \(prev[2])) OR (customer >= \(last[1]) AND customer <= \(last[2]) AND customer % 2 = 0)"] {
            _ = try ClickHouseServers.query(a, q)
        }
        // Mutations run in the background: wait until they are done (a condition, not a time).
        var done = false
        for _ in 0..<600 where !done {
            done = try ClickHouseServers.query(a, "SELECT count() FROM system.mutations WHERE database = '\(db)' AND is_done = 0").hasPrefix("0")
            if !done { usleep(20_000) }
        }
        #expect(done)
        let resumed = try journey(["push", SavedQueryTests.store, "--clickhouse", url], env: env)
        #expect(resumed.status == 0 && resumed.out.contains("already there"), "\(resumed.out)\(resumed.err)")
        let dupes = try ClickHouseServers.query(a, "SELECT count() - uniqExact((customer, seq)) FROM \(db).events")
        #expect(dupes.hasPrefix("0\n"), "duplicates: \(dupes)")
        let total = try ClickHouseServers.query(a, "SELECT count() FROM \(db).events").trimmingCharacters(in: .whitespacesAndNewlines)
        let native = try csv([SavedQueryTests.store, "-c", "count events"]).out.split(separator: "\n")[1].split(separator: ",")[0]
        #expect(total == String(native))
    }

    /// A push killed at every one of its crash points (each write it sends: DDL, a batch's INSERT, its push_log
    /// row, the small tables), then run again: every table holds what one uninterrupted push gives, nothing twice.
    @Test func pushKilledAtEveryPointResumesExactly() throws {
        guard let (a, _) = ClickHouseServers.urls else { Issue.record("no servers"); return }
        let run = "k\(UInt32.random(in: 0...UInt32.max))"
        let env = ["JOURNEY_PUSH_BATCH_EVENTS": "2000"]
        let tables = ["events", "dictionary", "customers", "attributes", "meta", "push_log", "properties"]
        func counts(_ db: String) throws -> [String] {
            try tables.map { try ClickHouseServers.query(a, "SELECT count() FROM \(db).\($0)").trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        let whole = try ReliabilityTests.run(["push", SavedQueryTests.store, "--clickhouse", a + "?database=\(run)_whole"],
                                             env: env.merging(["JOURNEY_CRASH_AT": "count"]) { $1 })
        #expect(whole.status == 0, "\(whole.err)")
        let expected = try counts("\(run)_whole")
        let points = try #require(ReliabilityTests.crashPoints(whole))
        #expect(points >= 8, "a crash point per batch at least (\(points))")
        for k in 1...points {
            let url = a + "?database=\(run)_\(k)"
            let killed = try ReliabilityTests.run(["push", SavedQueryTests.store, "--clickhouse", url], env: env.merging(["JOURNEY_CRASH_AT": String(k)]) { $1 })
            #expect(killed.killed, "point \(k): not killed (\(killed.status)) \(killed.err)")
            let again = try ReliabilityTests.run(["push", SavedQueryTests.store, "--clickhouse", url], env: env)
            #expect(again.status == 0, "point \(k): the rerun failed: \(again.err)")
            #expect(try counts("\(run)_\(k)") == expected, "point \(k) of \(points): tables differ from one whole push (\(tables))")
            let dupes = try ClickHouseServers.query(a, "SELECT count() - uniqExact((customer, seq)) FROM \(run)_\(k).events")
            #expect(dupes.hasPrefix("0\n"), "point \(k): duplicates \(dupes)")
            _ = try ClickHouseServers.query(a, "DROP DATABASE IF EXISTS \(run)_\(k)")
        }
        _ = try ClickHouseServers.query(a, "DROP DATABASE IF EXISTS \(run)_whole")
    }

    /// A query over its time (JOURNEY_CLICKHOUSE_TIMEOUT) stops with a message saying what to do, and is killed
    /// on the server, not left running there.
    @Test func aSlowQueryTimesOutAndIsKilled() throws {
        guard let (a, _) = ClickHouseServers.urls else { Issue.record("no servers"); return }
        let db = "s\(UInt32.random(in: 0...UInt32.max))"
        let url = a + "?database=\(db)"
        #expect(try journey(["push", SavedQueryTests.store, "--clickhouse", url]).status == 0)
        _ = try ClickHouseServers.query(a, """
            INSERT INTO \(db).events SELECT intDiv(number, 50) + 100000, toInt64(number), toUInt32(number % 50), toUInt32(1 + number % 2), toUInt16(0),
                   toUInt8(1 + 4 * (number % 2)), toUInt8(0), toUInt32(0), toUInt16(0), toUInt16(0), nan FROM numbers(8000000)
            """)
        let slow = try journey(["--clickhouse", url, "-c", "funnel awareness > conversion > awareness > conversion > awareness > conversion within 3650d entry best"],
                               env: ["JOURNEY_CLICKHOUSE_TIMEOUT": "1"])
        #expect(slow.status == 1 && slow.err.contains("did not answer within 1 s") && slow.err.contains("JOURNEY_CLICKHOUSE_TIMEOUT"), "\(slow.err)")
        var gone = false
        for _ in 0..<200 where !gone {
            gone = try ClickHouseServers.query(a, "SELECT count() FROM system.processes WHERE query LIKE '%\(db).events%' AND query NOT LIKE '%system.processes%'").hasPrefix("0")
            if !gone { usleep(50_000) }
        }
        #expect(gone, "the query still runs on the server after the timeout")
        _ = try ClickHouseServers.query(a, "DROP DATABASE \(db)")
    }

    /// Down, wrong password, a server-side error: one message naming the server and what to do.
    @Test func failuresAreExplained() throws {
        guard let (a, _) = ClickHouseServers.urls, let pushed = Self.pushed else { Issue.record("no servers"); return }
        let down = try journey(["--clickhouse", "http://127.0.0.1:1/?database=x", "-c", "count customers"])
        #expect(down.status == 1 && down.err.contains("cannot reach the ClickHouse server at http://127.0.0.1:1/"), "\(down.err)")
        let wrong = try journey(["--clickhouse", a + "?database=x&user=analyst", "-c", "count customers"], env: ["JOURNEY_CLICKHOUSE_PASSWORD": "nope"])
        #expect(wrong.status == 1 && wrong.err.contains("wrong or missing password") && !wrong.err.contains("nope"), "\(wrong.err)")
        let empty = try journey(["--clickhouse", a + "?database=nothing_here", "-c", "count customers"])
        #expect(empty.status == 1 && empty.err.contains("answered with an error"), "\(empty.err)")
        let untranslated = try journey(["--clickhouse", pushed.single, "-c", "quality"])
        #expect(untranslated.status == 1 && untranslated.err.contains("quality (it reads the local store's import records) is not translated to ClickHouse yet"), "\(untranslated.err)")
    }
}
