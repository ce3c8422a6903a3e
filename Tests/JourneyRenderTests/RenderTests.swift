import Foundation
import Testing
import JourneyCore
@testable import JourneyRender

/// Golden files of every table and chart kind at widths 40, 80 and 160, with and without colour, and in ASCII
/// (`golden/`, re-recorded with JOURNEY_RECORD=1 and reviewed in the diff); no line wider than the width; CSV and
/// JSON read back equal to the values.
@Suite struct RenderTests {
    static let fixtures: [(String, ResultTable)] = [
        ("funnel", ResultTable(title: "funnel", columns: ["step", "customers", "% of first", "% of previous", "dropped", "median time"],
                               rows: [[.text("1. awareness"), .int(1970), .percent(1), .percent(1), .int(1282), .null],
                                      [.text("2. consideration"), .int(688), .percent(0.349), .percent(0.349), .int(376), .duration(6_897_600_000)],
                                      [.text("3. intent"), .int(312), .percent(0.158), .percent(0.453), .int(224), .duration(3_949_200_000)],
                                      [.text("4. conversion"), .int(88), .percent(0.045), .percent(0.282), .int(0), .duration(2_278_800_000)]],
                               notes: ["window: 180d from the entry (the first awareness)"], chart: .funnel(label: 0, value: 1))),
        ("funnelby", ResultTable(title: "funnel by channel", columns: ["channel", "step", "customers", "% of first"],
                                 rows: [("website", [900, 400, 90]), ("linkedin", [300, 200, 60]), ("email", [120, 30, 0]), ("other", [50, 10, 2])]
                                    .flatMap { g, counts in counts.enumerated().map { k, n in
                                        [.text(g), .text("\(k + 1). \(["awareness", "consideration", "conversion"][k])"), .int(n), .percent(Double(n) / Double(counts[0]))]
                                    } },
                                 chart: .groupedFunnel(group: 0, step: 1, value: 2))),
        ("lift", ResultTable(title: "touchpoint relevance by kind", columns: ["kind", "journeys", "lift", "verdict"],
                             rows: [[.text("earned"), .int(655), .percent(0.706), .text("drives")],
                                    [.text("paid"), .int(1261), .percent(-0.214), .text("appears in losing journeys")],
                                    [.text("owned"), .int(1820), .percent(0.0374), .text("neutral")]],
                             chart: .bars(label: 0, value: 2))),
        ("models", ResultTable(title: "attribution, all models, by channel", columns: ["channel", "first", "last", "linear"],
                               rows: [[.text("website"), .double(68), .double(99), .double(130.9)],
                                      [.text("linkedin"), .double(26), .double(0), .double(8.1)]],
                               notes: ["credited conversions per model"], chart: .groupedBars(label: 0, values: [1, 2, 3]))),
        ("histogram", ResultTable(title: "distribution", columns: ["bucket", "customers", "share"],
                                  rows: [[.text("< 1d"), .int(3), .percent(0.03)], [.text("1d – 7d"), .int(40), .percent(0.4)],
                                         [.text("7d – 30d"), .int(45), .percent(0.45)], [.text("≥ 30d"), .int(12), .percent(0.12)]],
                                  chart: .histogram(label: 0, value: 1))),
        ("months", ResultTable(title: "count customers", columns: ["month(first_contact)", "customers", "share"],
                               rows: (1...14).map { m in [.text(String(format: "2025-%02d", (m - 1) % 12 + 1)), .int([3, 9, 14, 20, 18, 25, 31, 28, 22, 30, 41, 38, 12, 5][m - 1]), .percent(0.05)] },
                               chart: .columns(label: 0, value: 1))),
        ("paths", ResultTable(title: "paths", columns: ["path", "customers", "share", "median duration"],
                              rows: [[.text("display → website → sales"), .int(11), .percent(0.006), .duration(1.2e10)],
                                     [.text("display → website → sales → website → sales"), .int(12), .percent(0.006), .duration(1.4e10)],
                                     [.text("google_ads → website → sales"), .int(12), .percent(0.006), .duration(1.3e10)],
                                     [.text("other (47 paths)"), .int(88), .percent(0.045), .duration(1.5e10)],
                                     [.text("(never reached conversion)"), .int(1787), .percent(0.907), .null]],
                              chart: .pathTree(label: 0, value: 1))),
        ("cohorts", ResultTable(title: "retention every month", columns: ["cohort", "customers", "month 0", "month 1", "month 2", "month 3"],
                                rows: [[.text("2025-01"), .int(40), .percent(1), .percent(0.55), .percent(0.3), .percent(0.125)],
                                       [.text("2025-02"), .int(31), .percent(1), .percent(0.2), .percent(0.0), .null],
                                       [.text("2025-03"), .int(12), .percent(1), .percent(0.75), .null, .null]],
                                chart: .cohortGrid(label: 0, first: 2))),
        ("sparklines", ResultTable(title: "top channels", columns: ["channel", "events", "by month"],
                                   rows: [[.text("website"), .int(8969), .series([320, 348, 341, 395, 460, 387, 382, 323, 246, 146, 101, 68])],
                                          [.text("linkedin"), .int(1361), .series([50, 59, 69, 56, 34, 48, 30, 10, 5, 2, 2, 4])],
                                          [.text("flat"), .int(12), .series([1, 1, 1])]],
                                   chart: .bars(label: 0, value: 1))),
        ("wide", ResultTable(title: "touchpoint relevance by event",
                             columns: ["touchpoint", "journeys", "conv. rate", "share of converting", "share of lost", "lift", "median position", "median time to conversion", "verdict"],
                             rows: [[.text("consultation"), .int(338), .percent(0.402), .percent(0.723), .percent(0.087), .percent(4.353), .double(12.5), .duration(1.3e9), .text("drives")]])),
        ("unicode", ResultTable(title: "names", columns: ["name", "revenue", "since", "note"],
                                rows: [[.text("Müller GmbH"), .money(1_234_567.891), .duration(45 * 60_000), .null],
                                       [.text("東京の顧客"), .money(-12.5), .duration(3 * 86_400_000 + 4 * 3_600_000), .text("e\u{301}te\u{301}")],
                                       [.text("a very long customer name that must be cut to fit"), .money(.nan), .duration(.nan), .text("x")]])),
        ("prose", {
            var t = ResultTable(title: "explain", columns: ["part", "meaning"],
                                rows: [[.text("statement"), .text("paths from awareness to conversion within 90d")],
                                       [.text("in plain words"), .text("for each customer, the sequence of events from the first awareness to the first conversion after it, if it came at most 90d later (else: never reached); a step is an event with repeats collapsed")],
                                       [.text("scanned"), .text("1,970 of 2,501 customers")]])
            t.wrapsText = true
            return t
        }()),
    ]

    static let goldenDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("golden").path

    func stripANSI(_ s: String) -> String { s.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression) }

    @Test(arguments: [40, 80, 160]) func goldenAtWidth(width: Int) throws {
        for (name, table) in Self.fixtures {
            for (suffix, color, mode) in [("", false, RenderSettings.Mode.table), ("-color", true, .table), ("-ascii", false, .ascii)] {
                if mode == .ascii && width != 80 { continue }
                var s = RenderSettings(); s.width = width; s.color = color; s.mode = mode
                let out = Renderer.render(table, s)
                for line in out.split(separator: "\n", omittingEmptySubsequences: false) {
                    #expect(displayWidth(stripANSI(String(line))) <= width, "\(name) at \(width)\(suffix): '\(line)'")
                }
                if !color { #expect(!out.contains("\u{1B}"), "no escape codes without colour") }
                if mode == .ascii { #expect(out.unicodeScalars.allSatisfy { $0.isASCII || !"─│┌┐└┘├┤┬┴┼█▁▂▃▄▅▆▇…→".unicodeScalars.contains($0) }) }
                let path = "\(Self.goldenDir)/\(name)-\(width)\(suffix).txt"
                if ProcessInfo.processInfo.environment["JOURNEY_RECORD"] != nil {
                    try (out + "\n").write(toFile: path, atomically: true, encoding: .utf8)
                } else {
                    let want = try String(contentsOfFile: path, encoding: .utf8)
                    #expect(out + "\n" == want, "\(name) at width \(width)\(suffix) differs from \(path) (JOURNEY_RECORD=1 re-records)")
                }
            }
        }
    }

    /// RFC 4180 fields of one CSV text (quoted fields, doubled quotes, newlines inside quotes).
    func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var it = Array(text).makeIterator()
        var pending: Character? = nil
        while let c = pending ?? it.next() {
            pending = nil
            if quoted {
                if c == "\"" { if let n = it.next() { if n == "\"" { field.append("\"") } else { quoted = false; pending = n } } else { quoted = false } }
                else { field.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(field); field = "" }
            else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
            else { field.append(c) }
        }
        row.append(field); rows.append(row)
        return rows
    }

    @Test func csvAndJSONReadBackEqual() throws {
        for (name, table) in Self.fixtures {
            var s = RenderSettings(); s.mode = .csv
            let rows = parseCSV(Renderer.render(table, s))
            #expect(rows.first == Renderer.machineColumns(table), "\(name) header")
            #expect(rows.dropFirst().map { $0 } == table.rows.map { $0.map(\.plain) }, "\(name) rows")
            // Every number reads back as the value it was (full precision; shares as fractions, durations in s).
            for (r, fields) in zip(table.rows, rows.dropFirst()) {
                for (v, f) in zip(r, fields) {
                    switch v {
                    case .double(let d), .money(let d), .percent(let d): #expect(d.isNaN ? f.isEmpty : Double(f) == d, "\(name): \(f) for \(d)")
                    case .duration(let ms): #expect(ms.isNaN ? f.isEmpty : Double(f) == ms / 1000, "\(name): \(f) for \(ms) ms")
                    default: break
                    }
                }
            }
            s.mode = .json
            let json = try JSONSerialization.jsonObject(with: Data(Renderer.render(table, s).utf8)) as? [[String: Any]] ?? []
            #expect(json.count == table.rows.count)
            for (r, obj) in zip(table.rows, json) {
                for (c, v) in zip(Renderer.machineColumns(table), r) {
                    switch v {
                    case .int(let i): #expect((obj[c] as? NSNumber)?.intValue == i)
                    case .double(let d), .money(let d), .percent(let d):
                        if d.isNaN { #expect(obj[c] is NSNull) } else { #expect(abs(((obj[c] as? NSNumber)?.doubleValue ?? .nan) - d) < 1e-9) }
                    case .duration(let ms):
                        if ms.isNaN { #expect(obj[c] is NSNull) } else { #expect(abs(((obj[c] as? NSNumber)?.doubleValue ?? .nan) - ms / 1000) < 1e-9) }
                    case .text(let t): #expect(obj[c] as? String == t)
                    case .series(let xs): #expect((obj[c] as? [NSNumber])?.map(\.doubleValue) == xs)
                    case .null: #expect(obj[c] is NSNull)
                    }
                }
            }
        }
    }

    /// A funnel by groups draws in the HTML report too: a bar per group and step, a legend entry per group.
    @Test func groupedFunnelDrawsInSVG() throws {
        let t = try #require(Self.fixtures.first { $0.0 == "funnelby" }?.1)
        let svg = SVGChart.draw(t, try #require(t.chart))
        let bars = svg.components(separatedBy: "<rect ").count - 1
        #expect(bars == 4 + 4 * 3, "a legend square per group and a bar per group and step: \(bars)")
        for g in ["website", "linkedin", "email", "other"] { #expect(svg.contains(">\(g)</text>")) }
        #expect(svg.contains(">44.4%</text>") && svg.contains(">20.0%</text>"))
    }

    @Test func machineModesKeepFullPrecision() {
        let t = ResultTable(title: "x", columns: ["share", "ratio", "time"], rows: [[.percent(1.0 / 3), .double(2.0 / 3), .duration(1234.5678)]])
        var s = RenderSettings(); s.mode = .csv
        #expect(Renderer.render(t, s) == "share (fraction),ratio,time (s)\n0.3333333333333333,0.6666666666666666,1.2345678")
        s.mode = .tsv
        #expect(Renderer.render(t, s) == "share (fraction)\tratio\ttime (s)\n0.3333333333333333\t0.6666666666666666\t1.2345678")
    }

    @Test func localeDecidesASCII() {
        #expect(RenderSettings.localeIsUTF8(["LANG": "en_US.UTF-8"]))
        #expect(!RenderSettings.localeIsUTF8(["LANG": "C"]))
        #expect(!RenderSettings.localeIsUTF8(["LC_ALL": "POSIX", "LANG": "en_US.UTF-8"]))
        #expect(RenderSettings.localeIsUTF8([:]))
    }
}
