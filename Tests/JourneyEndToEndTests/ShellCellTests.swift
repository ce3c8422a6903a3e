import JourneyTestSupport
import Foundation
import Testing

/// The shell's notebook commands, driven through standard input: .cells, .rerun, .edit (with an editor that is
/// a script), .last in another mode, .save as a notebook; and the glossary.
@Suite(.serialized) struct ShellCellTests {
    @Test func cellsRerunEditLastAndSave() throws {
        let d = tempDir()
        let input = """
        revenue by customer.segment
        count customers by customer.segment
        .cells
        .rerun 1
        .last csv
        .edit 2
        .save \(d)/saved.jql
        """
        let r = try journey([SavedQueryTests.store, "--width", "100"], stdin: input, env: ["EDITOR": "sed -i s/customer.segment/channel/", "NO_COLOR": "1"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("1  revenue by customer.segment\n2  count customers by customer.segment"))
        // .last csv: the rerun's revenue table again, as CSV.
        #expect(r.out.contains("customer.segment,customers,buyers,orders,revenue,share (fraction)"))
        // .edit 2 ran the edited statement.
        #expect(r.out.contains("count customers by channel\n") && r.out.contains("│ channel "))
        let saved = try String(contentsOfFile: d + "/saved.jql", encoding: .utf8)
        #expect(saved.contains("-- ## 4. count customers by channel\ncount customers by channel;"), "\(saved)")
        // The saved notebook runs as one.
        #expect(try journey(["notebook", d + "/saved.jql", "--store", SavedQueryTests.store]).status == 0)
        #expect(try String(contentsOfFile: d + "/saved.jql", encoding: .utf8).contains("--| revenue by customer.segment"))
    }

    @Test func mistakesInCellCommandsAreExplained() throws {
        let r = try journey([SavedQueryTests.store], stdin: "stats\n.rerun 5\n")
        #expect(r.status == 1 && r.err.contains("no statement 5: this session has 1 (.cells lists them)"))
        let last = try journey([SavedQueryTests.store], stdin: ".last csv\n")
        #expect(last.status == 1 && last.err.contains("no result yet"))
    }

    @Test func theGlossaryHasTheArticlesWords() throws {
        let all = try journey([SavedQueryTests.store, "-c", ".help glossary"])
        for word in ["Abbruch", "Wiederaufnahme", "Touchpoint", "Customer Journey", "funnel", "conversion window", "entry first",
                     "removal effect", "Shapley value", "lift", "retention", "cohort"] {
            #expect(all.out.contains(word), "the glossary explains \(word)")
        }
        let one = try journey([SavedQueryTests.store, "-c", ".help glossary wiederaufnahme"])
        #expect(one.out.hasPrefix("pause and resumption (Pause, Wiederaufnahme)") && one.out.contains("try: pauses longer than 30d"))
        let none = try journey([SavedQueryTests.store, "-c", ".help glossary blockchain"])
        #expect(none.err.contains("the glossary has no 'blockchain'"))
    }
}
