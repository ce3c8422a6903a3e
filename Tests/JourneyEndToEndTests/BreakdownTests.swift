import Foundation
import Testing
import JourneyTestSupport

/// `by` breaks down by every field `where` accepts, in every statement that takes `by`: each group's count
/// equals the count the same value gives as a filter, and an unknown field gets the did-you-mean `where` gives.
@Suite struct BreakdownTests {
    static let store: String = {
        let d = tempDir()
        var seed: UInt64 = 5
        func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(n)) }
        var lines = ["customer_id,timestamp,event,stage,channel,kind,source,device,campaign,value,plan"]
        for c in 0..<400 {
            for k in 0..<(1 + next(8)) {
                let stage = ["awareness", "consideration", "intent", "conversion"][min(3, k / 2)]
                let fields = [String(format: "C%04d", c), String(format: "2025-%02d-%02dT10:%02d:00Z", 1 + next(6), 1 + next(28), k),
                              "\(stage)_touch", stage, ["linkedin", "email", "website"][next(3)], ["paid", "owned", "earned"][next(3)], ["crm", "web", ""][next(3)],
                              ["desktop", "mobile", ""][next(3)], ["", "spring", "autumn"][next(3)],
                              stage == "conversion" ? ["100", "250", "1000"][next(3)] : "", ["free", "pro", ""][next(3)]]
                lines.append(fields.joined(separator: ","))
            }
        }
        // A customer far later: months 2025-07 and 2025-08 have no event at all.
        lines.append("C9999,2025-09-15T10:00:00Z,awareness_touch,awareness,email,paid,crm,desktop,,,free")
        try? (lines.joined(separator: "\n") + "\n").write(toFile: d + "/events.csv", atomically: true, encoding: .utf8)
        _ = try? journey(["import", d + "/events.csv", "--into", d + "/s.journey", "--no-progress"])
        return d + "/s.journey"
    }()

    func csv(_ statement: String) throws -> [[String]] {
        let r = try journey([Self.store, "-c", statement, "--mode", "csv"])
        #expect(r.status == 0, "\(statement): \(r.err)")
        return r.out.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func everyFieldBreaksDownAsItFilters() throws {
        for field in ["channel", "source", "device", "campaign", "value", "plan", "stage", "event", "kind"] {
            let rows = try csv("count events by \(field)").dropFirst()
            let named = rows.filter { $0[0] != "(none)" }
            #expect(named.count >= 2, "\(field): \(rows)")   // real groups, not everything under (none)
            for r in named {
                let literal = Double(r[0]) != nil ? r[0] : "\"\(r[0])\""
                let filtered = try csv("count events where \(field) = \(literal)")
                #expect(filtered.count == 2 && filtered[1][0] == r[1], "\(field) = \(r[0]): by gives \(r[1]), where gives \(filtered.dropFirst().first?[0] ?? "nothing")")
            }
            let total = try csv("count events")[1][0]
            #expect(rows.map { Int($0[1]) ?? 0 }.reduce(0, +) == Int(total), "\(field): the groups add up to every event")
        }
    }

    @Test func everyStatementWithByTakesEventFields() throws {
        // funnel: each customer under the device of its step-1 event; the groups add up to the funnel's first step.
        let plain = try csv("funnel awareness > conversion")
        let byDevice = try csv("funnel awareness > conversion by device")
        let firstSteps = byDevice.dropFirst().filter { $0[1].hasPrefix("1.") }
        #expect(Set(firstSteps.map { $0[0] }).isSuperset(of: ["desktop", "mobile"]))
        #expect(firstSteps.map { Int($0[2]) ?? 0 }.reduce(0, +) == Int(plain[1][1]))
        for (statement, column) in [("time from awareness to conversion by plan", 0), ("retention from awareness every month periods 2 by source", 0),
                                    ("count matching awareness then conversion by campaign", 0), ("count customers by month(timestamp)", 0)] {
            let groups = try csv(statement).dropFirst().map { $0[column] }
            #expect(groups.filter { $0 != "(none)" && !$0.isEmpty }.count >= 2, "\(statement): \(groups)")
        }
    }

    /// `by month(…)`: months in time order, every month between the first and the last, empty ones as 0.
    @Test func monthsInTimeOrderWithEmptyMonths() throws {
        let rows = try csv("count events by month(timestamp)").dropFirst()
        #expect(rows.map { $0[0] } == (1...9).map { String(format: "2025-%02d", $0) })
        #expect(rows.filter { $0[1] == "0" }.map { $0[0] } == ["2025-07", "2025-08"])
        let funnel = try csv("funnel awareness > conversion by month(timestamp) top 2").dropFirst().map { $0[0] }
        #expect(Array(Set(funnel)).sorted() == (1...9).map { String(format: "2025-%02d", $0) }, "no top-N cut for months: \(funnel)")
        #expect(funnel == funnel.sorted())
    }

    /// Two breakdowns: each pair's count equals the count of the two values as one event-level filter.
    @Test func twoBreakdownsArePairs() throws {
        for unit in ["events", "customers"] {
            let rows = try csv("count \(unit) by channel, plan").dropFirst()
            #expect(rows.count >= 6, "\(rows)")
            for r in rows where r[1] != "(none)" {
                let filtered = try csv("count \(unit) where channel = \(r[0]) and plan = \(r[1])")
                #expect(filtered[1][0] == r[2], "\(unit) \(r[0]), \(r[1]): by gives \(r[2]), where gives \(filtered[1][0])")
            }
        }
        let r = try journey([Self.store, "-c", "funnel awareness > conversion by channel, plan"])
        #expect(r.status == 1 && r.err.contains("two breakdowns are taken by count"))
    }

    /// A filtered count without groups gives its share of the whole store, not 100%.
    @Test func filteredCountShareIsOfTheStore() throws {
        for unit in ["events", "customers"] {
            let all = try csv("count \(unit)")[1]
            let some = try csv("count \(unit) where channel = linkedin")[1]
            let (n, total) = (Double(some[0]) ?? -1, Double(all[0]) ?? -1)
            #expect(all[1] == "1.0" && n < total && Double(some[1]) == n / total, "\(unit): \(some) of \(all)")
        }
    }

    /// Everyday forms: the largest N groups of a breakdown, quarters in retention, a limit on open pauses.
    @Test func everydayForms() throws {
        let all = try csv("count events by campaign").dropFirst()
        let two = try csv("count events by campaign top 2").dropFirst()
        #expect(all.count == 3 && Array(two) == Array(all.prefix(2)))
        let quarters = try csv("retention from awareness every quarter periods 2").dropFirst().map { $0[0] }
        #expect(quarters == ["2025-Q1", "2025-Q2", "2025-Q3"], "\(quarters)")
        #expect(try csv("pauses longer than 1d open limit 3").dropFirst().count == 3)
    }

    /// `explain` says in words what each statement computes (no statement falls back to a dump of its syntax tree),
    /// and names the tie rule of a funnel.
    @Test func explainSpeaksForEveryStatement() throws {
        for statement in ["funnel awareness > conversion", "paths from awareness", "time from awareness to conversion by plan",
                          "dropoff after awareness to conversion", "count customers by channel, plan", "top 3 channels", "stats",
                          "pauses longer than 30d", "retention from awareness every quarter", "attribution model last",
                          "touchpoints", "gaps", "customers matching awareness then conversion", "customers who reached conversion",
                          "paths from awareness count accounts"] {
            let r = try journey([Self.store, "-c", "explain " + statement])
            #expect(r.status == 0 && !r.out.contains("JourneyLanguage.") && (r.out.contains("in plain words") || r.out.contains("level")), "\(statement): \(r.out)\(r.err)")
        }
        let ties = try journey([Self.store, "-c", "explain funnel awareness > conversion ties in import order"]).out
        #expect(ties.contains("ties in import order: a step's event at the previous step's"), "\(ties)")
    }

    @Test func unknownFieldsAreRejectedWithASuggestion() throws {
        for (statement, hint) in [("count events by chanel", "did you mean 'channel'?"), ("funnel awareness > conversion by devise", "did you mean 'device'?"),
                                  ("time from awareness to conversion by plna", "did you mean 'plan'?"), ("count events by channel by stage", "keep one 'by'")] {
            let r = try journey([Self.store, "-c", statement])
            #expect(r.status == 1 && r.err.contains(hint), "\(statement): \(r.err)")
        }
    }
}
