@preconcurrency import CEditLine
import Foundation
import JourneyCore
import JourneyLanguage
import JourneyRender
import JourneySession
import JourneyStore

/// Set by SIGINT; a running query polls it and stops.
nonisolated(unsafe) var interrupted: Int32 = 0
/// Catalog words for Tab completion.
nonisolated(unsafe) var completer = Completer()
/// Set when Ctrl-C ended the line being typed: the line is dropped, not run.
nonisolated(unsafe) var lineInterrupted: Int32 = 0
nonisolated(unsafe) var completionMatches: [String] = []
nonisolated(unsafe) var completionIndex = 0

/// The interactive shell and the batch runner: both feed statements to one `Session`.
public final class Shell {
    let session: Session
    var settings = RenderSettings()
    var timer = false
    var output: FileHandle = .standardOutput
    /// The last statement's result, for `.last` to draw again in another mode.
    var lastTables: [ResultTable] = []
    /// The lesson `.tutorial N` started (its number), for `.answer`.
    var lesson: (number: Int, lesson: Lesson)?
    /// Where `.tutorial` finds its lessons: $JOURNEY_LESSONS, else queries/teaching.
    var lessonDirectory: String { ProcessInfo.processInfo.environment["JOURNEY_LESSONS"] ?? "queries/teaching" }
    let interactive: Bool
    let color: Bool
    /// For batch errors: the script's name.
    var sourceName: String?

    public init(session: Session, interactive: Bool) {
        self.session = session
        self.interactive = interactive
        let env = ProcessInfo.processInfo.environment
        // Output to a terminal (the shell, or a batch run whose output is not redirected) takes the terminal's
        // width and colour; redirected output is 80 columns (or $COLUMNS) and plain.
        let terminal = isatty(1) != 0
        color = terminal && env["NO_COLOR"] == nil
        settings.color = color
        if !RenderSettings.localeIsUTF8(env) { settings.mode = .ascii }
        if let c = env["COLUMNS"], let w = Int(c) { settings.width = w }
        followsTerminal = terminal && env["COLUMNS"] == nil
        if terminal {
            var ws = winsize()
            if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { settings.width = Int(ws.ws_col) }
        }
        session.isCancelled = { interrupted != 0 }
    }

    public func setMode(_ m: RenderSettings.Mode) { settings.mode = m }
    public func setWidth(_ w: Int) { settings.width = max(20, w); followsTerminal = false }

    /// True while tables take the terminal's width: a resized window (SIGWINCH) re-flows the next table. `.width`
    /// or $COLUMNS pin the width instead.
    var followsTerminal = false

    /// The terminal's width now (asked before each statement: cheap, and needs no signal handler).
    func followTerminalWidth() {
        guard followsTerminal else { return }
        var ws = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { settings.width = Int(ws.ws_col) }
    }

    func write(_ s: String) { output.write(Data((s + "\n").utf8)) }
    func error(_ s: String) {
        let text = color ? "\u{1B}[31m\(s)\u{1B}[0m" : s
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    // MARK: Running text

    /// Runs one statement or dot-command; false on error. `line` is where it starts in its script.
    @discardableResult
    public func execute(_ text: String, line: Int = 1) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return true }
        if trimmed.hasPrefix(".") { return dotCommand(trimmed, line: line) }
        interrupted = 0
        followTerminalWidth()
        let start = Date(), waited = session.remote?.client.waited
        do {
            let tables = try session.run(text)
            if !tables.isEmpty { lastTables = tables }
            for t in tables { write(Renderer.render(t, settings)); if settings.mode == .table { write("") } }
            if timer {
                // On ClickHouse: how much of it went waiting for the server's answers.
                let server = session.remote.map { r in String(format: " (ClickHouse %.3f s)", r.client.waited - (waited ?? 0)) } ?? ""
                write(String(format: "Run Time: %.3f s", Date().timeIntervalSince(start)) + server)
            }
            return true
        } catch let d as Diagnostic {
            error(d.render(source: text, file: sourceName, lineOffset: line - 1))
        } catch is QueryCancelled {
            error("query cancelled")
        } catch {
            self.error((sourceName.map { "\($0):\(line): " } ?? "") + "error: \(error)")
        }
        return false
    }

    /// Runs a whole script; stops at the first error (batch semantics). Returns false on error. The script is
    /// checked first: when any statement has an error, every one is reported and nothing runs.
    public func runScript(_ text: String, name: String? = nil) -> Bool {
        let saved = sourceName
        if let name { sourceName = name }
        defer { sourceName = saved }
        let blocks = ScriptBlock.split(text)
        let problems = session.check(blocks)
        if !problems.isEmpty {
            for p in problems { error(p.diagnostic.render(source: p.text, file: sourceName, lineOffset: p.line - 1)) }
            if problems.count > 1 { error("\(problems.count) errors; nothing was run") }
            return false
        }
        for block in blocks {
            switch block {
            case .comment: continue
            case .command(let t, let line), .statement(let t, let line): if !execute(t, line: line) { return false }
            }
        }
        return true
    }

    // MARK: Dot-commands (a table: name, usage, summary, handler)

    struct DotCommand { let name: String; let usage: String; let summary: String; let run: (Shell, [String]) -> Bool }

    static let commands: [DotCommand] = [
        DotCommand(name: "help", usage: ".help [TOPIC]", summary: "this list, or help on a command or statement; .help glossary [TERM]") { sh, a in
            sh.help(a.isEmpty ? nil : a.joined(separator: " ")); return true
        },
        DotCommand(name: "open", usage: ".open STORE", summary: "open another store (created when missing)") { sh, a in
            guard let p = a.first else { sh.error("usage: .open STORE"); return false }
            do { try sh.session.open(p); sh.refreshCompletion(); sh.write(sh.session.describeStore()); return true } catch { sh.error("\(error)"); return false }
        },
        DotCommand(name: "import", usage: ".import FILE", summary: "import a CSV/NDJSON file into the open store") { sh, a in
            guard let p = a.first else { sh.error("usage: .import FILE"); return false }
            do {
                var o = ImportOptions(); o.progress = sh.interactive
                let r = try sh.session.store.importFile(p, options: o)
                sh.session.invalidate(); sh.refreshCompletion(); sh.write(r.summary); return true
            } catch { sh.error("\(error)"); return false }
        },
        DotCommand(name: "connect", usage: ".connect clickhouse URL | .connect local", summary: "run statements on a ClickHouse server (or back on the store)") { sh, a in
            if a.first == "local" { sh.session.disconnect(); sh.refreshCompletion(); sh.write("statements run on \(sh.session.store.path)"); return true }
            guard a.count == 2, a[0] == "clickhouse" else { sh.error("usage: .connect clickhouse URL (e.g. http://127.0.0.1:8123/?database=journey) | .connect local"); return false }
            do { try sh.session.connect(clickhouse: a[1]); sh.refreshCompletion(); sh.write("statements run on ClickHouse at \(sh.session.remote!.client.display)"); return true }
            catch { sh.error("\(error)"); return false }
        },
        DotCommand(name: "mode", usage: ".mode table|ascii|csv|tsv|json|markdown|line", summary: "how results are printed") { sh, a in
            guard let m = a.first.flatMap({ w in RenderSettings.Mode.allCases.first { $0.rawValue.hasPrefix(w) } }) else {
                let s = a.first.flatMap { suggestion(for: $0, among: RenderSettings.Mode.allCases.map(\.rawValue)) }
                sh.error((a.first.map { "unknown mode '\($0)'" + (s.map { " — did you mean '\($0)'?" } ?? "") + "; " } ?? "") + "usage: .mode table|ascii|csv|tsv|json|markdown|line")
                return false
            }
            sh.settings.mode = m; return true
        },
        DotCommand(name: "timer", usage: ".timer on|off", summary: "print each query's run time") { sh, a in sh.timer = a.first == "on"; return true },
        DotCommand(name: "chart", usage: ".chart on|off", summary: "draw charts under tables") { sh, a in sh.settings.charts = a.first != "off"; return true },
        DotCommand(name: "width", usage: ".width N", summary: "the output width in columns") { sh, a in
            guard let n = a.first.flatMap(Int.init) else { sh.error("usage: .width N"); return false }
            sh.setWidth(n); return true
        },
        DotCommand(name: "read", usage: ".read FILE.jql", summary: "run a script") { sh, a in
            guard let p = a.first, let text = try? String(contentsOfFile: p, encoding: .utf8) else { sh.error("cannot read \(a.first ?? "(no file)")"); return false }
            let saved = sh.sourceName; sh.sourceName = p; defer { sh.sourceName = saved }
            return sh.runScript(text)
        },
        DotCommand(name: "output", usage: ".output [FILE]", summary: "write results to FILE, or back to the screen") { sh, a in
            if let p = a.first {
                guard FileManager.default.createFile(atPath: p, contents: nil), let h = FileHandle(forWritingAtPath: p) else { sh.error("cannot write \(p)"); return false }
                sh.output = h
            } else { sh.output = .standardOutput }
            return true
        },
        DotCommand(name: "quarantine", usage: ".quarantine [N]", summary: "the rows imports set aside, with file, line and reason (last N, default 20)") { sh, a in
            do {
                let q = try sh.session.store.quarantine(limit: a.first.flatMap(Int.init) ?? 20)
                let t = ResultTable(title: "quarantine", columns: ["file", "line", "reason", "detail", "row"],
                                    rows: q.rows.map { [.text($0.file), .text(String($0.line)), .text($0.reason), .text($0.detail), .text($0.raw)] },
                                    notes: ["\(q.total.grouped) rows in quarantine\(q.total > q.rows.count ? "; the last \(q.rows.count) shown" : "")"])
                sh.write(Renderer.render(t, sh.settings)); return true
            } catch { sh.error("\(error)"); return false }
        },
        DotCommand(name: "schema", usage: ".schema", summary: "the store's tables") { sh, _ in sh.write((try? sh.session.store.schemaText()) ?? ""); return true },
        DotCommand(name: "stages", usage: ".stages", summary: "the stage catalog, in order") { sh, _ in sh.listNames { $0.stages } },
        DotCommand(name: "channels", usage: ".channels", summary: "the channels in the store") { sh, _ in sh.listNames { $0.channels.filter { !$0.isEmpty } } },
        DotCommand(name: "events", usage: ".events", summary: "the event (touchpoint) names in the store") { sh, _ in sh.listNames { $0.events.filter { !$0.isEmpty } } },
        DotCommand(name: "save", usage: ".save FILE.jql", summary: "save this session's statements as a notebook (run it with: journey notebook FILE.jql)") { sh, a in
            guard let p = a.first else { sh.error("usage: .save FILE.jql"); return false }
            // A heading per cell (the statement's first words), so the saved file reads as a notebook.
            let cells = sh.session.history.enumerated().map { k, st -> String in
                let words = st.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(4).joined(separator: " ")
                return "-- ## \(k + 1). \(words)\n" + (st.hasSuffix(";") ? st : st + ";")
            }
            let text = "-- # Saved from a journey session on \(sh.session.store.path)\n\n" + cells.joined(separator: "\n\n") + "\n"
            do { try AtomicFile.write(text, to: p); sh.write("saved \(sh.session.history.count) statements to \(p)"); return true }
            catch { sh.error("cannot write \(p)"); return false }
        },
        DotCommand(name: "cells", usage: ".cells", summary: "this session's statements, numbered (for .rerun and .edit)") { sh, _ in
            if sh.session.history.isEmpty { sh.write("no statements yet"); return true }
            for (k, st) in sh.session.history.enumerated() { sh.write("\(k + 1)  " + st.replacingOccurrences(of: "\n", with: "\n   ")) }
            return true
        },
        DotCommand(name: "rerun", usage: ".rerun N", summary: "run statement N of .cells again") { sh, a in
            guard let st = sh.cell(a.first, usage: ".rerun N") else { return false }
            sh.write(st)
            return sh.execute(st)
        },
        DotCommand(name: "edit", usage: ".edit N", summary: "edit statement N of .cells in $EDITOR, then run it") { sh, a in
            guard let st = sh.cell(a.first, usage: ".edit N") else { return false }
            let file = NSTemporaryDirectory() + "journey-edit-\(getpid()).jql"
            defer { try? FileManager.default.removeItem(atPath: file) }
            do { try st.write(toFile: file, atomically: true, encoding: .utf8) } catch { sh.error("cannot write \(file)"); return false }
            let editor = ProcessInfo.processInfo.environment["VISUAL"] ?? ProcessInfo.processInfo.environment["EDITOR"] ?? "vi"
            guard system("\(editor) '\(file)'") == 0, let edited = try? String(contentsOfFile: file, encoding: .utf8) else {
                sh.error("the editor (\(editor)) did not finish cleanly; nothing was run"); return false
            }
            let text = edited.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { sh.write("empty: nothing was run"); return true }
            sh.write(text)
            return sh.execute(text)
        },
        DotCommand(name: "tutorial", usage: ".tutorial [N]", summary: "lessons on funnel analysis with the demo data: the list, or lesson N") { sh, a in
            sh.tutorial(a.first)
        },
        DotCommand(name: "answer", usage: ".answer VALUE", summary: "answer the current lesson's question") { sh, a in
            sh.answer(a.joined(separator: " "))
        },
        DotCommand(name: "last", usage: ".last [MODE] [chart on|off]", summary: "draw the last result again, e.g. .last csv or .last table chart off") { sh, a in
            guard !sh.lastTables.isEmpty else { sh.error("no result yet"); return false }
            var s = sh.settings
            var k = 0
            while k < a.count {
                if a[k] == "chart", k + 1 < a.count { s.charts = a[k + 1] != "off"; k += 2; continue }
                guard let m = RenderSettings.Mode.allCases.first(where: { $0.rawValue.hasPrefix(a[k]) }) else {
                    sh.error("unknown mode '\(a[k])'; usage: .last [table|ascii|csv|tsv|json|markdown|line] [chart on|off]"); return false
                }
                s.mode = m; k += 1
            }
            for t in sh.lastTables { sh.write(Renderer.render(t, s)); if s.mode == .table { sh.write("") } }
            return true
        },
        DotCommand(name: "quit", usage: ".quit", summary: "leave the shell") { _, _ in exit(0) },
        DotCommand(name: "exit", usage: ".exit", summary: "leave the shell") { _, _ in exit(0) },
    ]

    func tutorial(_ arg: String?) -> Bool {
        let lessons = Lesson.all(in: lessonDirectory)
        guard !lessons.isEmpty else { error("no lessons in \(lessonDirectory) (set JOURNEY_LESSONS to a folder of lesson files)"); return false }
        guard let arg else {
            var out = ["Lessons (.tutorial N starts one; .answer VALUE answers its question):"]
            for (k, l) in lessons.enumerated() {
                switch l.lesson {
                case .success(let lesson): out.append("  \(k + 1). " + lesson.title)
                case .failure(let e): out.append("  \(k + 1). (cannot be read: \(e))")
                }
            }
            write(out.joined(separator: "\n")); return true
        }
        guard let n = Int(arg), n >= 1, n <= lessons.count else { error("no lesson '\(arg)': there are \(lessons.count) (.tutorial lists them)"); return false }
        switch lessons[n - 1].lesson {
        case .failure(let e): error("\(e)"); return false
        case .success(let l):
            lesson = (n, l)
            write(l.introduction); return true
        }
    }

    func answer(_ given: String) -> Bool {
        guard let (n, l) = lesson else { error("no lesson started: .tutorial N starts one"); return false }
        guard let a = l.answer else { write("this lesson has no question to check; .tutorial \(n + 1) goes on"); return true }
        guard !given.isEmpty else { error("usage: .answer VALUE"); return false }
        let truth: String
        do {
            let tables = try session.run(a.statement, record: false)
            // The row by its first cell's text, or `#N` for the Nth row (the top one: `#1`).
            func pick(_ t: ResultTable) -> [Value]? {
                if a.row.hasPrefix("#"), let n = Int(a.row.dropFirst()) { return n >= 1 && n <= t.rows.count ? t.rows[n - 1] : nil }
                return t.rows.first { Renderer.cell($0[0], settings).lowercased() == a.row.lowercased() }
            }
            guard let t = tables.first, let col = t.columns.firstIndex(where: { $0.lowercased() == a.column.lowercased() }),
                  let row = pick(t) else {
                error("\(l.file): the answer's row '\(a.row)' or column '\(a.column)' is not in the result of '\(a.statement)'"); return false
            }
            truth = Renderer.cell(row[col], settings)
        } catch let e { error("\(l.file): the answer's statement fails: \(e)"); return false }
        let more = Lesson.all(in: lessonDirectory).count > n ? " Next: .tutorial \(n + 1)" : " That was the last lesson."
        if Lesson.matches(given, truth) { write("Right: \(truth)." + more); return true }
        let row = a.row.hasPrefix("#") ? "row \(a.row.dropFirst()) (from the top)" : "row '\(a.row)'"
        write("Not quite: \(given) is not it. Run the statement again and read \(row), column '\(a.column)'.")
        return true
    }

    /// Statement N (1-based) of this session, or nil after saying why.
    func cell(_ arg: String?, usage: String) -> String? {
        guard let n = arg.flatMap(Int.init) else { error("usage: \(usage) (.cells lists them)"); return nil }
        guard n >= 1 && n <= session.history.count else {
            error("no statement \(n): this session has \(session.history.count) (.cells lists them)"); return nil
        }
        return session.history[n - 1]
    }

    func listNames(_ pick: (Catalog) -> [String]) -> Bool {
        do { write(pick(try session.store.catalog()).joined(separator: "\n")); return true } catch { self.error("\(error)"); return false }
    }

    func dotCommand(_ text: String, line: Int) -> Bool {
        let parts = text.dropFirst().split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let name = parts.first else { error("type .help for the list of commands"); return false }
        let matches = Self.commands.filter { $0.name.hasPrefix(name) }
        if let exact = Self.commands.first(where: { $0.name == name }) ?? (matches.count == 1 ? matches[0] : nil) {
            return exact.run(self, Array(parts.dropFirst()))
        }
        let s = suggestion(for: name, among: Self.commands.map(\.name))
        error((sourceName.map { "\($0):\(line): " } ?? "") + "unknown command '.\(name)'" + (s.map { " — did you mean '.\($0)'?" } ?? "") + " (type .help)")
        return false
    }

    func help(_ topic: String?) {
        if let topic {
            let t = topic.lowercased()
            if t == "glossary" || t.hasPrefix("glossary ") {
                let term = t.dropFirst("glossary".count).trimmingCharacters(in: .whitespaces)
                guard let text = GlossaryEntry.text(term.isEmpty ? nil : term) else {
                    error("the glossary has no '\(term)' (.help glossary lists its terms)"); return
                }
                write(text); return
            }
            if let h = StatementHelp.all.first(where: { $0.name == t }) { write(h.text); return }
            if let c = Self.commands.first(where: { $0.name.hasPrefix(t.trimmingCharacters(in: CharacterSet(charactersIn: "."))) }) {
                write("\(c.usage)\n  \(c.summary)"); return
            }
            if let h = StatementHelp.all.first(where: { $0.name.hasPrefix(t) }) { write(h.text); return }
            let s = suggestion(for: t, among: StatementHelp.all.map(\.name) + Self.commands.map(\.name))
            error("no help on '\(topic)'" + (s.map { " — did you mean '\($0)'?" } ?? "") + " (type .help)")
            return
        }
        var out = ["Statements (end with ; or at the end of a complete line; .help NAME for one in full):"]
        for h in StatementHelp.all { out.append("  " + h.name.padding(toLength: 12, withPad: " ", startingAt: 0) + h.summary) }
        out += ["", "The words of journey analysis, with their German terms: .help glossary [TERM]", "", "Commands:"]
        for c in Self.commands { out.append("  " + c.usage.padding(toLength: max(40, c.usage.count + 2), withPad: " ", startingAt: 0) + c.summary) }
        write(out.joined(separator: "\n"))
    }

    func refreshCompletion() {
        guard let c = try? session.catalog() else { return }
        completer.stages = c.stages
        completer.events = c.events
        completer.channels = c.channels
        completer.campaigns = c.campaigns
        completer.customerAttributes = c.customerAttributes
        completer.commands = Self.commands.map { "." + $0.name }
        completer.commandArguments = ["mode": RenderSettings.Mode.allCases.map(\.rawValue), "timer": ["on", "off"], "chart": ["on", "off"],
                                      "help": StatementHelp.all.map(\.name)]
    }

    // MARK: Interactive loop

    public func runInteractive() {
        setlocale(LC_CTYPE, "")
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interrupted = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        // A parent may have started us with SIGINT blocked (the mask is inherited): Ctrl-C must reach us.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        // libedit retries a read that SIGINT interrupts, so Ctrl-C at the prompt would do nothing: read the keys
        // ourselves, and on Ctrl-C (the signal, or the byte 0x03 where the terminal passes it through) hand libedit
        // an Enter for a line we then drop.
        rl_catch_signals = 0
        rl_getc_function = { _ in
            var c: UInt8 = 0
            while true {
                let n = read(0, &c, 1)
                if n == 1 && c == 3 { lineInterrupted = 1; return 10 }
                if n == 1 { return Int32(c) }
                if n == 0 { return -1 }
                if errno == EINTR && interrupted != 0 { interrupted = 0; lineInterrupted = 1; return 10 }
                if errno != EINTR { return -1 }
            }
        }
        let historyPath = Self.historyPath()
        using_history()
        read_history(historyPath)
        refreshCompletion()
        rl_attempted_completion_function = { text, _, _ in
            guard let text else { return nil }
            return rl_completion_matches(text) { partial, state in
                if state == 0 {
                    // The whole line up to the cursor decides what may come next.
                    let line = rl_line_buffer.map { String(cString: $0) } ?? ""
                    let upToCursor = String(line.utf8.prefix(Int(rl_point))) ?? line
                    completionMatches = completer.candidates(for: upToCursor)
                    completionIndex = 0
                }
                guard completionIndex < completionMatches.count else { return nil }
                defer { completionIndex += 1 }
                return strdup(completionMatches[completionIndex])
            }
        }
        write("journey — \(session.describeStore())\nType .help for help, Ctrl-D to quit.")
        var buffer = ""
        var lastStatement: String?
        while true {
            interrupted = 0
            lineInterrupted = 0
            let prompt = buffer.isEmpty ? "journey> " : "    ...> "
            guard let cline = readline(prompt) else { write(""); break }   // Ctrl-D
            let line = String(cString: cline)
            free(cline)
            if lineInterrupted != 0 { buffer = ""; continue }                // Ctrl-C clears the line (and a pending statement)
            if buffer.isEmpty && line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            // A line that continues a statement (indented, or a clause keyword) after the last one ran: the last
            // statement with this clause added runs again.
            if buffer.isEmpty, Parser.continues(line), let last = lastStatement { buffer = last }
            buffer += (buffer.isEmpty ? "" : "\n") + line
            let t = buffer.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix(".") || Parser.isComplete(buffer) {
                add_history(buffer.replacingOccurrences(of: "\n", with: " "))
                write_history(historyPath)
                execute(buffer)
                lastStatement = t.hasPrefix(".") ? lastStatement : buffer
                buffer = ""
            }
        }
        write_history(historyPath)
    }

    static func historyPath() -> String {
        let env = ProcessInfo.processInfo.environment
        if let p = env["JOURNEY_HISTORY"] { return p }
        let base = env["XDG_STATE_HOME"] ?? ((env["HOME"] ?? ".") + "/.local/state")
        let dir = base + "/journey"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/history"
    }
}
