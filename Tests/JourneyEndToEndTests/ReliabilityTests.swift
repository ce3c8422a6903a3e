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

    static func run(_ args: [String], env: [String: String] = [:], tool: String? = nil) throws -> Ended {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool ?? binaryPath())
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
        // A first run (it may upgrade the demo store, which passes crash points of its own), then the count.
        #expect(try Self.run(["notebook", nb]).status == 0)
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

    /// Every statement kind answers the same to the last digit in two processes (hash tables are seeded per
    /// process: a sum over one in its own order differed in the last bits of Markov and Shapley credits).
    @Test func answersAreTheSameInEveryProcess() throws {
        for st in ExplainTests.statements + ["attribution model all", "attribution model all count accounts", "touchpoints", "score", "profile"] {
            let a = try Self.run([BreakdownTests.store, "-c", st, "--mode", "csv"]), b = try Self.run([BreakdownTests.store, "-c", st, "--mode", "csv"])
            #expect(a.status == 0 && a.out == b.out, "\(st): two runs differ")
        }
    }

    static func sha(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Damaged, foreign, newer, read-only and full stores: a clear message, exit status 1 (never a crash), and
    /// the file as it was; and never an answer read from damaged bytes.
    @Test func damagedAndForeignStoresAreRefusedAndLeftAlone() throws {
        let d = tempDir()
        _ = try Self.run(["generate", "--profile", "b2c", "--customers", "3000", "--seed", "5", "--clean", "--out", d + "/e.csv"])
        let good = d + "/good.journey"
        #expect(try Self.run(["import", d + "/e.csv", "--into", good, "--no-progress"]).status == 0)
        let statements = "count events by channel; paths to conversion; attribution model all; retention from awareness"
        let reference = try Self.run([good, "-c", statements, "--mode", "csv"])
        #expect(reference.status == 0)
        let original = try Self.sha(good)
        let pageSize = 65536, pages = original.count / pageSize
        func damaged(_ name: String, _ change: (inout Data) -> Void) throws -> String {
            var bytes = original
            change(&bytes)
            let path = d + "/\(name).journey"
            try bytes.write(to: URL(fileURLWithPath: path))
            return path
        }
        func refused(_ path: String, _ args: [String], saying words: [String], _ what: String) throws {
            let before = try Self.sha(path)
            let r = try Self.run([path] + args)
            #expect(!r.killed && r.status == 1, "\(what): status \(r.status) \(r.err)")
            #expect(words.contains { r.err.contains($0) }, "\(what): \(r.err)")
            #expect(try Self.sha(path) == before, "\(what): the file changed")
        }
        // Truncated: at half, and inside the first page.
        for cut in [original.count / 2, 5000] {
            let path = try damaged("cut\(cut)") { $0 = $0.prefix(cut) }
            try refused(path, ["-c", "count events"], saying: ["the store file is damaged", "not a journey store"], "truncated at \(cut)")
        }
        // One page overwritten with noise, every page in turn: a damaged-store message or the undamaged answer.
        var rng = Seeded(s: 99)
        var caught = 0
        for page in 1..<pages {
            let path = try damaged("page\(page)") { bytes in
                for i in page * pageSize..<(page + 1) * pageSize { bytes[i] = UInt8(truncatingIfNeeded: rng.next(256)) }
            }
            let r = try Self.run([path, "-c", statements, "--mode", "csv"])
            #expect(!r.killed && (r.status == 0 || r.status == 1), "page \(page): status \(r.status) \(r.err.prefix(300))")
            if r.status == 0 {
                #expect(r.out == reference.out, "page \(page) damaged: an answer that differs from the undamaged store's")
            } else {
                caught += 1
                #expect(r.err.contains("damaged"), "page \(page): \(r.err)")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        print("store pages overwritten: \(pages - 1); refused as damaged: \(caught); the rest not read by these statements")
        #expect(caught > 0)
        // Not SQLite at all; an SQLite file that is not a store; a store from a newer journey.
        let noise = d + "/noise.journey"
        try Data((0..<100_000).map { _ in UInt8(truncatingIfNeeded: rng.next(256)) }).write(to: URL(fileURLWithPath: noise))
        try refused(noise, ["-c", "count events"], saying: ["not a journey store"], "noise")
        let newer = d + "/newer.journey"
        try FileManager.default.copyItem(atPath: good, toPath: newer)
        let bump = try Self.runTool("/usr/bin/sqlite3", [newer, "UPDATE meta SET value = '99' WHERE key = 'schema_version'"])
        #expect(bump == 0)
        try refused(newer, ["-c", "count events"], saying: ["written by a newer journey"], "newer schema")
        // Full: a small file system when one can be mounted here, else SQLite's page limit (the test hook).
        let full = d + "/full"
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        let mounted = try getuid() == 0 && (Self.runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=12m", "tmpfs", full])) == 0
        defer { if mounted { _ = try? Self.runTool("/bin/umount", [full]) } }
        let small = full + "/s.journey"
        #expect(try Self.run(["import", d + "/e.csv", "--into", small, "--no-progress"]).status == 0)
        _ = try Self.run(["generate", "--profile", "b2c", "--customers", "150000", "--seed", "6", "--clean", "--out", d + "/big.csv"])
        // One batch (the store holds whole batches: with several, a full disk keeps those before it).
        let oneBatch = ["JOURNEY_IMPORT_BATCH": "1000000"]
        let fill = try Self.run(["import", d + "/big.csv", "--into", small, "--no-progress"], env: mounted ? oneBatch : oneBatch.merging(["JOURNEY_TEST_MAX_PAGES": "60"]) { a, _ in a })
        #expect(!fill.killed && fill.status == 1 && fill.err.contains("the disk is full"), "\(mounted ? "tmpfs" : "page limit"): \(fill.err)")
        let rows = try String(contentsOfFile: d + "/e.csv", encoding: .utf8).split(separator: "\n").count - 1
        let bigRows = try String(contentsOfFile: d + "/big.csv", encoding: .utf8).split(separator: "\n").count - 1
        let kept = try Self.events(small)
        #expect(kept == rows || kept == rows + bigRows, "after the full disk: \(kept.map(String.init) ?? "no answer") events (whole files only: \(rows) or \(rows + bigRows))")
        // Room again (the store moved to a roomy disk): the import completes, nothing twice.
        let roomy = d + "/roomy.journey"
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: small + suffix) {
            try FileManager.default.copyItem(atPath: small + suffix, toPath: roomy + suffix)
        }
        #expect(try Self.run(["import", d + "/big.csv", "--into", roomy, "--no-progress"]).status == 0)
        #expect(try Self.events(roomy) == rows + bigRows)
    }

    /// A store the user may not write (as a non-root user: root ignores permission bits): queries answer, an
    /// import is refused with a message and the file stays as it was — also in a directory the user cannot
    /// write in (no WAL side files can be made there).
    @Test func readOnlyStoresAnswerAndRefuseWrites() throws {
        guard getuid() == 0 else { return }   // the non-root user is made with runuser, which needs root
        let d = tempDir()
        _ = try Self.run(["generate", "--profile", "b2c", "--customers", "500", "--seed", "5", "--clean", "--out", d + "/e.csv"])
        var url = URL(fileURLWithPath: d)
        while url.path != "/" { chmod(url.path, 0o755); url.deleteLastPathComponent() }
        chmod(d + "/e.csv", 0o644)
        for (name, dirMode) in [("closed", 0o755), ("open", 0o1777)] {
            let dir = d + "/" + name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let store = dir + "/s.journey"
            #expect(try Self.run(["import", d + "/e.csv", "--into", store, "--no-progress"]).status == 0)
            for f in (try FileManager.default.contentsOfDirectory(atPath: dir)) { chmod(dir + "/" + f, 0o644) }
            chmod(dir, mode_t(dirMode))
            let before = try Self.sha(store)
            let asNobody = ["-u", "nobody", "--", binaryPath()]
            let q = try Self.runTool("/usr/sbin/runuser", asNobody + [store, "-c", "count events"])
            #expect(q == 0, "\(name): a query as nobody failed")
            let w = try Self.runTool("/usr/sbin/runuser", asNobody + ["import", d + "/e.csv", "--into", store, "--no-progress"], expectInError: "the store is read-only")
            #expect(w == 1, "\(name): an import as nobody")
            #expect(try Self.sha(store) == before, "\(name): the file changed")
        }
    }

    /// Runs a tool; with `expectInError`, records an issue unless its standard error says it.
    @discardableResult
    static func runTool(_ tool: String, _ args: [String], expectInError: String? = nil) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice; p.standardError = err
        try p.run()
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if let expectInError { #expect(said.contains(expectInError), "\(tool) \(args): \(said)") }
        return p.terminationStatus
    }

    /// Piped into a reader that stops early (`| head`): journey ends quietly — no message, no crash report.
    /// Also when the parent ignores SIGPIPE (the child inherits that: its writes then fail with EPIPE instead).
    @Test(arguments: [false, true]) func aClosedPipeEndsQuietly(parentIgnoresSIGPIPE: Bool) throws {
        let p = Process()
        let statement = "customers matching any limit 100000; customers matching any limit 100000"
        if parentIgnoresSIGPIPE {
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", "trap '' PIPE; exec \"$0\" \"$@\"", binaryPath(), BreakdownTests.store, "-c", statement, "--mode", "csv"]
        } else {
            p.executableURL = URL(fileURLWithPath: binaryPath())
            p.arguments = [BreakdownTests.store, "-c", statement, "--mode", "csv"]
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = FileHandle.nullDevice
        try p.run()
        let head = out.fileHandleForReading.readData(ofLength: 100)
        try out.fileHandleForReading.close()
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(head.count == 100)
        let quiet = p.terminationReason == .uncaughtSignal ? p.terminationStatus == SIGPIPE : p.terminationStatus == 0
        #expect(quiet, "ended by \(p.terminationReason == .uncaughtSignal ? "signal" : "status") \(p.terminationStatus)")
        #expect(said.isEmpty, "\(said.prefix(500))")
    }

    /// The limits of docs/RELIABILITY.md that fit in a test, each under a 2 GB address-space cap (`ulimit -v`):
    /// a 100 KB statement, an error in it (shown as a window, not 100 KB), `(any*)*` nested 50 deep, a 64 MB line.
    @Test func limitsHoldInBoundedMemory() throws {
        let d = tempDir()
        func capped(_ args: [String]) throws -> Ended {
            try Self.run(["-c", "ulimit -v 2000000; exec \"$0\" \"$@\"", binaryPath()] + args, tool: "/bin/sh")
        }
        let values = (0..<12_000).map { "v\($0)" }.joined(separator: ",")
        try "count customers where channel in (linkedin,\(values))\n".write(toFile: d + "/big.jql", atomically: true, encoding: .utf8)
        let big = try capped([BreakdownTests.store, "-f", d + "/big.jql"])
        #expect(!big.killed && big.status == 1 && big.err.count < 2_000, "\(big.status) \(big.err.prefix(300))")   // v0 is no channel
        try "count customers where channel in (\(Array(repeating: "linkedin", count: 11_000).joined(separator: ",")))\n".write(toFile: d + "/ok.jql", atomically: true, encoding: .utf8)
        let ok = try capped([BreakdownTests.store, "-f", d + "/ok.jql"])
        #expect(!ok.killed && ok.status == 0 && ok.out.contains("customers"), "\(ok.status) \(ok.err.prefix(300))")
        var pattern = "any"
        for i in 0..<50 { pattern = i == 0 ? "(\(pattern)*)*" : "(\(pattern))*" }
        let deep = try capped([BreakdownTests.store, "-c", "customers matching \(pattern) limit 3"])
        #expect(!deep.killed && deep.status == 0, "\(deep.err.prefix(300))")
        var line = Data("customer_id,timestamp,event\nc1,2025-01-01T00:00:00Z,".utf8)
        line.append(Data(repeating: UInt8(ascii: "y"), count: 64 << 20))
        line.append(Data("\nc1,2025-01-02T00:00:00Z,ok\n".utf8))
        try line.write(to: URL(fileURLWithPath: d + "/long.csv"))
        let long = try capped(["import", d + "/long.csv", "--into", d + "/l.journey", "--no-progress"])
        #expect(!long.killed && long.status == 2 && long.out.contains("row too long"), "\(long.status) \(long.err.prefix(300))")
    }
}
