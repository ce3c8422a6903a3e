import JourneyTestSupport
import Foundation
import Testing

/// The lessons in queries/teaching: each reads, names a statement to type that runs on the demo data, and has a
/// question the shell can check (a wrong answer is told so — which proves the answer's row and column exist).
@Suite(.serialized) struct TutorialTests {
    static var lessons: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: SavedQueryTests.root.appendingPathComponent("queries/teaching").path)) ?? [])
            .filter { $0.hasSuffix(".jql") }.sorted()
    }

    @Test func thereAreLessonsFromFunnelsToValue() {
        #expect(Self.lessons.count >= 6)
    }

    @Test(arguments: Array(lessons.enumerated()).map { ($0.offset + 1, $0.element) })
    func lessonRunsOnTheDemo(_ number: Int, _ file: String) throws {
        let dir = SavedQueryTests.root.appendingPathComponent("queries/teaching").path
        let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
        let typed = text.split(separator: "\n").filter { $0.hasPrefix("-- type: ") }.map { String($0.dropFirst("-- type: ".count)) }
        #expect(!typed.isEmpty, "\(file) gives a statement to type")
        for st in typed {
            let r = try journey([SavedQueryTests.store, "-c", st])
            #expect(r.status == 0, "\(file): '\(st)' runs: \(r.err)")
        }
        let r = try journey([SavedQueryTests.store], stdin: ".tutorial \(number)\n.answer no-such-answer\n", env: ["JOURNEY_LESSONS": dir])
        #expect(r.status == 0, "\(file): \(r.err)")
        #expect(r.out.contains("Question: ") && r.out.contains("Not quite: no-such-answer is not it."), "\(file): \(r.out)")
        // 'look for:' may go on over the next comment lines; they are shown with it, not with the lesson's text.
        let lines = text.split(separator: "\n").map(String.init)
        if let i = lines.firstIndex(where: { $0.hasPrefix("-- look for: ") }) {
            var parts = [String(lines[i].dropFirst("-- look for: ".count))]
            for l in lines[(i + 1)...] {
                guard l.hasPrefix("-- "), !["type:", "question:", "answer:", "look for:", "# "].contains(where: { l.dropFirst(3).hasPrefix($0) }) else { break }
                parts.append(String(l.dropFirst(3)))
            }
            #expect(r.out.contains("Look for: " + parts.joined(separator: " ")), "\(file): \(r.out)")
        }
    }

    @Test func lessonMistakesAreExplained() throws {
        let dir = SavedQueryTests.root.appendingPathComponent("queries/teaching").path
        let none = try journey([SavedQueryTests.store], stdin: ".answer 3\n", env: ["JOURNEY_LESSONS": dir])
        #expect(none.err.contains("no lesson started: .tutorial N starts one"))
        let far = try journey([SavedQueryTests.store], stdin: ".tutorial 99\n", env: ["JOURNEY_LESSONS": dir])
        #expect(far.err.contains("no lesson '99': there are \(Self.lessons.count)"))
        let d = tempDir()
        try "-- no title here\n-- answer: stats | x\n".write(toFile: d + "/bad.jql", atomically: true, encoding: .utf8)
        let bad = try journey([SavedQueryTests.store], stdin: ".tutorial 1\n", env: ["JOURNEY_LESSONS": d])
        #expect(bad.status == 1 && bad.err.contains("'answer:' takes STATEMENT | ROW | COLUMN"), "\(bad.err)")
    }
}
