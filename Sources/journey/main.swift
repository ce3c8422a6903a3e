import Foundation
import JourneyCore
import JourneyRender
import JourneySession
import JourneyShell
import JourneyStore
import JourneyLanguage

let usage = """
Usage:
  journey                              the shell on the demo dataset
  journey STORE                        the shell on STORE (created when missing)
  journey STORE --create -c …          create STORE for a batch run (without it, a missing STORE is an error)
  journey STORE -c "QUERY" [-c ...]    run queries and exit (non-zero on the first error)
  journey STORE -f FILE.jql [--param NAME=VALUE ...]
  journey STORE < script.jql           statements from standard input
     --mode table|ascii|csv|tsv|json|markdown|line   --width N
  journey import FILE... --into STORE [--map COLUMN=FIELD ...] [--format csv|ndjson]
  journey generate --profile b2b|b2c --customers N --seed S --out FILE.csv
  journey report SCRIPT.jql [--store STORE] --out REPORT.html|REPORT.md [--param NAME=VALUE ...]
  journey notebook FILE.jql [--store STORE] [--param NAME=VALUE ...] [--check]   run cells, outputs written back
  journey push STORE --clickhouse URL [--cluster NAME --shard URL ...]   copy a store into ClickHouse
  journey export STORE --out FILE.csv|FILE.ndjson                            every stored event, back out
  journey [STORE] --clickhouse URL [-c ...]   run statements on ClickHouse (URL: http://HOST:8123/?database=journey)

Examples:
  journey datasets/demo/demo.journey -c "funnel awareness > consideration > intent > conversion within 90d"
  journey shop.journey -f queries/weekly_funnel.jql --param since=2024-01-01 --mode csv
"""

/// The demo store: built from datasets/demo on first use, next to the data.
func demoStore() -> String? {
    let env = ProcessInfo.processInfo.environment
    let dir = env["JOURNEY_DEMO_DIR"] ?? "datasets/demo"
    let store = dir + "/demo.journey"
    if FileManager.default.fileExists(atPath: store) { return store }
    let files = ["events.csv", "customers.csv", "accounts.csv", "touchpoints.csv"].map { dir + "/" + $0 }.filter { FileManager.default.fileExists(atPath: $0) }
    guard !files.isEmpty else { return nil }
    do {
        let s = try Store(path: store)
        for f in files { _ = try s.importFile(f) }
    } catch {
        printError("cannot build the demo store: \(error)")
        return nil
    }
    return store
}

func runMain() -> Int32 {
    // Output into a pipe whose reader has gone (`| head`): end quietly, like any Unix tool — also when the parent
    // started us with SIGPIPE ignored (a write would then fail with EPIPE, and Foundation stops on that).
    signal(SIGPIPE, SIG_DFL)
    let args = Array(CommandLine.arguments.dropFirst())
    switch args.first {
    case "import": return ImportCommand.run(Array(args.dropFirst()))
    case "generate": return GenerateCommand.run(Array(args.dropFirst()))
    case "report": return ReportCommand.run(Array(args.dropFirst()))
    case "notebook": return NotebookCommand.run(Array(args.dropFirst()))
    case "push": return PushCommand.run(Array(args.dropFirst()))
    case "export": return ExportCommand.run(Array(args.dropFirst()))
    case "--help", "-h", "help": print(usage); return 0
    default: break
    }
    var storePath: String?
    var commands: [String] = []
    var scriptFile: String?
    var mode: RenderSettings.Mode?
    var width: Int?
    var params: [String: Literal] = [:]
    var create = false
    var clickhouse: String?
    var i = 0
    while i < args.count {
        let a = args[i]
        func value() -> String? { i += 1; return i < args.count ? args[i] : nil }
        switch a {
        case "-c": guard let v = value() else { printError("-c needs a query"); return 1 }; commands.append(v)
        case "-f": scriptFile = value()
        case "--mode":
            guard let m = value().flatMap(RenderSettings.Mode.init(rawValue:)) else { printError("--mode takes table, ascii, csv, tsv, json, markdown or line"); return 1 }
            mode = m
        case "--width": width = value().flatMap(Int.init)
        case "--create": create = true
        case "--clickhouse": clickhouse = value()
        case "--param":
            guard let p = value(), let eq = p.firstIndex(of: "=") else { printError("--param takes NAME=VALUE"); return 1 }
            params[String(p[..<eq])] = Literal.fromArgument(String(p[p.index(after: eq)...]))
        default:
            if a.hasPrefix("-") { printError("unknown option '\(a)'\n\n\(usage)"); return 1 }
            if storePath != nil { printError("more than one store named ('\(storePath!)' and '\(a)')"); return 1 }
            storePath = a
        }
        i += 1
    }
    // On ClickHouse no local store is read: without one named, an empty scratch store stands in for the session.
    var scratch: String?
    if clickhouse != nil && storePath == nil {
        scratch = NSTemporaryDirectory() + "journey-remote-\(getpid()).journey"
        storePath = scratch
        create = true
    }
    defer { if let scratch { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: scratch + suffix) } } }
    guard let path = storePath ?? demoStore() else { printError("no store named and no demo dataset found (datasets/demo)\n\n\(usage)"); return 1 }
    let interactive = commands.isEmpty && scriptFile == nil && isatty(0) != 0
    // Only the shell (or --create) makes a new store: a batch run on a misspelled name must not create one.
    if !interactive && !create, let problem = missingStore(path) { printError(problem); return 1 }
    let session: Session
    do { session = Session(store: try Store(path: path)) } catch { printError("\(error)"); return 1 }
    session.params = params
    session.pinned = Set(params.keys)
    if let clickhouse {
        do { try session.connect(clickhouse: clickhouse) } catch { printError("\(error)"); return 1 }
    }
    let shell = Shell(session: session, interactive: interactive)
    if let mode { shell.setMode(mode) }
    if let width { shell.setWidth(width) }
    if interactive {
        if let rc = ProcessInfo.processInfo.environment["HOME"].map({ $0 + "/.journeyrc" }), let text = try? String(contentsOfFile: rc, encoding: .utf8) {
            _ = shell.runScript(text)
        }
        shell.runInteractive()
        return 0
    }
    var script: (text: String, name: String)?
    if let f = scriptFile {
        guard let text = try? String(contentsOfFile: f, encoding: .utf8) else { printError("\(f): cannot read the script"); return 1 }
        script = (text, f)
    } else if commands.isEmpty {
        script = (String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self), "<stdin>")
    }
    if let problem = unusedParameter(params.keys.sorted(), in: commands + (script.map { [$0.text] } ?? [])) { printError(problem); return 1 }
    for c in commands { if !shell.execute(c) { return 1 } }
    if let script { return shell.runScript(script.text, name: script.name) ? 0 : 1 }
    return 0
}

/// The arguments of a command that runs one script on a store (report, notebook): the script, `--store`,
/// `--param`, `--help`, and the command's own options, which `own` reads (given the option and a reader of its
/// value; nil: not its option; false: wrong, already said). Nil when the command should stop with `status`.
struct ScriptArguments {
    var script: String?, store: String?, params: [String: Literal] = [:]

    static func parse(_ args: [String], help: String, one: String,
                      own: (String, () -> String?) -> Bool?) -> (arguments: ScriptArguments?, status: Int32) {
        var r = ScriptArguments()
        var i = 0
        func value() -> String? { i += 1; return i < args.count ? args[i] : nil }
        while i < args.count {
            let a = args[i]
            switch a {
            case "--help", "-h": print(help); return (nil, 0)
            case "--store": r.store = value()
            case "--param": if !addParameter(value(), to: &r.params) { return (nil, 1) }
            default:
                if let ok = own(a, value) { if !ok { return (nil, 1) }; break }
                if a.hasPrefix("-") { printError("unknown option '\(a)'\n\n\(help)"); return (nil, 1) }
                if let s = r.script { printError("\(one) ('\(s)' and '\(a)')"); return (nil, 1) }
                r.script = a
            }
            i += 1
        }
        return (r, 0)
    }
}

/// `--param NAME=VALUE` read into the parameters (false after saying what is wrong).
func addParameter(_ text: String?, to params: inout [String: Literal]) -> Bool {
    guard let p = text, let eq = p.firstIndex(of: "=") else { printError("--param takes NAME=VALUE"); return false }
    params[String(p[..<eq])] = Literal.fromArgument(String(p[p.index(after: eq)...]))
    return true
}

/// The session a script-running command (report, notebook) works in: the store named (or the demo), which must
/// exist, with the parameters given — each of which the script must use. Nil after saying what is wrong.
func scriptSession(store: String?, params: [String: Literal], script: String) -> Session? {
    guard let path = store ?? demoStore() else { printError("no store named and no demo dataset found (datasets/demo)"); return nil }
    if let problem = missingStore(path) { printError(problem); return nil }
    if let problem = unusedParameter(params.keys.sorted(), in: [script]) { printError(problem); return nil }
    do {
        let session = Session(store: try Store(path: path))
        session.params = params
        session.pinned = Set(params.keys)
        return session
    } catch { printError("\(error)"); return nil }
}

/// The message for a store path with no store behind it (nil when there is one), with the nearest store's name.
func missingStore(_ path: String) -> String? {
    guard !FileManager.default.fileExists(atPath: path) else { return nil }
    let dir = (path as NSString).deletingLastPathComponent
    let stores = ((try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []).filter { $0.hasSuffix(".journey") }
    let near = suggestion(for: (path as NSString).lastPathComponent, among: stores).map { dir.isEmpty ? $0 : dir + "/" + $0 }
    return "no store at '\(path)'" + (near.map { "; did you mean '\($0)'?" } ?? "")
        + "\nhelp: import data into a new store with: journey import FILE --into \(path) (or add --create)"
}

/// A `--param` the statements never use (`$NAME` or `set NAME = …`): a misspelling would otherwise be ignored.
func unusedParameter(_ names: [String], in texts: [String]) -> String? {
    var used = Set<String>()
    for text in texts {
        for token in Lexer.tokenize(text) where token.kind == .param { used.insert(token.text) }
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if words.count >= 2, words[0].lowercased() == "set" { used.insert(String(words[1]).trimmingCharacters(in: CharacterSet(charactersIn: "="))) }
        }
    }
    for name in names where !used.contains(name) {
        let s = suggestion(for: name, among: used.sorted())
        return "--param \(name): the statements have no parameter '\(name)'" + (s.map { "; did you mean '\($0)'?" } ?? "")
            + (used.isEmpty ? " (they use none)" : "\nhelp: parameters used: \(used.sorted().joined(separator: ", "))")
    }
    return nil
}

let status = runMain()
if ProcessInfo.processInfo.environment["JOURNEY_TRACE"] != nil,
   let proc = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
    // Resident memory now and at its peak (bench/ reads these).
    let lines = proc.split(separator: "\n").filter { $0.hasPrefix("VmRSS") || $0.hasPrefix("VmHWM") || $0.hasPrefix("RssAnon") || $0.hasPrefix("RssFile") }
    FileHandle.standardError.write(Data((lines.joined(separator: "; ") + "\n").utf8))
}
exit(status)
