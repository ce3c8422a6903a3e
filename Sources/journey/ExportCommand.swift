import Foundation
import JourneyCore
import JourneyStore

enum ExportCommand {
    static let help = """
    Usage: journey export STORE --out FILE.csv|FILE.ndjson [--format csv|ndjson]

    Writes every stored event back out, so the data is never locked in journey's format: one row (or JSON
    object) per event, in customer and time order, with names rather than codes — customer_id, timestamp (UTC,
    milliseconds where the event had them), event, channel, stage, kind, campaign, device, source, online, value,
    account_id and each free property. Cross-source duplicates are included (an import flags them again);
    stage, channel and kind are as the rows carried them (empty where the touchpoint catalog fills them).
    A customer never identified keeps its anonymous key as customer_id (anon:…). `journey import` reads the
    file back: a store made from it (with the same touchpoint catalog) exports the same file and answers the
    same. Quarantined rows stay in the store's quarantine table; customers, accounts and the touchpoint catalog
    are plain tables (sqlite3 reads them). The file is written whole or not at all.

    Examples:
      journey export shop.journey --out events.csv
      journey export shop.journey --out events.ndjson
    """

    static func run(_ args: [String]) -> Int32 {
        var store: String?, out: String?, format: ExportFormat?
        var i = 0
        while i < args.count {
            let a = args[i]
            func value() -> String? { i += 1; return i < args.count ? args[i] : nil }
            switch a {
            case "--help", "-h": print(help); return 0
            case "--out": out = value()
            case "--format":
                guard let f = value().flatMap(ExportFormat.init(rawValue:)) else { return usage("--format takes csv or ndjson") }
                format = f
            default:
                if a.hasPrefix("-") { return usage("unknown option '\(a)'") }
                guard store == nil else { return usage("one store at a time") }
                store = a
            }
            i += 1
        }
        guard let store else { return usage("name the STORE to export") }
        guard let out else { return usage("--out FILE is required") }
        let f = format ?? (out.hasSuffix(".ndjson") || out.hasSuffix(".jsonl") || out.hasSuffix(".json") ? .ndjson : .csv)
        do {
            let s = try Store(path: store, create: false)
            let n = try s.export(to: out, format: f)
            print("\(out): \(n.grouped) events exported from \(store)")
            return 0
        } catch {
            printError("\(error)")
            return 1
        }
    }

    static func usage(_ message: String) -> Int32 { commandUsage("export", message) }
}
