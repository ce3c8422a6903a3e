import Foundation
import JourneyCore
import JourneyGenerator
import JourneyLanguage
import JourneyPlanner
import JourneySession
import JourneyStore

/// libFuzzer's entry (built by `make fuzz`: `swift build --sanitize=fuzzer --product FuzzTarget`). What it feeds
/// the input to is `JOURNEY_FUZZ`: `language` (lexer, parser, planner on a real store's catalog), `run` (the
/// statement run on a small generated store) or `import` (the input as a CSV file imported into a store).
/// Any error a user can cause is fine; a crash, a sanitizer report or a hang is a finding.
enum Fuzz {
    static let mode = ProcessInfo.processInfo.environment["JOURNEY_FUZZ"] ?? "language"
    static let dir: String = {
        let d = NSTemporaryDirectory() + "journey-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    /// A small generated b2b store (200 people, with accounts, customers and a priced touchpoint catalog).
    static let session: Session = {
        var g = Generator(profile: .b2b, customers: 200, seed: 5)
        g.dirt = true
        let files = (try? g.write(to: dir + "/events.csv"))?.files ?? []
        guard let store = try? Store(path: dir + "/demo.journey") else { fatalError("cannot create the fuzz store in \(dir)") }
        for f in files.reversed() { _ = try? store.importFile(f) }
        return Session(store: store)
    }()

    static var importRuns = 0
    static var importStore: Store?

    static func one(_ bytes: UnsafeBufferPointer<UInt8>) {
        switch mode {
        case "import":
            // A fresh store every 500 inputs, so it stays small and each import meets a store that has data.
            if importRuns % 500 == 0 {
                try? FileManager.default.removeItem(atPath: dir + "/import.journey")
                importStore = try? Store(path: dir + "/import.journey")
            }
            importRuns += 1
            let file = dir + "/input.csv"
            _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
            _ = try? importStore?.importFile(file)
        case "run":
            let text = String(decoding: bytes, as: UTF8.self)
            guard text.utf8.count < 4_000 else { return }
            _ = try? session.run(text, record: false)
        default:
            let text = String(decoding: bytes, as: UTF8.self)
            guard let catalog = try? session.catalog() else { return }
            var parser = Parser(text, params: ["since": .date("2025-01-01"), "window": .duration("30d")])
            guard let statements = try? parser.parseScript() else { return }
            for st in statements { _ = try? Planner.plan(st, catalog: catalog) }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Fuzz.one(UnsafeBufferPointer(start: data, count: size))
    return 0
}
