import Foundation
import JourneyCore
import JourneyLanguage
import JourneyRender
import JourneySession

enum ReportCommand {
    static let help = """
    Usage: journey report SCRIPT.jql [--store STORE] --out REPORT.html|REPORT.md [--param NAME=VALUE ...] [--title TEXT]

    Runs each statement of SCRIPT like a notebook and writes a document: the script's `--` comments as prose
    (Markdown), each statement's text, its tables and its charts — SVG charts in a self-contained HTML file (no
    script, no network), text charts in Markdown. Without --store, the demo dataset. Stops at the first error
    (SCRIPT:LINE:COL: message) and writes nothing then.

    Examples:
      journey report queries/touchpoint_relevance.jql --out relevance.html
      journey report queries/weekly_funnel.jql --store shop.journey --out weekly.md
    """

    static func run(_ args: [String]) -> Int32 {
        var out: String?, title: String?
        let (parsed, status) = ScriptArguments.parse(args, help: help, one: "one script per report") { option, value in
            switch option {
            case "--out", "-o": out = value(); return true
            case "--title": title = value(); return true
            default: return nil
            }
        }
        guard let parsed else { return status }
        let script = parsed.script, store = parsed.store, params = parsed.params
        guard let script else { printError("no script named\n\n\(help)"); return 1 }
        guard let out, out.hasSuffix(".html") || out.hasSuffix(".htm") || out.hasSuffix(".md") else {
            printError("--out needs a file ending in .html or .md\n\n\(help)"); return 1
        }
        guard let text = try? String(contentsOfFile: script, encoding: .utf8) else { printError("\(script): cannot read the file"); return 1 }
        guard let session = scriptSession(store: store, params: params, script: text) else { return 1 }
        let path = session.store.path

        var blocks: [ReportBlock] = []
        for b in ScriptBlock.split(text) {
            switch b {
            case .comment(let c, _): blocks.append(.prose(c))
            case .command(let c, let line):
                printError("\(script):\(line): a report runs statements only; '\(c.split(separator: " ").first ?? "")' is a shell command")
                return 1
            case .statement(let st, let line):
                do {
                    let tables = try session.run(st)
                    if !tables.isEmpty { blocks.append(.statement(text: st.trimmingCharacters(in: .whitespacesAndNewlines), tables: tables)) }
                } catch let d as Diagnostic {
                    printError("\(script):\(line + d.range.line - 1):\(d.range.column): error: \(d.message)" + (d.help.map { "\nhelp: \($0)" } ?? ""))
                    return 1
                } catch {
                    printError("\(script):\(line): error: \(error)")
                    return 1
                }
            }
        }
        let name = title ?? URL(fileURLWithPath: script).deletingPathExtension().lastPathComponent.replacingOccurrences(of: "_", with: " ").capitalized
        // The store by its file name (not its directory), so a report reads the same wherever it was made.
        let described = session.describeStore()
        let storeText = described.hasPrefix(path + ": ") ? URL(fileURLWithPath: path).lastPathComponent + ": " + described.dropFirst(path.count + 2) : described
        let subtitle = "\(URL(fileURLWithPath: script).lastPathComponent) on \(storeText)"
        let doc = out.hasSuffix(".md") ? Report.markdown(title: name, subtitle: subtitle, blocks: blocks)
                                       : Report.html(title: name, subtitle: subtitle, blocks: blocks)
        do { try AtomicFile.write(doc, to: out) } catch { printError("\(out): \(error.localizedDescription)"); return 1 }
        print("\(out): \(blocks.filter { if case .statement = $0 { return true }; return false }.count) statements")
        return 0
    }
}
