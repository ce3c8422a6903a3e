import Foundation
import Testing
import JourneyTestSupport

/// Crash safety and concurrency with real processes (docs/RELIABILITY.md). Kill trials: `JOURNEY_CRASH_AT=K`
/// makes journey SIGKILL itself at its K-th crash point (each SQLite write step, each ClickHouse write, each step
/// of an atomic file write); K is drawn from a seeded generator over the points a whole run passes. After every
/// kill: the store opens, holds exactly the batches committed before it, and a rerun completes without a
/// duplicate. `JOURNEY_KILL_TRIALS` raises the number of trials (the figures in RELIABILITY.md come from 1,000).
@Suite(.serialized) struct ReliabilityTests {
    /// A process run to its end, with how it ended.
    struct Ended { var status: Int32; var killed: Bool; var out: String; var err: String }

    static func run(_ args: [String], env: [String: String] = [:]) throws -> Ended {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binaryPath())
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), r = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Ended(status: p.terminationStatus, killed: p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL,
                     out: String(decoding: o, as: UTF8.self), err: String(decoding: r, as: UTF8.self))
    }

    static var trials: Int { Int(ProcessInfo.processInfo.environment["JOURNEY_KILL_TRIALS"] ?? "") ?? 30 }

    /// A small seeded generator (SplitMix64) for the kill points.
    struct Seeded { var s: UInt64
        mutating func next(_ n: Int) -> Int {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }

    static func crashPoints(_ e: Ended) -> Int? {
        e.err.split(separator: "\n").last { $0.hasPrefix("crash points: ") }.flatMap { Int($0.dropFirst("crash points: ".count)) }
    }

    static func events(_ store: String) throws -> Int? {
        let r = try run([store, "-c", "count events", "--mode", "csv"])
        guard r.status == 0 else { Issue.record("the store does not open after a kill: \(r.err)"); return nil }
        return r.out.split(separator: "\n").dropFirst().first.flatMap { Int($0.split(separator: ",")[0]) }
    }

    /// Import killed at seeded points, into a new store and into one that already holds a file.
    @Test func importKilledAnywhereKeepsWholeBatchesAndResumes() throws {
        let d = tempDir()
        _ = try Self.run(["generate", "--profile", "b2c", "--customers", "1500", "--seed", "5", "--clean", "--out", d + "/a.csv"])
        _ = try Self.run(["generate", "--profile", "b2c", "--customers", "1500", "--seed", "6", "--clean", "--out", d + "/b.csv"])
        let rowsA = try String(contentsOfFile: d + "/a.csv", encoding: .utf8).split(separator: "\n").count - 1
        let rowsB = try String(contentsOfFile: d + "/b.csv", encoding: .utf8).split(separator: "\n").count - 1
        let batch = 500
        let env = ["JOURNEY_IMPORT_BATCH": String(batch)]
        // The base store for appends: a.csv imported whole.
        let base = d + "/base.journey"
        #expect(try Self.run(["import", d + "/a.csv", "--into", base, "--no-progress"], env: env).status == 0)
        func copyBase(to store: String) throws {
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: base + suffix) {
                try FileManager.default.copyItem(atPath: base + suffix, toPath: store + suffix)
            }
        }
        // The crash points a whole run passes, into a new store and appending.
        var points: [Int] = []
        for append in [false, true] {
            let store = d + "/count\(append).journey"
            if append { try copyBase(to: store) }
            let counted = try Self.run(["import", d + "/b.csv", "--into", store, "--no-progress"], env: env.merging(["JOURNEY_CRASH_AT": "count"]) { $1 })
            let n = try #require(Self.crashPoints(counted))
            #expect(n > 20 * (rowsB / batch), "crash points inside every batch (\(n))")
            points.append(n)
        }
        var rng = Seeded(s: 17)
        var killed = 0
        for trial in 0..<Self.trials {
            let append = trial % 2 == 1
            let store = d + "/t\(trial).journey"
            if append { try copyBase(to: store) }
            let before = append ? rowsA : 0
            let k = 1 + rng.next(points[append ? 1 : 0])
            let r = try Self.run(["import", d + "/b.csv", "--into", store, "--no-progress"], env: env.merging(["JOURNEY_CRASH_AT": String(k)]) { $1 })
            #expect(r.killed, "trial \(trial): the import was not killed at point \(k) of \(points[append ? 1 : 0]) (status \(r.status)): \(r.err)")
            if r.killed { killed += 1 }
            // Exactly the committed batches: a multiple of the batch after what was there (or nothing: a store
            // killed while it was being created may not exist, or be empty).
            if FileManager.default.fileExists(atPath: store) {
                if let n = try Self.events(store) {
                    #expect(n >= before && (n - before) % batch == 0 || n == before + rowsB, "trial \(trial), point \(k): \(n) events after the kill (\(before) before, batches of \(batch))")
                }
            }
            let again = try Self.run(["import", d + "/b.csv", "--into", store, "--no-progress"], env: env)
            #expect(again.status == 0, "trial \(trial), point \(k): the rerun failed: \(again.err)")
            #expect(try Self.events(store) == before + rowsB, "trial \(trial), point \(k): after the rerun")
            for suffix in ["", "-wal", "-shm", "-lock"] { try? FileManager.default.removeItem(atPath: store + suffix) }
        }
        #expect(killed == Self.trials)
    }

    /// A notebook killed while its outputs are written is the old file or the new one, never a mix.
    @Test func notebookKilledWhileWritingIsOldOrNew() throws {
        let d = tempDir()
        let text = "-- a notebook\ncount customers\n\ntop 3 channels\n"
        let nb = d + "/n.jql"
        try text.write(toFile: nb, atomically: true, encoding: .utf8)
        let counted = try Self.run(["notebook", nb], env: ["JOURNEY_CRASH_AT": "count"])
        #expect(counted.status == 0, "\(counted.err)")
        let finished = try String(contentsOfFile: nb, encoding: .utf8)
        #expect(finished != text && finished.contains("--|"))
        let points = try #require(Self.crashPoints(counted))
        #expect(points >= 2)
        for k in 1...points {
            try text.write(toFile: nb, atomically: true, encoding: .utf8)
            let r = try Self.run(["notebook", nb], env: ["JOURNEY_CRASH_AT": String(k)])
            #expect(r.killed, "point \(k)")
            let now = try String(contentsOfFile: nb, encoding: .utf8)
            #expect(now == text || now == finished, "point \(k) of \(points): the notebook is neither the old nor the new file")
        }
    }

    /// A reader while another process imports: every statement sees whole batches (a multiple of the batch),
    /// never an error ("database is locked" or a torn read).
    @Test func readersDuringAnImportSeeWholeBatches() throws {
        let d = tempDir()
        _ = try Self.run(["generate", "--profile", "b2c", "--customers", "12000", "--seed", "8", "--clean", "--out", d + "/e.csv"])
        let rows = try String(contentsOfFile: d + "/e.csv", encoding: .utf8).split(separator: "\n").count - 1
        let batch = 1000
        let store = d + "/s.journey"
        // The store exists before the import starts, so the reader always has something to open.
        try "customer_id,timestamp,event\n".write(toFile: d + "/empty.csv", atomically: true, encoding: .utf8)
        _ = try Self.run(["import", d + "/empty.csv", "--into", store, "--no-progress"])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binaryPath())
        p.arguments = ["import", d + "/e.csv", "--into", store, "--no-progress"]
        var env = ProcessInfo.processInfo.environment; env["JOURNEY_IMPORT_BATCH"] = String(batch)
        p.environment = env
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        try p.run()
        var reads = 0, distinct = Set<Int>()
        // Read for as long as the import runs (and once after).
        repeat {
            let r = try Self.run([store, "-c", "count events; count customers by channel", "--mode", "csv"])
            #expect(r.status == 0, "a read during the import failed: \(r.err)")
            if let n = r.out.split(separator: "\n").dropFirst().first.flatMap({ Int($0.split(separator: ",")[0]) }) {
                #expect(n % batch == 0 || n == rows, "a read saw \(n) events: not whole batches of \(batch)")
                distinct.insert(n)
            }
            reads += 1
        } while p.isRunning
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(try Self.events(store) == rows)
        #expect(reads >= 2)
        print("readers during the import: \(reads) reads, \(distinct.count) distinct states")
    }

    /// Two imports into one store at once: the second waits for the first (saying so), or with --no-wait fails
    /// at once with a message; either way every row is stored once.
    @Test func twoImportsAtOnceTakeTurns() throws {
        let d = tempDir()
        _ = try Self.run(["generate", "--profile", "b2c", "--customers", "8000", "--seed", "3", "--clean", "--out", d + "/a.csv"])
        _ = try Self.run(["generate", "--profile", "b2c", "--customers", "8000", "--seed", "4", "--clean", "--out", d + "/b.csv"])
        let rows = try ["a", "b"].map { try String(contentsOfFile: d + "/\($0).csv", encoding: .utf8).split(separator: "\n").count - 1 }
        let store = d + "/s.journey"
        try "customer_id,timestamp,event\n".write(toFile: d + "/empty.csv", atomically: true, encoding: .utf8)
        _ = try Self.run(["import", d + "/empty.csv", "--into", store, "--no-progress"])
        func start(_ file: String, _ extra: [String] = []) throws -> (Process, Pipe) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binaryPath())
            p.arguments = ["import", d + "/\(file).csv", "--into", store, "--no-progress"] + extra
            var env = ProcessInfo.processInfo.environment; env["JOURNEY_IMPORT_BATCH"] = "1000"
            p.environment = env
            let err = Pipe()
            p.standardOutput = FileHandle.nullDevice; p.standardError = err
            try p.run()
            return (p, err)
        }
        let (first, _) = try start("a")
        let (second, secondErr) = try start("b")
        let said = String(decoding: secondErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        first.waitUntilExit(); second.waitUntilExit()
        #expect(first.terminationStatus == 0 && second.terminationStatus == 0, "\(said)")
        #expect(try Self.events(store) == rows[0] + rows[1])
        // While one import holds the store, --no-wait fails at once and changes nothing.
        let (third, _) = try start("a")   // all rows already stored: it reads the file and adds nothing
        let refused = try Self.run(["import", d + "/b.csv", "--into", store, "--no-progress", "--no-wait"])
        third.waitUntilExit()
        if refused.status != 0 {
            #expect(refused.err.contains("another import into this store is running; nothing was changed"), "\(refused.err)")
        }
        #expect(try Self.events(store) == rows[0] + rows[1])
    }
}
