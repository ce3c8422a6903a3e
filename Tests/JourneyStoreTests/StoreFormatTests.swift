import JourneyTestSupport
import Foundation
import Testing
@testable import JourneyStore
import JourneyCore
import JourneyGenerator

/// Stores written before the compact chunks (schema version 1: raw arrays) are read as they are and upgraded by
/// their next import, with the same answers as a store that was compact from the start.
@Suite struct StoreFormatTests {
    /// Rewrites every chunk the way version 1 stored it (each column a raw array, checksums over those bytes),
    /// drops the tails table and marks the store version 1.
    static func makeVersion1(_ s: Store) throws {
        var ids: [Int64] = [], chunks: [ChunkData] = []
        let list = try s.db.prepare("SELECT chunk FROM chunks ORDER BY chunk")
        while try list.step() { ids.append(list.int(0)) }
        try s.forEachChunk { chunks.append($0) }
        #expect(ids.count == chunks.count && !chunks.isEmpty)
        try s.db.transaction {
            let st = try s.db.prepare("UPDATE chunks SET \(ChunkChecksums.names.map { "\($0) = ?" }.joined(separator: ", ")), sums = ? WHERE chunk = ?")
            for (id, d) in zip(ids, chunks) {
                func raw<T>(_ a: [T]) -> [UInt8] { a.withUnsafeBytes { Array($0) } }
                let c = d.columns
                let blobs = [raw(d.ids), raw(d.offsets), raw(c.times), [], raw(c.imports), raw(c.events), raw(c.channels), raw(c.stages),
                             raw(c.kinds), raw(c.campaigns), raw(c.devices), raw(c.sources), raw(c.onlines), raw(c.values), raw(c.merged),
                             raw(c.propOffsets), raw(c.propBytes)]
                for (k, b) in blobs.enumerated() { b.withUnsafeBytes { st.bindBytes($0, at: Int32(k + 1)) } }
                ChunkChecksums.sums(blobs).withUnsafeBytes { st.bindBytes($0, at: Int32(blobs.count + 1)) }
                st.bindInt(id, at: Int32(blobs.count + 2))
                try st.run()
            }
            try s.setMeta("schema_version", "1")
            try s.db.execute("DROP TABLE IF EXISTS tails")   // version 1 had none
        }
    }

    func exported(_ s: Store, _ path: String) throws -> String {
        _ = try s.export(to: path, format: .csv)
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test func aVersion1StoreAnswersAlikeAndIsUpgradedByItsNextImport() throws {
        let d = tempDir()
        // Dirty data: duplicates, the same touchpoint from two sources (merged events), free properties.
        _ = try Generator(profile: .b2c, customers: 700, seed: 4).write(to: d + "/a.csv")
        _ = try Generator(profile: .b2c, customers: 700, seed: 5).write(to: d + "/b.csv")
        let compact = try Store(path: d + "/compact.journey"), old = try Store(path: d + "/old.journey")
        for s in [compact, old] { _ = try s.importFile(d + "/a.csv") }
        try Self.makeVersion1(old)
        #expect(try old.chunkFormat() == 1 && !ChunkTails.exist(old.db))
        let rawSize = try old.db.scalarInt("SELECT sum(length(times) + length(codes) + length(vals)) FROM chunks")
        let compactSize = try compact.db.scalarInt("SELECT sum(length(times) + length(codes) + length(vals)) FROM chunks")
        #expect(compactSize * 2 < rawSize, "compact \(compactSize) bytes against raw \(rawSize)")

        // Read as it is: the same journeys, properties and export.
        let all = Set(PackedColumn.allCases)
        let a = try compact.loadSequences(columns: all), b = try old.loadSequences(columns: all)
        #expect(a.times == b.times && a.events == b.events && a.channels == b.channels && a.stages == b.stages
                && a.kinds == b.kinds && a.campaigns == b.campaigns && a.devices == b.devices && a.sources == b.sources
                && a.offsets == b.offsets && a.customerIDs == b.customerIDs && Array(a.values).elementsEqual(Array(b.values)) { $0.isNaN ? $1.isNaN : $0 == $1 })
        for name in try compact.catalog().properties {
            #expect(try compact.loadProperty(name).codes == old.loadProperty(name).codes, "property \(name)")
        }
        #expect(try exported(compact, d + "/c1.csv") == exported(old, d + "/o1.csv"))

        // The next import upgrades it, and finds the duplicates the first one stored (fields compared, not fingerprints).
        let again = try old.importFile(d + "/a.csv")
        #expect(try old.chunkFormat() == 2)
        #expect(again.stored == 0 && again.alreadyStored > 0)
        for s in [compact, old] { _ = try s.importFile(d + "/b.csv") }
        #expect(try exported(compact, d + "/c2.csv") == exported(old, d + "/o2.csv"))
    }
}
