import Foundation
import Testing
import JourneyCore
import JourneyStore
import JourneySession
import JourneyLanguage
import JourneyPlanner

@Suite struct PropertyPredicateTests {
    @Test func freePropertiesFilterEventsAndStepsAndSuggestNames() throws {
        let d = NSTemporaryDirectory() + "journey-props-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: d) }
        // c1: a pro signup then a purchase; c2: a free signup then a purchase; c3: a purchase only (no plan).
        try """
        customer_id,timestamp,event,Plan,source
        c1,2024-01-01,signup,pro,web
        c1,2024-01-02,purchase,,web
        c2,2024-01-01,signup,free,web
        c2,2024-01-02,purchase,,web
        c3,2024-01-05,purchase,,web
        """.write(toFile: d + "/e.csv", atomically: true, encoding: .utf8)
        let store = try Store(path: d + "/s.journey")
        _ = try store.importFile(d + "/e.csv")
        let session = Session(store: store)
        let counts = try session.run("count customers where plan = pro")[0]
        #expect(counts.rows.first?.first == .int(1))
        let funnel = try session.run("funnel (signup and plan != pro) > purchase")[0]
        #expect(funnel.rows.map { $0[1] } == [.int(1), .int(1)])
        let missing = try session.run("count customers where plan is null")[0]
        #expect(missing.rows.first?.first == .int(3))   // every customer has an event without a plan
        do { _ = try session.run("count customers where plna = pro"); Issue.record("no error") }
        catch let e as JourneyLanguage.Diagnostic { #expect(e.help == "did you mean 'plan'?") }
    }
}
