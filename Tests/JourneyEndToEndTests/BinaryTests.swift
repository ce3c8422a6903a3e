import Foundation
import Testing

/// Runs the built `journey` binary (debug build beside the test bundle).
func journey(_ args: [String], stdin: String? = nil, env: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binaryPath())
    p.arguments = args
    var e = ProcessInfo.processInfo.environment
    for (k, v) in env { e[k] = v }
    p.environment = e
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out; p.standardError = err; p.standardInput = inp
    try p.run()
    if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
    try inp.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile(), r = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: r, as: UTF8.self))
}

func binaryPath() -> String {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent(".build/debug/journey").path
}


import JourneyTestSupport

@Suite(.serialized) struct BinaryTests {
    /// Nothing a user gets wrong is silently accepted: a misspelled parameter or store, a parameter of the
    /// wrong kind, a failed import into a new store.
    @Test func mistakesAreReportedNotIgnored() throws {
        let d = tempDir()
        try "customer_id,timestamp,event,stage\nc1,2025-01-01T00:00:00Z,ad,awareness\nc1,2025-01-02T00:00:00Z,buy,conversion\n"
            .write(toFile: d + "/e.csv", atomically: true, encoding: .utf8)
        #expect(try journey(["import", d + "/e.csv", "--into", d + "/s.journey"]).status == 0)
        try "set window = 30d\nfunnel awareness > conversion within $window\n".write(toFile: d + "/p.jql", atomically: true, encoding: .utf8)
        let typo = try journey([d + "/s.journey", "-f", d + "/p.jql", "--param", "windw=3d"])
        #expect(typo.status == 1 && typo.err.contains("--param windw: the statements have no parameter 'windw'; did you mean 'window'?"), "\(typo.err)")
        let banana = try journey([d + "/s.journey", "-f", d + "/p.jql", "--param", "window=banana"])
        #expect(banana.status == 1 && banana.err.contains("p.jql:2:38: error: expected a duration such as 30d, but $window is 'banana'"), "\(banana.err)")
        #expect(try journey([d + "/s.journey", "-f", d + "/p.jql", "--param", "window=3d"]).status == 0)
        // A batch run on a store that is not there: an error with the nearest name, and no store created.
        let missing = try journey([d + "/s.journy", "-c", "stats"])
        #expect(missing.status == 1 && missing.err.contains("did you mean '\(d)/s.journey'?"), "\(missing.err)")
        #expect(!FileManager.default.fileExists(atPath: d + "/s.journy"))
        #expect(try journey([d + "/new.journey", "--create", "-c", "stats"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: d + "/new.journey"))
        // An import that fails into a new store leaves no store behind; into an existing one it keeps the data.
        let failed = try journey(["import", d + "/nope.csv", "--into", d + "/n.journey"])
        #expect(failed.status == 1 && !FileManager.default.fileExists(atPath: d + "/n.journey"))
        #expect(try journey(["import", d + "/nope.csv", "--into", d + "/s.journey"]).status == 1)
        #expect(try journey([d + "/s.journey", "-c", "count events", "--mode", "csv"]).out.contains("\n2,"))
        // --mode json: one JSON document per result table, one per line (JSON Lines), never arrays run together.
        let json = try journey([d + "/s.journey", "-c", "count events", "-c", "time from awareness to conversion", "--mode", "json"])
        let docs = json.out.split(separator: "\n").filter { !$0.isEmpty }
        #expect(docs.count == 3, "\(json.out)")
        for doc in docs { #expect((try? JSONSerialization.jsonObject(with: Data(doc.utf8))) is [[String: Any]], "\(doc)") }
        // Import says how it read the columns and what it could not read as meant.
        try "customer_id,timestamp,event,source,value,plan\nc1,2025-01-01T00:00:00Z,ad,linkedin,\"1,000\",pro\nc1,2025-01-02T00:00:00Z,buy,email,\"1,5\",free\nc2,yesterday,ad,,,\n"
            .write(toFile: d + "/v.csv", atomically: true, encoding: .utf8)
        let v = try journey(["import", d + "/v.csv", "--into", d + "/v.journey"])
        #expect(v.out.contains("columns: customer_id, timestamp, event, source, value; kept as properties: plan"), "\(v.out)")
        #expect(v.out.contains("warning: 1 values are not numbers (line 3: '1,5')"), "\(v.out)")
        #expect(v.out.contains("--map source=channel"), "\(v.out)")
        #expect(try journey([d + "/v.journey", "-c", "count events by value", "--mode", "csv"]).out.contains("1000,1,"))   // "1,000" read as 1000
        let shell = try journey([d + "/v.journey"], stdin: ".quarantine\n.mode tabel\n")
        #expect(shell.out.contains("bad timestamp") && shell.out.contains("1 rows in quarantine"), "\(shell.out)")
        #expect(shell.err.contains("unknown mode 'tabel' — did you mean 'table'?"), "\(shell.err)")
    }

    @Test func batchQueriesAndErrors() throws {
        let d = tempDir()
        _ = try journey(["generate", "--profile", "b2b", "--customers", "300", "--seed", "5", "--out", d + "/events.csv"])
        let imp = try journey(["import", d + "/events.csv", d + "/customers.csv", d + "/touchpoints.csv", "--into", d + "/s.journey"])
        #expect(imp.status == 0 || imp.status == 2, "\(imp.err)")
        #expect(!imp.err.contains("ETA") && !imp.err.contains("\r"))   // no progress bar when not a terminal
        // The import's numbers reconcile: rows read = added + merged + already stored + quarantined, and `count
        // events` counts exactly the events added (the generated file is dirty: duplicates, two sources, bad rows).
        func number(_ pattern: String) -> Int? {
            guard let r = imp.out.range(of: pattern, options: .regularExpression) else { return nil }
            return Int(imp.out[r].filter(\.isNumber))
        }
        let read = number("events.csv: [0-9,]+ rows read"), added = number("[0-9,]+ events added to queries")
        let exact = number("[0-9,]+ exact duplicates"), twoSources = number("[0-9,]+ recorded by two sources")
        let already = number("already in the store: [0-9,]+"), quarantined = number("; quarantined: [0-9,]+")
        #expect(read != nil && added != nil && exact != nil && twoSources != nil && already != nil && quarantined != nil, "\(imp.out)")
        #expect(read == (added ?? 0) + (exact ?? 0) + (twoSources ?? 0) + (already ?? 0) + (quarantined ?? 0), "\(imp.out)")
        #expect((twoSources ?? 0) > 0 && (exact ?? 0) > 0)
        let counted = try journey([d + "/s.journey", "-c", "count events", "--mode", "csv"])
        #expect(counted.out.split(separator: "\n").dropFirst().first.map { Int($0.split(separator: ",")[0]) } == added)
        let ok = try journey([d + "/s.journey", "-c", "funnel awareness > consideration > conversion", "--mode", "csv"])
        #expect(ok.status == 0)
        #expect(ok.out.hasPrefix("step,customers,% of first (fraction)"))
        // Account level: statements over each account's merged journey, rows named by account.
        let who = try journey([d + "/s.journey", "-c", "accounts who reached awareness limit 3", "--mode", "csv"])
        let whoRows = who.out.split(separator: "\n")
        #expect(whoRows.first?.hasPrefix("account,") == true && whoRows.dropFirst().allSatisfy { $0.hasPrefix("A") }, "\(who.out) \(who.err)")
        let accountPaths = try journey([d + "/s.journey", "-c", "paths from awareness to conversion count accounts top 3", "--mode", "csv"])
        #expect(accountPaths.status == 0 && accountPaths.out.hasPrefix("path,accounts,share"), "\(accountPaths.out) \(accountPaths.err)")
        let accountMatches = try journey([d + "/s.journey", "-c", "count matching awareness then conversion by customer.segment count accounts", "--mode", "csv"])
        #expect(accountMatches.status == 0 && accountMatches.out.hasPrefix("customer.segment,accounts,share"), "\(accountMatches.out) \(accountMatches.err)")
        let accountFunnel = try journey([d + "/s.journey", "-c", "funnel awareness > conversion count accounts", "--mode", "csv"])
        let personFunnel = try journey([d + "/s.journey", "-c", "funnel awareness > conversion", "--mode", "csv"])
        let first = { (o: String) in Int(o.split(separator: "\n")[1].split(separator: ",")[1]) ?? -1 }
        #expect(first(accountFunnel.out) > 0 && first(accountFunnel.out) < first(personFunnel.out))
        let q = try journey([d + "/s.journey", "-c", "quality"])
        #expect(q.status == 0 && q.out.contains("events per customer") && q.out.contains("duplicates"))
        let bad = try journey([d + "/s.journey", "-c", "funnel awarness > conversion"])
        #expect(bad.status == 1 && bad.err.contains("did you mean 'awareness'?"))
        try "stats\n\nfunnel awareness >\n  intrest\n".write(toFile: d + "/q.jql", atomically: true, encoding: .utf8)
        let script = try journey([d + "/s.journey", "-f", d + "/q.jql"])
        #expect(script.status == 1 && script.err.contains("q.jql:4:3: error: unknown stage 'intrest'"))
        // A line that is indented or starts with a clause keyword continues the statement before it.
        try "funnel awareness > conversion\n    within 90d\ncount events\nby channel\n".write(toFile: d + "/cont.jql", atomically: true, encoding: .utf8)
        let continued = try journey([d + "/s.journey", "-f", d + "/cont.jql"])
        #expect(continued.status == 0 && continued.out.contains("window: 90d") && continued.out.contains("│ channel "), "\(continued.out) \(continued.err)")
        // A script that stops mid-statement: the error points just after the last token, not at a blank line.
        try "-- weekly\nstats\n\nfunnel awareness >\n\n".write(toFile: d + "/end.jql", atomically: true, encoding: .utf8)
        let ended = try journey([d + "/s.journey", "-f", d + "/end.jql"])
        #expect(ended.status == 1 && ended.err.contains("end.jql:4:19: error: expected a step after '>', but the statement ended"), "\(ended.err)")
        // .save keeps the statements that worked, as a script that runs again.
        let explore = try journey([d + "/s.journey"], stdin: "top 3 channels\ncount customers by channel\n.save \(d)/saved.jql\n")
        #expect(explore.status == 0, "\(explore.err)")
        let savedScript = try String(contentsOfFile: d + "/saved.jql", encoding: .utf8)
        #expect(savedScript.contains("-- ## 1. top 3 channels\ntop 3 channels;\n\n-- ## 2. count customers by channel\ncount customers by channel;"), "\(savedScript)")
        let rerun = try journey([d + "/s.journey", "-f", d + "/saved.jql"])
        #expect(rerun.status == 0 && rerun.out.contains("top channels") && rerun.out.contains("count customers"))
        // --param wins over the script's own `set` (its default).
        try "set window = 180d\nfunnel awareness > conversion within $window\n".write(toFile: d + "/p.jql", atomically: true, encoding: .utf8)
        let byDefault = try journey([d + "/s.journey", "-f", d + "/p.jql"])
        let pinned = try journey([d + "/s.journey", "-f", d + "/p.jql", "--param", "window=7d"])
        #expect(byDefault.out.contains("window: 180d") && pinned.out.contains("window: 7d"))
        let piped = try journey([d + "/s.journey"], stdin: "top 3 channels;\n")
        #expect(piped.status == 0 && piped.out.contains("top channels") && !piped.out.contains("journey>"))
    }
}
