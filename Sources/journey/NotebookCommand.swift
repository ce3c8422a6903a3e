import Foundation
import JourneyCore
import JourneyLanguage
import JourneyRender
import JourneySession
import JourneyShell

enum NotebookCommand {
    static let help = """
    Usage: journey notebook FILE.jql [--store STORE] [--param NAME=VALUE ...] [--width N] [--check]

    Runs a notebook: every statement of FILE, writing its output back under it as `--|` lines (the `--` prose
    stays as it is). Running it again replaces those lines, so the file reads like a notebook in any editor and
    a re-run on the same store changes nothing. A failing cell shows its error where it stands; the rest still
    run (the exit status is 1 then). Tables are drawn 100 columns wide unless --width or a `.width N` cell says
    otherwise; `.mode` and `.chart` cells work too. Without --store, the demo dataset.
    --check writes nothing and fails when the outputs in FILE are not what a run gives now (for CI).

    Examples:
      journey notebook queries/teaching/funnel_basics.jql
      journey notebook analysis.jql --store shop.journey --param since=2025-01-01
    """

    static func run(_ args: [String]) -> Int32 {
        var width = 100, check = false
        let (parsed, status) = ScriptArguments.parse(args, help: help, one: "one notebook at a time") { option, value in
            switch option {
            case "--check": check = true; return true
            case "--width":
                guard let w = value().flatMap(Int.init), w >= 20 else { printError("--width takes a number of columns (20 or more)"); return false }
                width = w; return true
            default: return nil
            }
        }
        guard let parsed else { return status }
        let file = parsed.script, store = parsed.store, params = parsed.params
        guard let file else { printError("no notebook named\n\n\(help)"); return 1 }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { printError("\(file): cannot read the file"); return 1 }
        guard let session = scriptSession(store: store, params: params, script: Notebook.cells(text)) else { return 1 }
        var settings = RenderSettings()
        settings.width = width
        let (out, failures) = Notebook.run(text, name: file, session: session, settings: settings)
        let cells = ScriptBlock.split(Notebook.cells(text)).filter { if case .statement = $0 { return true }; return false }.count
        if check {
            if out == text { print("\(file): \(cells) cells, outputs up to date"); return failures == 0 ? 0 : 1 }
            printError("\(file): the outputs are not what a run gives now (run: journey notebook \(file))")
            return 1
        }
        do { try AtomicFile.write(out, to: file) } catch { printError("\(file): \(error.localizedDescription)"); return 1 }
        print("\(file): \(cells) cells run" + (failures > 0 ? ", \(failures) failed (their errors are in the file)" : ""))
        return failures == 0 ? 0 : 1
    }
}
