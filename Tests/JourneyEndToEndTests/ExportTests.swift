import Foundation
import Testing
import JourneyTestSupport

/// `journey export`: every stored event back out, in CSV and NDJSON; a store made from the export exports the
/// same file (nothing lost, nothing added), and answers the same.
@Suite(.serialized) struct ExportTests {
    @Test func exportImportExportIsTheSameFile() throws {
        let d = tempDir()
        // Dirty generated data: spellings, cross-source duplicates, anonymous ids stitched, bad rows quarantined.
        _ = try journey(["generate", "--profile", "b2c", "--customers", "3000", "--seed", "11", "--out", d + "/e.csv"])
        _ = try journey(["import", d + "/e-touchpoints.csv", d + "/e.csv", "--into", d + "/a.journey", "--no-progress"])
        let first = try journey(["export", d + "/a.journey", "--out", d + "/a.csv"])
        #expect(first.status == 0, "\(first.err)")
        let stored = try ReliabilityTests.run([d + "/a.journey", "-c", "quality", "--mode", "csv"]).out
        let rows = try String(contentsOfFile: d + "/a.csv", encoding: .utf8).split(separator: "\n").count - 1
        #expect(first.out.contains("\(rows.grouped) events exported"))
        for format in ["csv", "ndjson"] {
            let file = d + "/a.\(format)"
            if format == "ndjson" { #expect(try journey(["export", d + "/a.journey", "--out", file]).status == 0) }
            let store = d + "/b-\(format).journey"
            #expect(try journey(["import", d + "/e-touchpoints.csv", file, "--into", store, "--no-progress"]).status == 0)
            #expect(try journey(["export", store, "--out", d + "/b-\(format).csv"]).status == 0)
            let again = try String(contentsOfFile: d + "/b-\(format).csv", encoding: .utf8)
            #expect(again == (try String(contentsOfFile: d + "/a.csv", encoding: .utf8)), "\(format): the round trip changed the file")
            // The same answers (the quality report counts stored events, duplicates and customers too).
            for st in ["funnel awareness > consideration > intent > conversion within 30d", "attribution model all", "paths to conversion"] {
                let x = try ReliabilityTests.run([d + "/a.journey", "-c", st, "--mode", "csv"]), y = try ReliabilityTests.run([store, "-c", st, "--mode", "csv"])
                #expect(x.status == 0 && x.out == y.out, "\(format): \(st) differs")
            }
            let q = try ReliabilityTests.run([store, "-c", "quality", "--mode", "csv"]).out
            func line(_ s: String, _ m: String) -> Substring? { s.split(separator: "\n").first { $0.contains(m) } }
            for m in ["events stored", "customers,", "same touchpoint from two sources"] { #expect(line(q, m) == line(stored, m), "\(format): \(m)") }
        }
        // Milliseconds, quotes, commas and a free property survive the round trip.
        try "customer_id,timestamp,event,channel,plan\nc1,2025-03-01T10:00:00.123Z,\"ad, big\",linkedin,pro\nc1,2025-03-01T10:00:01Z,visit,web,\n"
            .write(toFile: d + "/ms.csv", atomically: true, encoding: .utf8)
        _ = try journey(["import", d + "/ms.csv", "--into", d + "/ms.journey", "--no-progress"])
        #expect(try journey(["export", d + "/ms.journey", "--out", d + "/ms-out.csv"]).status == 0)
        let exported = try String(contentsOfFile: d + "/ms-out.csv", encoding: .utf8)
        #expect(exported.contains("c1,2025-03-01T10:00:00.123Z,\"ad, big\",linkedin,") && exported.contains(",pro\n") && exported.hasPrefix("customer_id,timestamp,event,channel,stage,kind,campaign,device,source,online,value,account_id,plan\n"), "\(exported)")
        _ = try journey(["import", d + "/ms-out.csv", "--into", d + "/ms2.journey", "--no-progress"])
        #expect(try journey(["export", d + "/ms2.journey", "--out", d + "/ms-out2.csv"]).status == 0)
        #expect(try String(contentsOfFile: d + "/ms-out2.csv", encoding: .utf8) == exported)
        // Errors: a missing store is not created; a bad format is named.
        let missing = try journey(["export", d + "/none.journey", "--out", d + "/x.csv"])
        #expect(missing.status == 1 && !FileManager.default.fileExists(atPath: d + "/none.journey") && !FileManager.default.fileExists(atPath: d + "/x.csv"))
        #expect(try journey(["export", d + "/a.journey", "--out", d + "/x", "--format", "xml"]).err.contains("--format takes csv or ndjson"))
    }
}

extension Int {
    var grouped: String {
        let f = NumberFormatter(); f.numberStyle = .decimal; f.groupingSeparator = ","; f.groupingSize = 3
        return f.string(from: NSNumber(value: self)) ?? String(self)
    }
}
