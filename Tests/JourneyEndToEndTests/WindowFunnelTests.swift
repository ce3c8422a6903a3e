import Foundation
import Testing
import JourneyTestSupport

/// The default tie rule against ClickHouse's own `windowFunnel` (chDB, from PyPI; `make test` installs it) on
/// generated journeys where most events share their day with another and stand in the file in random order.
@Suite struct WindowFunnelTests {
    static let stages = ["awareness", "consideration", "intent", "conversion", "retention"]

    /// A CSV of 3,000 customers, 1–14 events each on a few days (ties everywhere), rows shuffled per customer.
    func tieHeavyCSV(_ path: String) throws {
        var seed: UInt64 = 11
        func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(n)) }
        var lines = ["customer_id,timestamp,event,stage"]
        for c in 0..<3000 {
            var rows: [String] = []
            var day = next(20)
            for _ in 0..<(1 + next(14)) {
                day += next(3)   // two out of three events land on a day that already has one
                let stage = Self.stages[next(Self.stages.count)]
                rows.append(String(format: "C%05d,2025-01-%02dT00:00:00Z,%@_touch,%@", c, 1 + day % 28, stage, stage))
            }
            // Shuffle: the file order of tied events means nothing.
            for i in stride(from: rows.count - 1, to: 0, by: -1) { rows.swapAt(i, next(i + 1)) }
            lines += rows
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    func journeyCounts(_ store: String, _ statement: String) throws -> [Int] {
        let r = try journey([store, "-c", statement, "--mode", "csv"])
        #expect(r.status == 0, "\(r.err)")
        return r.out.split(separator: "\n").dropFirst().map { Int($0.split(separator: ",")[1]) ?? -1 }
    }

    func chdbCounts(_ csv: String, mode: String) throws -> [Int] {
        let conds = Self.stages.prefix(4).map { "stage = '\($0)'" }.joined(separator: ", ")
        let sql = "SELECT " + (1...4).map { "countIf(l >= \($0))" }.joined(separator: ", ")
            + " FROM (SELECT customer_id, windowFunnel(\(7 * 86_400_000)\(mode))(toUInt64(toUnixTimestamp64Milli(parseDateTime64BestEffort(timestamp, 3))), \(conds)) AS l"
            + " FROM file('\(csv)', CSVWithNames, 'customer_id String, timestamp String, event String, stage String') GROUP BY customer_id)"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys, chdb; print(chdb.query(sys.argv[1], 'CSV'))", sql]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "chdb: \(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).suffix(400))")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").map { Int($0) ?? -1 }
    }

    @Test func defaultTieRuleEqualsWindowFunnel() throws {
        let d = tempDir()
        try tieHeavyCSV(d + "/events.csv")
        let imp = try journey(["import", d + "/events.csv", "--into", d + "/s.journey", "--no-progress"])
        #expect(imp.status == 0, "\(imp.err)")
        let funnel = "funnel awareness > consideration > intent > conversion within 7d entry best"
        let ours = try journeyCounts(d + "/s.journey", funnel)
        let theirs = try chdbCounts(d + "/events.csv", mode: "")
        #expect(ours == theirs && ours.count == 4 && ours[3] > 0, "journey \(ours), windowFunnel \(theirs)")
        // The old rule gives other numbers on this file (else the data would not test the rule).
        #expect(try journeyCounts(d + "/s.journey", funnel + " ties in import order") != ours)
        // strictly later vs strict_increase: equal entries; strict_increase keeps one state per step and loses a
        // chain when a later entry shares the next step's time (docs/semantics.md), so it never counts more.
        let later = try journeyCounts(d + "/s.journey", funnel + " strictly later")
        let increase = try chdbCounts(d + "/events.csv", mode: ", 'strict_increase'")
        #expect(later.count == 4 && increase.count == 4 && later[0] == increase[0] && zip(later, increase).allSatisfy { $0 >= $1 },
                "journey \(later), strict_increase \(increase)")
    }
}
