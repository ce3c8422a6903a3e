import Foundation
import Testing
import JourneyTestSupport

/// `explain` prints the logical plan and the native physical plan of every statement kind; the text is pinned
/// here (golden/explain.csv), so a change in what a statement means or how it runs shows up as a reviewed diff.
/// Re-record after a deliberate change with JOURNEY_RECORD=1.
@Suite struct ExplainTests {
    static var root: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }

    static let statements = [
        "funnel awareness > consideration > intent > conversion within 30d",
        "funnel awareness > conversion where plan = pro and customer.segment = smb",
        "funnel awareness > intent? > conversion within 60d > event:conversion_touch order strict entry best same channel by device at step 2",
        "funnel awareness > conversion excluding channel = email ties in import order count accounts",
        "paths from awareness to conversion within 90d show channel top 5",
        "paths to conversion previous 3 where not plan is null",
        "time from awareness to conversion by plan",
        "dropoff after consideration where channel in (linkedin, email)",
        "dropoff after event:awareness_touch to intent",
        "count customers by channel, plan where touched stage:conversion",
        "count events by month(timestamp) top 3",
        "top 3 campaigns where kind = paid",
        "pauses longer than 30d open limit 5",
        "customers who reached intent and not reached conversion and no touch for 14d limit 3",
        "accounts who reached conversion",
        "customers matching awareness then (consideration | intent)+ within 60d",
        "count matching awareness conversion by source",
        "attribution model markov order 2 by channel lookback 60d where plan != free",
        "attribution of stage:intent model position 30 40 30",
        "touchpoints by channel top 5",
        "gaps for stage:conversion",
        "retention from awareness returning conversion every month periods 4 by customer.segment",
        "stats where value > 100",
        "value by customer.segment horizon 180d",
        "forecast months 3",
        "quality",
    ]

    @Test func explainTextOfEveryStatementKind() throws {
        var out = ""
        for s in Self.statements {
            let r = try journey([BreakdownTests.store, "-c", "explain " + s, "--mode", "csv"])
            #expect(r.status == 0, "\(s): \(r.err)")
            out += "# explain \(s)\n" + r.out + "\n"
        }
        // Every kind ends with what it gives on this store, in numbers.
        for block in out.components(separatedBy: "# explain ").dropFirst() {
            let last = block.split(separator: "\n").last { $0.hasPrefix("on this store,") }
            #expect(last?.contains { $0.isNumber } == true, "explain \(block.prefix(60)): no 'on this store' row with numbers")
        }
        let path = Self.root.appendingPathComponent("Tests/JourneyEndToEndTests/golden/explain.csv").path
        if ProcessInfo.processInfo.environment["JOURNEY_RECORD"] != nil {
            try out.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(out == expected, "explain output differs from \(path) (JOURNEY_RECORD=1 re-records)")
    }

    /// A script with several mistakes reports every one (file:line:column, the statement's own did-you-mean),
    /// and runs nothing.
    @Test func aScriptReportsEveryErrorAndRunsNothing() throws {
        let d = tempDir()
        let script = d + "/bad.jql"
        try """
        count customers
        funnel awareness > conversoin
        count customers by chanel; top 3 channels
        set n = 3
        paths from awareness nxt $n
        time from awareness to conversion by plan
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let r = try journey([BreakdownTests.store, "-f", script])
        #expect(r.status == 1)
        #expect(r.out.isEmpty, "nothing runs: \(r.out)")
        for (at, hint) in [("bad.jql:2:20: error: unknown stage 'conversoin'", "did you mean 'conversion'?"),
                           ("bad.jql:3:20: error: unknown field 'chanel'", "did you mean 'channel'?"),
                           ("bad.jql:5:22: error: unexpected 'nxt' after the end of the statement", "did you mean 'next'?")] {
            #expect(r.err.contains(at) && r.err.contains(hint), "\(at): \(r.err)")
        }
        #expect(r.err.contains("3 errors; nothing was run"))
        // A correct script still runs as before.
        try "count customers\ntop 3 channels\n".write(toFile: script, atomically: true, encoding: .utf8)
        let ok = try journey([BreakdownTests.store, "-f", script, "--mode", "csv"])
        #expect(ok.status == 0 && ok.out.contains("customers,share"), "\(ok.out)\(ok.err)")
    }
}
