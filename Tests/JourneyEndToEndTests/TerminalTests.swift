import JourneyTestSupport
import Foundation
import Testing

/// Drives the interactive shell in a real terminal (tmux): what an analyst types and sees.
@Suite(.serialized) struct TerminalTests {
    /// One tmux server per test.
    var socket: String { "journey-test-\(getpid())-\(testName)" }
    var testName = ""

    @discardableResult
    func tmux(_ args: [String]) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["tmux", "-L", socket, "-f", "/dev/null"] + args
        // Only capture-pane's output is read: a command that starts the tmux server must not hand it our pipe,
        // or reading to the end would wait for the server.
        let capture = args.first == "capture-pane"
        let out = Pipe()
        p.standardOutput = capture ? out : FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // `new-session` forks the tmux server, which inherits the descriptor Process watches for the child's exit:
        // waiting would last as long as the server. Callers wait for the prompt instead.
        if args.first == "new-session" { return (0, "") }
        let data = capture ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", "shell"]).out }
    func keys(_ k: String...) throws { try tmux(["send-keys", "-t", "shell"] + k) }
    func type(_ text: String) throws { try tmux(["send-keys", "-t", "shell", "-l", text]) }

    /// Waits until the screen satisfies `ok` (or 15 s pass); returns the last screen.
    @discardableResult
    func waitFor(_ what: String, _ ok: (String) -> Bool) throws -> String {
        var s = ""
        for _ in 0..<150 {
            s = try screen()
            if ok(s) { return s }
            usleep(100_000)
        }
        Issue.record("timed out waiting for \(what); screen:\n\(s)")
        return s
    }

    /// Waits until the shell is idle at an empty prompt (keys sent earlier would reach the previous query).
    func waitForPrompt(_ what: String) throws {
        try waitFor(what) { s in s.split(separator: "\n").last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }?.trimmingCharacters(in: .whitespaces) == "journey>" }
        usleep(200_000)
    }

    func start(_ store: String, history: String, home: String) throws {
        try tmux(["new-session", "-d", "-s", "shell", "-x", "150", "-y", "50",
                  "env JOURNEY_HISTORY=\(history) HOME=\(home) TERM=xterm \(binaryPath()) \(store)"])
        try waitFor("the prompt") { $0.contains("journey>") }
    }

    @Test mutating func analystSession() throws {
        testName = "session"
        let d = tempDir()
        _ = try journey(["generate", "--profile", "b2c", "--customers", "40000", "--seed", "4", "--clean", "--out", d + "/events.csv"])
        _ = try journey(["import", d + "/events.csv", "--into", d + "/s.journey"])
        let history = d + "/history"
        defer { _ = try? tmux(["kill-server"]) }
        try start(d + "/s.journey", history: history, home: d)
        #expect(try screen().contains("customers") && screen().contains(".help"))   // the welcome line

        // A typo: caret under it and a suggestion.
        try type("funnel awarness > conversion"); try keys("Enter")
        let typo = try waitFor("the suggestion") { $0.contains("did you mean 'awareness'?") }
        try waitForPrompt("the prompt after the error")
        #expect(typo.contains("        ^~~~~~~~\n"))   // under the 8 letters of "awarness"

        // Tab completes a stage name from the catalog.
        try type("funnel consid"); try keys("Tab")
        try waitFor("the completed stage") { $0.contains("funnel consideration") }
        try type("> conversion"); try keys("Enter")   // completion added the space
        try waitFor("the funnel table") { $0.contains("% of first") }
        try waitForPrompt("the prompt after the funnel")

        // A clause on the next line refines the statement that just ran: it runs again with the clause.
        try type("  within 7d"); try keys("Enter")
        try waitFor("the refined funnel") { $0.contains("window: 7d from the entry") }
        try waitForPrompt("the prompt after the refined funnel")

        // The window shrinks (SIGWINCH): the next table is drawn for the new width, not wrapped by the terminal.
        try tmux(["resize-window", "-t", "shell", "-x", "70"])
        try type(".chart off"); try keys("Enter")
        try waitForPrompt("the prompt after .chart off")
        try type("attribution model all"); try keys("Enter")
        // At 150 columns its eight columns fit; at 70 they do not, and the renderer turns to one record per row.
        try waitFor("the attribution records") { $0.contains("14 rows") }
        try waitForPrompt("the prompt after the attribution table")
        let narrow = try screen()
        #expect(narrow.contains("─[ row 14 ]") && narrow.split(separator: "\n").allSatisfy { $0.count <= 70 }, "\(narrow)")
        try tmux(["resize-window", "-t", "shell", "-x", "150"])
        try type(".chart on"); try keys("Enter")
        try waitForPrompt("the prompt after .chart on")

        // Up recalls it; Ctrl-C at the prompt clears the line.
        for _ in 0..<4 { try keys("Up") }
        try waitFor("the recalled query") { s in s.split(separator: "\n").last { $0.contains("journey>") }?.contains("funnel consideration > conversion   within 7d") == true }
        try keys("C-c")
        try waitForPrompt("a clean prompt")

        // A long query (ten pattern counts on one line, ~0.2 s each in a debug build) is cancelled by Ctrl-C,
        // back at the prompt.
        try type(String(repeating: "count matching any* (any any)+ any* within 30d; ", count: 10)); try keys("Enter")
        // The line's results are printed when all ten are done, so nothing on screen says the run has begun:
        // the one wait in these tests that is a time (the query takes seconds; the key comes well inside them).
        usleep(700_000)
        try keys("C-c")
        let cancelled = try waitFor("the cancel message") { $0.contains("query cancelled") }
        #expect(cancelled.split(separator: "\n").filter { $0.contains("customers match any*") }.count < 10)
        try waitForPrompt("the prompt after cancelling")

        // Ctrl-D exits; the history is kept for the next session.
        try keys("C-d")
        for _ in 0..<50 where try tmux(["has-session", "-t", "shell"]).status == 0 { usleep(100_000) }
        #expect(try tmux(["has-session", "-t", "shell"]).status != 0)
        let saved = ((try? String(contentsOfFile: history, encoding: .utf8)) ?? "").replacingOccurrences(of: "\\040", with: " ")
        #expect(saved.contains("funnel consideration > conversion"))
        try start(d + "/s.journey", history: history, home: d)
        try keys("Up")
        try waitFor("the last query from the previous session") { $0.contains("count matching any* (any any)+ any* within 30d") }
        try keys("C-c"); try keys("C-d")
    }

    /// A batch run printing to a terminal uses the terminal's width (150 here), not 80.
    @Test mutating func batchOutputOnATerminalTakesItsWidth() throws {
        testName = "batch"
        let d = tempDir()
        try "customer_id,timestamp,event,stage\nc1,2025-01-01T00:00:00Z,ad,awareness\n".write(toFile: d + "/e.csv", atomically: true, encoding: .utf8)
        _ = try journey(["import", d + "/e.csv", "--into", d + "/s.journey"])
        defer { _ = try? tmux(["kill-server"]) }
        try tmux(["new-session", "-d", "-s", "shell", "-x", "150", "-y", "50",
                  "env TERM=xterm NO_COLOR=1 \(binaryPath()) \(d)/s.journey -c 'explain funnel awareness > conversion'; sleep 30"])
        let s = try waitFor("the explain table") { $0.contains("in plain words") }
        let widest = s.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces).count }.max() ?? 0
        #expect(widest > 100 && widest <= 150, "widest line \(widest)")
    }

    /// A student walks lesson 1 in a real terminal: starts it, types the statement it gives, answers wrong,
    /// then right (the right answer read from the same statement's CSV), and is sent to lesson 2.
    @Test mutating func aWholeLessonInATerminal() throws {
        testName = "lesson"
        let d = tempDir()
        let lessons = SavedQueryTests.root.appendingPathComponent("queries/teaching").path
        let statement = "funnel awareness > consideration > intent > conversion within 180d count accounts"
        let csv = try journey([SavedQueryTests.store, "-c", statement, "--mode", "csv"]).out
        let intent = try #require(csv.split(separator: "\n").first { $0.hasPrefix("3. intent,") }).split(separator: ",")[1]
        defer { _ = try? tmux(["kill-server"]) }
        try tmux(["new-session", "-d", "-s", "shell", "-x", "150", "-y", "50",
                  "env JOURNEY_HISTORY=\(d)/h HOME=\(d) TERM=xterm JOURNEY_LESSONS=\(lessons) \(binaryPath()) \(SavedQueryTests.store)"])
        try waitFor("the prompt") { $0.contains("journey>") }
        try type(".tutorial 1"); try keys("Enter")
        let intro = try waitFor("the lesson") { $0.contains("Answer with: .answer VALUE") }
        #expect(intro.contains("Lesson 1: What is a funnel?") && intro.contains("Type:\n  \(statement)"))
        try waitForPrompt("the prompt after the lesson")
        try type(statement); try keys("Enter")
        try waitFor("the funnel") { $0.contains("3. intent") && $0.contains("went on") }
        try waitForPrompt("the prompt after the funnel")
        try type(".answer 1"); try keys("Enter")
        try waitFor("a wrong answer told") { $0.contains("Not quite: 1 is not it. Run the statement again and read row '3. intent', column 'accounts'.") }
        try waitForPrompt("the prompt after the wrong answer")
        try type(".answer \(intent)"); try keys("Enter")
        try waitFor("the right answer") { $0.contains("Right: \(Int(intent)!.formatted()).") && $0.contains("Next: .tutorial 2") }
        try keys("C-d")
    }

    @Test mutating func startupFileRunsFirst() throws {
        testName = "rc"
        let d = tempDir()
        try ".mode csv\n".write(toFile: d + "/.journeyrc", atomically: true, encoding: .utf8)
        try "customer_id,timestamp,event\nc1,2024-01-01,ad\n".write(toFile: d + "/e.csv", atomically: true, encoding: .utf8)
        _ = try journey(["import", d + "/e.csv", "--into", d + "/s.journey"])
        defer { _ = try? tmux(["kill-server"]) }
        try start(d + "/s.journey", history: d + "/h", home: d)
        try type("top events"); try keys("Enter")
        try waitFor("CSV output set by ~/.journeyrc") { $0.contains("event,events,share of events (fraction),customers") }
        try keys("C-d")
    }

    /// Ctrl-C during a statement running on ClickHouse kills the query on the server (KILL QUERY by its id) and the
    /// shell stays: 30 million events made on the server keep a funnel busy for seconds.
    @Test mutating func ctrlCKillsTheQueryOnClickHouse() throws {
        testName = "chcancel"
        guard let (url, _) = ClickHouseServers.urls else { Issue.record("no ClickHouse servers"); return }
        let d = tempDir()
        try "customer_id,timestamp,event,stage\nc1,2025-01-01T00:00:00Z,ad,awareness\nc1,2025-01-02T00:00:00Z,buy,conversion\n"
            .write(toFile: d + "/e.csv", atomically: true, encoding: .utf8)
        _ = try journey(["import", d + "/e.csv", "--into", d + "/s.journey"])
        let db = "k\(UInt32.random(in: 0...UInt32.max))"
        #expect(try journey(["push", d + "/s.journey", "--clickhouse", url + "?database=\(db)"]).status == 0)
        _ = try ClickHouseServers.query(url, """
            INSERT INTO \(db).events SELECT intDiv(number, 50) + 10, toInt64(number), toUInt32(number % 50), toUInt32(1 + number % 2), toUInt16(0),
                   toUInt8(1 + 4 * (number % 2)), toUInt8(0), toUInt32(0), toUInt16(0), toUInt16(0), nan FROM numbers(30000000)
            """)
        func running() throws -> Int {
            Int(try ClickHouseServers.query(url, "SELECT count() FROM system.processes WHERE query LIKE '%\(db).events%' AND query NOT LIKE '%system.processes%'")
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        defer { _ = try? tmux(["kill-server"]) }
        try tmux(["new-session", "-d", "-s", "shell", "-x", "150", "-y", "50",
                  "env JOURNEY_HISTORY=\(d)/h HOME=\(d) TERM=xterm \(binaryPath()) \(d)/s.journey --clickhouse '\(url)?database=\(db)'"])
        try waitFor("the prompt") { $0.contains("journey>") }
        try type("funnel awareness > conversion > awareness > conversion > awareness > conversion within 3650d entry best"); try keys("Enter")
        // Wait (on a condition) until the server runs it, then Ctrl-C.
        var started = false
        for _ in 0..<200 where !started { started = try running() > 0; if !started { usleep(50_000) } }
        #expect(started, "the funnel never reached the server")
        try keys("C-c")
        try waitFor("the cancel message") { $0.contains("query cancelled") }
        var gone = false
        for _ in 0..<200 where !gone { gone = try running() == 0; if !gone { usleep(50_000) } }
        #expect(gone, "the query still runs on the server after Ctrl-C")
        try waitForPrompt("the prompt after the cancel")
        try type("count events"); try keys("Enter")
        try waitFor("the shell still answers") { $0.contains("30,000,002") }
        try keys("C-d")
    }
}
