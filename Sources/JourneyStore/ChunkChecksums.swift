/// Every stored chunk carries a checksum of each of its columns (`chunks.sums`: one UInt64 per column of
/// `ChunkData.columnList`, in that order). SQLite checks its own pages' structure, not the bytes of a BLOB: a
/// page of a chunk overwritten on disk would otherwise be read as events. Whoever reads a chunk column checks
/// it, so a damaged store gives an error, never an answer from garbage. Chunks written before the checksums
/// (stores from before 2026-12-03) have none and are checked again from their next rewrite.
enum ChunkChecksums {
    /// The column names in `sums` order.
    static let names = ChunkData.columnList.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }

    static func index(of column: String) -> Int { names.firstIndex(of: column)! }

    /// A 64-bit checksum of the bytes: four independent multiply-xor lanes over 8-byte words (a few GB/s, so a
    /// cold start pays little), then the tail and the length.
    static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var a: UInt64 = 0x243F_6A88_85A3_08D3, b: UInt64 = 0x1319_8A2E_0370_7344
        var c: UInt64 = 0xA409_3822_299F_31D0, d: UInt64 = 0x082E_FA98_EC4E_6C89
        let n = bytes.count
        var i = 0
        if let p = bytes.baseAddress {
            while i + 32 <= n {
                a = (a ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* k
                b = (b ^ p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)) &* k
                c = (c ^ p.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)) &* k
                d = (d ^ p.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)) &* k
                a = (a << 31) | (a >> 33); b = (b << 29) | (b >> 35); c = (c << 27) | (c >> 37); d = (d << 25) | (d >> 39)
                i += 32
            }
            while i < n { a = (a ^ UInt64(p.load(fromByteOffset: i, as: UInt8.self))) &* k; i += 1 }
        }
        var h = a ^ (b &* 3) ^ (c &* 5) ^ (d &* 7) ^ UInt64(n)
        h ^= h >> 33; h = h &* 0xFF51_AFD7_ED55_8CCD; h ^= h >> 33
        return h
    }

    /// `sums` for a chunk row about to be written: a checksum of each of its BLOBs as stored.
    static func sums(_ blobs: [[UInt8]]) -> [UInt64] { blobs.map { $0.withUnsafeBytes { of($0) } } }

    /// Checks the columns `selected` (their names, at result columns `first`…) of the current row against the
    /// row's `sums` (at result column `sumsColumn`); nothing to check when the chunk has no sums.
    static func check(_ st: Statement, _ selected: [String], first: Int32, sumsColumn: Int32) throws {
        let sums = st.blob(sumsColumn)
        guard sums.count == names.count * 8 else {
            if sums.count == 0 { return }
            throw damaged
        }
        for (i, name) in selected.enumerated() {
            let want = sums.loadUnaligned(fromByteOffset: index(of: name) * 8, as: UInt64.self)
            if of(st.blob(first + Int32(i))) != want { throw damaged }
        }
    }

    static let damaged = StoreError("a chunk of the store does not match its checksum (the store file is damaged; restore it from a copy)")
}
