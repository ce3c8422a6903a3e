import JourneyTestSupport
import Foundation
import Testing
@testable import JourneyStore
import JourneyCore
import JourneyGenerator

/// Later imports go into chunk tails (`ChunkTails`); a store built with tails answers exactly as one whose
/// chunks are rewritten whole by every import.
@Suite(.serialized) struct ChunkTailsTests {
    func build(_ dir: String, _ files: [String], foldShare: Int) throws -> Store {
        let saved = ChunkWriter.foldShare
        ChunkWriter.foldShare = foldShare
        defer { ChunkWriter.foldShare = saved }
        let s = try Store(path: dir + "/s\(foldShare).journey")
        for f in files { _ = try s.importFile(f) }
        return s
    }

    @Test func tailsAnswerAsWholeChunksDo() throws {
        let d = tempDir()
        // The same people again and again (seeds differ, customer keys repeat): later files land on stored
        // customers, with duplicates, cross-source copies, stitching and free properties (the generator's dirt).
        var files: [String] = []
        for seed in [4, 5, 6] {
            _ = try Generator(profile: .b2c, customers: 900, seed: UInt64(seed)).write(to: d + "/f\(seed).csv")
            files.append(d + "/f\(seed).csv")
        }
        files.append(files[1])   // a file again: nothing new
        let tails = try build(d, files, foldShare: 0), whole = try build(d, files, foldShare: 1_000_000)
        #expect(try tails.db.scalarInt("SELECT count(*) FROM tails") > 0)
        #expect(try whole.db.scalarInt("SELECT count(*) FROM tails") == 0)

        let all = Set(PackedColumn.allCases)
        let a = try tails.loadSequences(columns: all), b = try whole.loadSequences(columns: all)
        #expect(a.eventCount == b.eventCount && a.times == b.times && a.events == b.events && a.channels == b.channels
                && a.stages == b.stages && a.kinds == b.kinds && a.campaigns == b.campaigns && a.devices == b.devices
                && a.sources == b.sources && a.offsets == b.offsets && a.customerIDs == b.customerIDs
                && Array(a.values).elementsEqual(Array(b.values)) { $0.isNaN ? $1.isNaN : $0 == $1 })
        for threads in [1, 2] {
            let t = try tails.loadSequences(columns: all, threads: threads)
            #expect(t.times == a.times && t.offsets == a.offsets && t.campaigns == a.campaigns)
        }
        for name in try whole.catalog().properties {
            #expect(try tails.loadProperty(name).codes == whole.loadProperty(name).codes, "property \(name)")
        }
        let (st, sw) = (try tails.summary(), try whole.summary())
        #expect(st.customers == sw.customers && st.events == sw.events && st.first == sw.first && st.last == sw.last)
        _ = try tails.export(to: d + "/t.csv", format: .csv)
        _ = try whole.export(to: d + "/w.csv", format: .csv)
        #expect(try String(contentsOfFile: d + "/t.csv", encoding: .utf8) == String(contentsOfFile: d + "/w.csv", encoding: .utf8))
        #expect(try tails.quality().rows.map { $0.map { "\($0)" } } == whole.quality().rows.map { $0.map { "\($0)" } })

        // Folding: with the usual share, the next import folds tails that grew past a quarter of their chunk.
        _ = try Generator(profile: .b2c, customers: 900, seed: 7).write(to: d + "/f7.csv")
        _ = try tails.importFile(d + "/f7.csv")
        _ = try whole.importFile(d + "/f7.csv")
        let overgrown = try tails.db.scalarInt("SELECT count(*) FROM chunks c WHERE (SELECT coalesce(sum(stored), 0) FROM tails t WHERE t.chunk = c.chunk) * 4 > c.events")
        #expect(overgrown == 0, "no chunk keeps tails of more than a quarter of its events")
        _ = try tails.export(to: d + "/t2.csv", format: .csv)
        _ = try whole.export(to: d + "/w2.csv", format: .csv)
        #expect(try String(contentsOfFile: d + "/t2.csv", encoding: .utf8) == String(contentsOfFile: d + "/w2.csv", encoding: .utf8))
    }

    /// A tail holds the touched customers' whole lists; a chunk's tails are folded into it when they would pass a
    /// quarter of its events.
    @Test func tailsFoldAtAQuarterOfTheChunk() throws {
        let d = tempDir()
        func file(_ name: String, customers: Range<Int>, events: Int, day: Int) -> String {
            var lines = ["customer_id,timestamp,event,channel"]
            for c in customers { for k in 0..<events { lines.append("c\(c),2024-03-\(String(format: "%02d", day))T10:\(String(format: "%02d", k)):00Z,visit,website") } }
            try? (lines.joined(separator: "\n") + "\n").write(toFile: d + "/" + name, atomically: true, encoding: .utf8)
            return d + "/" + name
        }
        let s = try Store(path: d + "/s.journey")
        _ = try s.importFile(file("base.csv", customers: 0..<400, events: 10, day: 1))   // 4,000 events in one chunk
        var counts: [Int] = []
        for k in 2...6 {
            // 20 customers, one event each: a tail of 20 whole lists of 11 events = 220 events.
            let r = try s.importFile(file("f\(k).csv", customers: (k * 20)..<(k * 20 + 20), events: 1, day: k))
            #expect(r.stored == 20)
            counts.append(Int(try s.db.scalarInt("SELECT count(*) FROM tails")))
        }
        #expect(counts == [1, 2, 3, 4, 0], "tails after each import: \(counts) (the fifth would make 1,100 > 4,000 / 4)")
        #expect(try s.summary().events == 4_100)
    }
}

/// Keys looked up one by one in the store (a small file into a large store) give the same store as keys read
/// whole at the start: customers, accounts, identities, stitching and the events.
@Suite(.serialized) struct KeyLookupTests {
    @Test func lookingKeysUpGivesTheSameStore() throws {
        let d = tempDir()
        // Dirty files over the same people: known customers and accounts, anonymous ids identified later, new ones.
        var files: [String] = []
        for (seed, profile) in [(4, Generator.Profile.b2b), (5, .b2c), (6, .b2b), (7, .b2c)] {
            _ = try Generator(profile: profile, customers: 700, seed: UInt64(seed)).write(to: d + "/f\(seed).csv")
            files.append(d + "/f\(seed).csv")
        }
        func build(_ name: String, lookUp: Bool) throws -> Store {
            let s = try Store(path: d + "/" + name)
            _ = try s.importFile(files[0])
            EventImporter.lookUpKeys = lookUp
            defer { EventImporter.lookUpKeys = nil }
            for f in files.dropFirst() { _ = try s.importFile(f) }
            return s
        }
        let looked = try build("looked.journey", lookUp: true), read = try build("read.journey", lookUp: false)
        for table in ["customers", "accounts", "identities"] {
            let sql = "SELECT * FROM \(table) ORDER BY 1"
            func rows(_ s: Store) throws -> [String] {
                let st = try s.db.prepare(sql)
                var out: [String] = []
                while try st.step() { out.append((0..<12).map { st.text(Int32($0)) ?? "" }.joined(separator: "|")) }
                return out
            }
            #expect(try rows(looked) == rows(read), "\(table) differs")
        }
        #expect(try looked.db.scalarInt("SELECT count(*) FROM identities") > 0, "the files stitch identities")
        #expect(try looked.db.scalarInt("SELECT count(*) FROM customers WHERE account IS NOT NULL") > 0, "the files name accounts")
        _ = try looked.export(to: d + "/l.csv", format: .csv)
        _ = try read.export(to: d + "/r.csv", format: .csv)
        #expect(try String(contentsOfFile: d + "/l.csv", encoding: .utf8) == String(contentsOfFile: d + "/r.csv", encoding: .utf8))
    }
}
