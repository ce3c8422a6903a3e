import JourneyTestSupport
import Foundation
import Testing

/// Every saved script in queries/ runs against the demo data and prints exactly its committed expected output
/// (queries/expected/NAME.out). Re-record after a deliberate change with JOURNEY_RECORD=1 and review the diff.
@Suite(.serialized) struct SavedQueryTests {
    static var root: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }

    static var scripts: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("queries").path)) ?? [])
            .filter { $0.hasSuffix(".jql") }.sorted()
    }

    static let store: String = {
        let d = tempDir()
        let demo = root.appendingPathComponent("datasets/demo").path
        _ = try? journey(["import"] + ["events.csv", "customers.csv", "accounts.csv", "touchpoints.csv"].map { demo + "/" + $0 }
                         + ["--into", d + "/demo.journey"])
        return d + "/demo.journey"
    }()

    @Test func thereAreSavedQueries() { #expect(Self.scripts.count >= 4) }

    @Test(arguments: scripts)
    func scriptMatchesExpectedOutput(_ name: String) throws {
        let script = Self.root.appendingPathComponent("queries/\(name)").path
        let text = try String(contentsOfFile: script, encoding: .utf8)
        #expect(text.hasPrefix("--"), "a saved query starts with a comment saying what it answers")
        #expect(text.contains("Run:"), "and how to run it")
        let r = try journey([Self.store, "-f", script, "--width", "100"], env: ["NO_COLOR": "1"])
        #expect(r.status == 0, "\(r.err)")
        let expectedPath = Self.root.appendingPathComponent("queries/expected/\((name as NSString).deletingPathExtension).out").path
        if ProcessInfo.processInfo.environment["JOURNEY_RECORD"] != nil {
            try FileManager.default.createDirectory(atPath: (expectedPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try r.out.write(toFile: expectedPath, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: expectedPath, encoding: .utf8)
        #expect(r.out == expected, "output of \(name) differs from \(expectedPath) (JOURNEY_RECORD=1 re-records)")
    }
}
