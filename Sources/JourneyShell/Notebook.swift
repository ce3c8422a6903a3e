import Foundation
import JourneyCore
import JourneyLanguage
import JourneyRender
import JourneySession

/// A notebook is a `.jql` file of cells — statements, and `--` prose in Markdown — whose outputs are written back
/// under each statement as `--|` lines. Running it again replaces those lines, so a notebook run twice on the same
/// store is the same file, reads like a notebook in any editor and diffs cleanly in git:
///
///     -- ## Where do accounts stall?
///     funnel awareness > consideration > intent > conversion within 180d count accounts;
///     --| funnel (accounts)
///     --| ┌──────────────────┬──────────┬ …
///
/// A failing cell shows its error where it stands (`--| error: FILE:LINE:COL: …`) and the cells after it still run.
public enum Notebook {
    /// The prefix of an output line (a comment to the language, so the file stays a runnable script).
    public static let outputPrefix = "--|"

    /// The file without its output lines: the cells.
    public static func cells(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix(outputPrefix) }
            .joined(separator: "\n")
    }

    /// Runs every cell of `text` (named `name` in error messages) and returns the file with fresh outputs, and how
    /// many cells failed. `.mode`, `.width` and `.chart` cells change how the following outputs are drawn.
    public static func run(_ text: String, name: String, session: Session, settings initial: RenderSettings) -> (text: String, failures: Int) {
        let source = cells(text)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var settings = initial
        var outputs: [Int: [String]] = [:]   // last line of a cell (0-based) → its output lines
        var failures = 0
        func lastLine(_ text: String, _ line: Int) -> Int { line - 1 + text.filter { $0 == "\n" }.count }
        for block in ScriptBlock.split(source) {
            switch block {
            case .comment: continue
            case .command(let c, let line):
                let words = c.dropFirst().split(separator: " ").map(String.init)
                var problem: String?
                switch words.first ?? "" {
                case "mode":
                    if let m = words.dropFirst().first.flatMap({ w in RenderSettings.Mode.allCases.first { $0.rawValue == w } }) { settings.mode = m }
                    else { problem = "usage: .mode table|ascii|csv|tsv|json|markdown|line" }
                case "width":
                    if let n = words.dropFirst().first.flatMap(Int.init) { settings.width = max(20, n) } else { problem = "usage: .width N" }
                case "chart": settings.charts = words.dropFirst().first != "off"
                default: problem = "'.\(words.first ?? "")' does not run in a notebook (only .mode, .width and .chart do)"
                }
                if let problem { failures += 1; outputs[line - 1] = ["error: \(name):\(line): \(problem)"] }
            case .statement(let st, let line):
                var out: [String]
                do {
                    let tables = try session.run(st)
                    out = tables.flatMap { Renderer.render($0, settings).split(separator: "\n", omittingEmptySubsequences: false).map(String.init) + [""] }
                    while out.last == "" { out.removeLast() }
                } catch let d as Diagnostic {
                    failures += 1
                    out = ["error: \(name):\(line + d.range.line - 1):\(d.range.column): \(d.message)"] + (d.help.map { ["help: \($0)"] } ?? [])
                } catch {
                    failures += 1
                    out = ["error: \(name):\(line): \(error)"]
                }
                outputs[lastLine(st, line)] = out
            }
        }
        var result: [String] = []
        for (i, l) in lines.enumerated() {
            result.append(l)
            if let out = outputs[i] {
                for o in out {
                    let trimmed = String(o.reversed().drop { $0 == " " }.reversed())
                    result.append(trimmed.isEmpty ? outputPrefix : outputPrefix + " " + trimmed)
                }
            }
        }
        return (result.joined(separator: "\n"), failures)
    }
}
