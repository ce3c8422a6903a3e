import Foundation
import JourneyStore
import JourneyGenerator

enum ImportCommand {
    static let help = """
    Usage: journey import FILE... --into STORE [--map COLUMN=FIELD ...] [--format csv|ndjson]
                          [--table events|customers|accounts|identities|touchpoints|stages] [--no-progress] [--no-wait]

    Imports events (CSV with a header row, or NDJSON) into STORE, creating it when missing. Also imports
    customer and account master data, identity mappings (anonymous_id,customer_id) and the touchpoint
    catalog (event,stage,channel,kind) and the stage catalog (a 'stage' column, one stage per row, in journey
    order); the kind of file is read from its header unless --table says it.

    Cleaning: exact duplicates and the same touchpoint recorded by two sources within 60 s are merged and
    counted; channel spellings are standardized; rows without a customer or with a bad timestamp go to the
    quarantine table with file, line and reason. Importing the same file twice adds nothing.

    One import at a time per store: a second one waits for the first to finish (--no-wait: fails at once).
    Readers never wait: a shell open on the store sees each committed batch whole or not at all.

    Exit status: 0 all rows stored or merged; 2 done, some rows quarantined; 1 an error stopped it.

    Examples:
      journey import events.csv --into shop.journey
      journey import export.csv --into shop.journey --map uid=customer_id --map occurred=timestamp
      journey import datasets/demo/*.csv --into demo.journey
    """

    static func run(_ args: [String]) -> Int32 {
        var files: [String] = []
        var store: String?
        var options = ImportOptions()
        options.progress = isatty(2) != 0
        var i = 0
        while i < args.count {
            let a = args[i]
            func value() -> String? { i += 1; return i < args.count ? args[i] : nil }
            switch a {
            case "--help", "-h": print(help); return 0
            case "--into": store = value()
            case "--map":
                guard let m = value(), let eq = m.firstIndex(of: "=") else { return usage("--map takes COLUMN=FIELD") }
                options.mappings[String(m[..<eq])] = String(m[m.index(after: eq)...])
            case "--format":
                guard let f = value().flatMap(ImportFormat.init(rawValue:)) else { return usage("--format takes csv or ndjson") }
                options.format = f
            case "--table":
                guard let t = value().flatMap(ImportTable.init(rawValue:)) else { return usage("--table takes events, customers, accounts, identities, touchpoints or stages") }
                options.table = t
            case "--no-progress": options.progress = false
            case "--no-wait": options.waitForOtherImports = false
            default:
                if a.hasPrefix("-") { return usage("unknown option '\(a)'") }
                files.append(a)
            }
            i += 1
        }
        guard let store else { return usage("--into STORE is required") }
        guard !files.isEmpty else { return usage("name at least one FILE to import") }
        if let b = ProcessInfo.processInfo.environment["JOURNEY_IMPORT_BATCH"], let n = Int(b), n > 0 { options.batchSize = n }
        // A store this command creates is removed again when the import fails: no empty store is left behind.
        let existed = FileManager.default.fileExists(atPath: store)
        let (status, importedAny) = importAll(files, into: store, options)
        if status == 1 && !existed && !importedAny {
            for suffix in ["", "-wal", "-shm", "-lock"] { try? FileManager.default.removeItem(atPath: store + suffix) }
        }
        return status
    }

    /// Imports the files in order; stops at the first that fails. Returns the exit status and whether any file
    /// was imported.
    static func importAll(_ files: [String], into store: String, _ options: ImportOptions) -> (Int32, Bool) {
        var importedAny = false
        do {
            let s = try Store(path: store)
            var status: Int32 = 0
            for f in files {
                do {
                    let r = try s.importFile(f, options: options)
                    importedAny = true
                    print(r.summary)
                    if r.quarantinedTotal > 0 { status = max(status, 2) }
                } catch {
                    printError("\(error)")
                    return (1, importedAny)
                }
            }
            return (status, importedAny)
        } catch {
            printError("\(error)")
            return (1, importedAny)
        }
    }

    static func usage(_ message: String) -> Int32 { commandUsage("import", message) }
}

enum GenerateCommand {
    static let help = """
    Usage: journey generate --profile b2b|b2c --customers N --seed S --out FILE.csv [--clean]

    Writes realistic, seeded customer journeys: non-linear stage progressions with loops, pauses and
    resumptions, online and offline touchpoints of paid/owned/earned kinds, conversions with values, repeat
    purchases and referrals, drop-offs at every stage, and some dirt to clean (duplicates from two sources,
    channel spellings, a few bad rows; --clean leaves it out). Beside FILE it writes customers, accounts (b2b)
    and touchpoints files. The same seed gives the same files.

    Examples:
      journey generate --profile b2b --customers 3000 --seed 7 --out datasets/demo/events.csv
      journey generate --profile b2c --customers 1000000 --seed 1 --out /data/big.csv --clean
    """

    static func run(_ args: [String]) -> Int32 {
        var profile = Generator.Profile.b2b
        var customers = 1000
        var seed: UInt64 = 1
        var out: String?
        var clean = false
        var i = 0
        while i < args.count {
            let a = args[i]
            func value() -> String? { i += 1; return i < args.count ? args[i] : nil }
            switch a {
            case "--help", "-h": print(help); return 0
            case "--profile":
                guard let p = value().flatMap(Generator.Profile.init(rawValue:)) else { return usage("--profile takes b2b or b2c") }
                profile = p
            case "--customers":
                guard let n = value().flatMap(Int.init), n > 0 else { return usage("--customers takes a positive number") }
                customers = n
            case "--seed":
                guard let s = value().flatMap(UInt64.init) else { return usage("--seed takes a non-negative number") }
                seed = s
            case "--out": out = value()
            case "--clean": clean = true
            default: return usage("unknown option '\(a)'")
            }
            i += 1
        }
        guard let out else { return usage("--out FILE.csv is required") }
        var g = Generator(profile: profile, customers: customers, seed: seed)
        g.dirt = !clean
        do {
            let s = try g.write(to: out)
            print("wrote \(s.events) events of \(s.customers) customers\(s.accounts > 0 ? " in \(s.accounts) accounts" : ""), \(s.conversions) conversions")
            for f in s.files { print("  \(f)") }
            return 0
        } catch {
            printError("journey generate: cannot write \(out): \(error.localizedDescription)")
            return 1
        }
    }

    static func usage(_ message: String) -> Int32 { commandUsage("generate", message) }
}

/// A command's usage error: what was wrong and where the help is; exit status 1.
func commandUsage(_ command: String, _ message: String) -> Int32 {
    printError("journey \(command): \(message)\nRun 'journey \(command) --help' for usage.")
    return 1
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
