import JourneyTestSupport
import Foundation
import Testing

/// `journey notebook`: outputs written back under each cell, a failing cell's error where it stands with the
/// rest still run, a second run giving the same file byte for byte, and `--check` telling a stale notebook apart.
@Suite(.serialized) struct NotebookTests {
    static let notebook = """
    -- # Funnel basics
    -- How many accounts get from awareness to a signed contract?
    funnel awareness > consideration > intent > conversion within 180d count accounts;

    -- A typo stays an error in its cell; the next cell still runs.
    funnel awarness > conversion;

    set segment = smb
    .width 90
    margin by customer.segment
      where customer.segment = $segment count accounts;
    """

    @Test func runTwiceGivesTheSameFile() throws {
        let d = tempDir(), file = d + "/basics.jql"
        try Self.notebook.write(toFile: file, atomically: true, encoding: .utf8)
        let first = try journey(["notebook", file, "--store", SavedQueryTests.store], env: ["NO_COLOR": "1"])
        #expect(first.status == 1, "one cell fails: \(first.out) \(first.err)")
        #expect(first.out.contains("4 cells run, 1 failed"))
        let once = try String(contentsOfFile: file, encoding: .utf8)
        let lines = once.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // The prose and the cells are untouched, in their order; each statement is followed by its output.
        #expect(lines.filter { !$0.hasPrefix("--|") }.joined(separator: "\n") == Self.notebook)
        let funnel = lines.firstIndex { $0.hasPrefix("funnel awareness") }!
        #expect(lines[funnel + 1] == "--| funnel" && lines[funnel + 5].contains("1. awareness"), "\(lines[funnel + 1 ... funnel + 5])")
        let typo = lines.firstIndex { $0.hasPrefix("funnel awarness") }!
        #expect(lines[typo + 1] == "--| error: \(file):6:8: unknown stage 'awarness'" && lines[typo + 2] == "--| help: did you mean 'awareness'?")
        let margin = lines.firstIndex { $0.contains("where customer.segment = $segment") }!
        let marginOutput = Array(lines[(margin + 1)...])
        #expect(marginOutput.first == "--| margin by customer.segment" && marginOutput.contains { $0.contains("│ smb ") })
        #expect(!marginOutput.contains { $0.contains("enterprise") }, "the parameter set in a cell holds")
        #expect(lines.filter { $0.hasPrefix("--|") }.allSatisfy { $0.count <= 4 + 90 * 3 && !$0.hasSuffix(" ") })
        // Again: the outputs are replaced, not added to.
        _ = try journey(["notebook", file, "--store", SavedQueryTests.store], env: ["NO_COLOR": "1"])
        #expect(try String(contentsOfFile: file, encoding: .utf8) == once)
    }

    @Test func checkTellsAStaleNotebook() throws {
        let d = tempDir(), file = d + "/ok.jql"
        try "-- Revenue\nrevenue by customer.segment;\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try journey(["notebook", file, "--store", SavedQueryTests.store, "--check"]).status == 1, "no outputs yet")
        #expect(try journey(["notebook", file, "--store", SavedQueryTests.store]).status == 0)
        let r = try journey(["notebook", file, "--store", SavedQueryTests.store, "--check"])
        #expect(r.status == 0 && r.out.contains("up to date"), "\(r.out) \(r.err)")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try text.replacingOccurrences(of: "enterprise", with: "enterprize").write(toFile: file, atomically: true, encoding: .utf8)
        let stale = try journey(["notebook", file, "--store", SavedQueryTests.store, "--check"])
        #expect(stale.status == 1 && stale.err.contains("not what a run gives now"))
    }
}
