import Foundation
import JourneyRender
import JourneySession
import JourneyShell
import JourneyStore
import JourneyLanguage

let usage = """
Usage:
  journey                              the shell on the demo dataset
  journey STORE                        the shell on STORE (created when missing)
  journey STORE -c "QUERY" [-c ...]    run queries and exit (non-zero on the first error)
  journey STORE -f FILE.jql [--param NAME=VALUE ...]
  journey STORE < script.jql           statements from standard input
     --mode table|ascii|csv|tsv|json|markdown|line   --width N
  journey import FILE... --into STORE [--map COLUMN=FIELD ...] [--format csv|ndjson]
  journey generate --profile b2b|b2c --customers N --seed S --out FILE.csv
  journey report SCRIPT.jql [--store STORE] --out REPORT.html|REPORT.md [--param NAME=VALUE ...]

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
    let args = Array(CommandLine.arguments.dropFirst())
    switch args.first {
    case "import": return ImportCommand.run(Array(args.dropFirst()))
    case "generate": return GenerateCommand.run(Array(args.dropFirst()))
    case "report": return ReportCommand.run(Array(args.dropFirst()))
    case "--help", "-h", "help": print(usage); return 0
    default: break
    }
    var storePath: String?
    var commands: [String] = []
    var scriptFile: String?
    var mode: RenderSettings.Mode?
    var width: Int?
    var params: [String: Literal] = [:]
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
    guard let path = storePath ?? demoStore() else { printError("no store named and no demo dataset found (datasets/demo)\n\n\(usage)"); return 1 }
    let session: Session
    do { session = Session(store: try Store(path: path)) } catch { printError("\(error)"); return 1 }
    session.params = params
    session.pinned = Set(params.keys)
    let interactive = commands.isEmpty && scriptFile == nil && isatty(0) != 0
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
    for c in commands { if !shell.execute(c) { return 1 } }
    if let f = scriptFile {
        guard let text = try? String(contentsOfFile: f, encoding: .utf8) else { printError("\(f): cannot read the script"); return 1 }
        return shell.runScript(text, name: f) ? 0 : 1
    }
    if commands.isEmpty {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        return shell.runScript(String(decoding: data, as: UTF8.self), name: "<stdin>") ? 0 : 1
    }
    return 0
}

let status = runMain()
if ProcessInfo.processInfo.environment["JOURNEY_TRACE"] != nil,
   let proc = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
    // Resident memory now and at its peak (bench/ reads these).
    let lines = proc.split(separator: "\n").filter { $0.hasPrefix("VmRSS") || $0.hasPrefix("VmHWM") || $0.hasPrefix("RssAnon") || $0.hasPrefix("RssFile") }
    FileHandle.standardError.write(Data((lines.joined(separator: "; ") + "\n").utf8))
}
exit(status)
