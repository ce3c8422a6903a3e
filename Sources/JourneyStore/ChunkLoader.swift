import Foundation
import JourneyCore

extension Store {
    /// Every customer's journey for the engine: chunk columns decoded end to end, stage/channel/kind filled from
    /// the touchpoint catalog where the row had none, events merged as cross-source duplicates left out.
    /// Where each chunk lands is known from the chunk rows, so two threads (two connections) decode halves at once.
    /// `columns`: the optional columns to load (time, event, stage and value always are); the others stay empty,
    /// and SQLite does not even read them.
    public func loadSequences(columns: Set<PackedColumn> = PackedColumn.usual) throws -> PackedSequences {
        try consistently { try loadSequences(columns: columns, threads: nil) }
    }

    /// The journeys and the catalog that names their codes, read from one committed state of the store (an
    /// import committing meanwhile in another process is either wholly in or wholly out).
    /// `generation` names that state (`loadProperty(_:at:)` reads a property of the same one).
    public func loadJourneys(columns: Set<PackedColumn> = PackedColumn.usual) throws -> (sequences: PackedSequences, catalog: Catalog, generation: Int64) {
        try consistently { (try loadSequences(columns: columns, threads: nil), try catalog(), try db.generation()) }
    }

    /// The store has changed since the journeys in memory were loaded: load them again.
    public struct StoreChanged: Error {}

    /// Runs `body` in a read transaction; when the loader's other connections saw a later state (a commit landed
    /// between their starts, a window of a millisecond or so), it reads again.
    func consistently<T>(_ body: () throws -> T) throws -> T {
        if db.inTransaction { return try body() }
        for _ in 0..<100 {
            do { return try db.readTransaction(body) } catch is SnapshotMoved { continue }
        }
        throw StoreError("\(path): the store kept changing while it was read (another process is writing to it); try again")
    }

    struct SnapshotMoved: Error {}

    /// `threads`: nil picks by size (tests force 1 or 2 to compare both paths).
    func loadSequences(columns: Set<PackedColumn>, threads: Int?) throws -> PackedSequences {
        try db.readTransaction { try loadSequencesInSnapshot(columns: columns, threads: threads) }
    }

    private func loadSequencesInSnapshot(columns wanted: Set<PackedColumn>, threads: Int?) throws -> PackedSequences {
        struct Slot { var chunk: Int64; var customers: Int; var kept: Int; var merged: Bool; var tails: Bool; var eventStart = 0; var customerStart = 0 }
        let generation = try db.generation(), format = try chunkFormat()
        var slots = try ChunkTails.chunkList(db).map {
            Slot(chunk: $0.chunk, customers: $0.customers, kept: $0.events - $0.merged, merged: $0.merged > 0, tails: $0.tails > 0)
        }
        var events = 0, customers = 0
        for i in slots.indices {
            slots[i].eventStart = events; slots[i].customerStart = customers
            events += slots[i].kept; customers += slots[i].customers
        }
        let fill = try touchpointFill()
        afterChunkList?()
        // Columns are created without initializing (every element is written below before anything reads it), so
        // their pages are first touched by the decoding threads.
        // Fresh columns are backed by huge pages where the kernel allows (THP `madvise` mode): the copy then takes
        // one fault per 2 MiB instead of one per 4 KiB page, which was a third of a cold start.
        func column<T>(_ n: Int) -> [T] {
            [T](unsafeUninitializedCapacity: n) { buf, count in
                if let base = buf.baseAddress, n * MemoryLayout<T>.stride >= 4 << 20 {
                    let start = (Int(bitPattern: base) + (2 << 20) - 1) & ~((2 << 20) - 1)
                    let end = (Int(bitPattern: base) + n * MemoryLayout<T>.stride) & ~((2 << 20) - 1)
                    if end > start, let p = UnsafeMutableRawPointer(bitPattern: start) { _ = madvise(p, end - start, MADV_HUGEPAGE) }
                }
                count = n
            }
        }
        var seq = PackedSequences()
        seq.loaded = wanted
        seq.times = column(events); seq.events = column(events); seq.stages = column(events)
        if wanted.contains(.channel) { seq.channels = column(events) }
        if wanted.contains(.kind) { seq.kinds = column(events) }
        if wanted.contains(.campaign) { seq.campaigns = column(events) }
        if wanted.contains(.device) { seq.devices = column(events) }
        if wanted.contains(.source) { seq.sources = column(events) }
        seq.customerIDs = column(customers); seq.offsets = column(customers + 1)
        seq.offsets[0] = 0
        // Two halves by events, one thread each.
        let parts = slots.count >= 2 ? (threads ?? (events > 200_000 ? 2 : 1)) : 1
        let split = parts == 1 ? slots.count : (slots.firstIndex { $0.eventStart >= events / 2 } ?? slots.count)
        var errors = [Error?](repeating: nil, count: parts)
        // Values are few (conversions): each thread lists where they are, and they are stored sparsely after.
        var found = [(positions: [Int], values: [Double])](repeating: ([], []), count: parts)
        // Only the columns asked for: SQLite reads a row's overflow pages only up to the last column selected.
        let selected = LoadedColumns(wanted)
        let sql = "SELECT \(selected.names.joined(separator: ", ")), \(sumsColumn) FROM chunks WHERE chunk = ?"
        let path = self.path, immutable = self.immutable, cancelled = self.isCancelled
        withColumns(&seq) { c in
            errors.withUnsafeMutableBufferPointer { errOut in
            found.withUnsafeMutableBufferPointer { foundOut in
                DispatchQueue.concurrentPerform(iterations: parts) { p in
                    var positions: [Int] = [], values: [Double] = []
                    defer { foundOut[p] = (positions, values) }
                    do {
                        // A connection of its own per thread with SQLite's small default cache, closed when the load
                        // ends: the chunks pass through it into the columns, so resident memory is the columns (not
                        // the columns plus a mapped store file, which doubled the peak).
                        let conn = try Database(path: path, readOnly: true, immutable: immutable)
                        // This connection's own read transaction must see the state the chunk list came from.
                        try conn.execute("BEGIN")
                        defer { try? conn.execute("COMMIT") }
                        guard try conn.generation() == generation else { throw SnapshotMoved() }
                        let st = try conn.prepare(sql)
                        for slot in slots[(p == 0 ? 0 : split)..<(p == 0 ? split : slots.count)] {
                            if cancelled() { throw QueryCancelled() }
                            st.bindInt(slot.chunk, at: 1)
                            guard try st.step() else { throw StoreError("\(path): chunk \(slot.chunk) is missing (the store file is damaged)") }
                            try ChunkChecksums.check(st, selected.names, first: 0, sumsColumn: Int32(selected.names.count))
                            let row = ChunkRow(st: st, columns: selected, format: format, customers: slot.customers, kept: slot.kept,
                                               eventStart: slot.eventStart, customerStart: slot.customerStart, merged: slot.merged)
                            if slot.tails {
                                // The chunk's own columns (those selected), with its tails' lists laid over them.
                                try row.place(into: c, overlay: ChunkTails.overlay(conn, chunk: slot.chunk, format: format), &positions, &values)
                            } else {
                                try row.place(into: c, &positions, &values)
                            }
                            Self.fill(c, slot.eventStart, slot.eventStart + slot.kept, fill)
                            st.reset()
                        }
                    } catch { errOut[p] = error }
                }
            }
            }
        }
        let thrown = errors.compactMap { $0 }
        if let e = thrown.first(where: { $0 is QueryCancelled }) ?? thrown.first(where: { $0 is SnapshotMoved }) ?? thrown.first { throw e }
        // Part 0 holds the lower chunks: concatenated in part order, positions increase.
        seq.values = SparseDoubles(count: events, positions: found.flatMap(\.positions), values: found.flatMap(\.values))
        return seq
    }

    /// Pointers to every column, for the decoding threads (nil: not loaded).
    struct ColumnPointers {
        let ids: UnsafeMutablePointer<Int64>, offsets: UnsafeMutablePointer<Int32>, times: UnsafeMutablePointer<Int64>
        let events: UnsafeMutablePointer<UInt32>, stages: UnsafeMutablePointer<UInt8>
        let channels: UnsafeMutablePointer<UInt16>?, kinds: UnsafeMutablePointer<UInt8>?, campaigns: UnsafeMutablePointer<UInt32>?
        let devices: UnsafeMutablePointer<UInt16>?, sources: UnsafeMutablePointer<UInt16>?
    }

    private func withColumns(_ s: inout PackedSequences, _ body: (ColumnPointers) -> Void) {
        // Empty columns have no storage: a dummy aligned base, never written through (their counts are zero).
        func base<T>(_ b: UnsafeMutableBufferPointer<T>) -> UnsafeMutablePointer<T> {
            b.baseAddress ?? UnsafeMutablePointer<T>(bitPattern: MemoryLayout<T>.alignment)!
        }
        let loaded = s.loaded
        func optional<T>(_ b: UnsafeMutableBufferPointer<T>, _ c: PackedColumn) -> UnsafeMutablePointer<T>? { loaded.contains(c) ? base(b) : nil }
        s.customerIDs.withUnsafeMutableBufferPointer { ids in
        s.offsets.withUnsafeMutableBufferPointer { offs in
        s.times.withUnsafeMutableBufferPointer { t in
        s.events.withUnsafeMutableBufferPointer { e in
        s.channels.withUnsafeMutableBufferPointer { ch in
        s.stages.withUnsafeMutableBufferPointer { st in
        s.kinds.withUnsafeMutableBufferPointer { k in
        s.campaigns.withUnsafeMutableBufferPointer { cp in
        s.devices.withUnsafeMutableBufferPointer { dv in
        s.sources.withUnsafeMutableBufferPointer { sr in
            body(ColumnPointers(ids: base(ids), offsets: base(offs), times: base(t), events: base(e), stages: base(st),
                                channels: optional(ch, .channel), kinds: optional(k, .kind), campaigns: optional(cp, .campaign),
                                devices: optional(dv, .device), sources: optional(sr, .source)))
        } } } } } } } } } }
    }

    /// Touchpoint catalog: fills stage, channel and kind the rows left empty, for events `from..<to` (flat
    /// tables by event code, so the loop over every event has no optional to unwrap).
    private static func fill(_ c: ColumnPointers, _ from: Int, _ to: Int, _ fill: TouchpointFill) {
        let n = fill.stage.count
        guard n > 0 else { return }
        fill.stage.withUnsafeBufferPointer { fs in
        fill.channel.withUnsafeBufferPointer { fc in
        fill.kind.withUnsafeBufferPointer { fk in
            for i in from..<to {
                let e = Int(c.events[i])
                guard e < n else { continue }
                if c.stages[i] == 0 { c.stages[i] = fs[e] }
                if let ch = c.channels, ch[i] == 0 { ch[i] = fc[e] }
                if let k = c.kinds, k[i] == 0 { k[i] = fk[e] }
            }
        } } }
    }
}

/// What the touchpoint catalog gives each event code (0: nothing), for events whose rows left it empty.
struct TouchpointFill {
    var stage: [UInt8] = [], channel: [UInt16] = [], kind: [UInt8] = []
}

/// The chunk columns a load selects, in its SELECT's order.
struct LoadedColumns {
    let names: [String]
    init(_ wanted: Set<PackedColumn>) {
        var n = ["ids", "offsets", "times", "codes", "stages", "vals", "mflags"]
        for (c, name) in [(PackedColumn.channel, "channels"), (.kind, "kinds"), (.campaign, "campaigns"), (.device, "devices"), (.source, "sources")]
        where wanted.contains(c) { n.append(name) }
        names = n
    }
    func index(_ name: String) -> Int32 { Int32(names.firstIndex(of: name) ?? 0) }
}

/// One selected chunk row on its way into the loaded columns.
struct ChunkRow {
    let st: Statement, columns: LoadedColumns, format: Int
    let customers: Int, kept: Int, eventStart: Int, customerStart: Int, merged: Bool

    /// Decodes the row into its place, leaving merged events out. Every count is checked against the chunk list
    /// before anything is written, so a damaged chunk row is an error, never a write past the columns.
    func place(into c: Store.ColumnPointers, _ positions: inout [Int], _ values: inout [Double]) throws {
        let damaged = StoreError("a chunk of the store does not match its description (the store file is damaged)")
        let offs: [Int32] = try column("offsets")
        guard offs.count == customers + 1, offs[0] == 0 else { throw damaged }
        for k in 0..<customers where offs[k + 1] < offs[k] { throw damaged }
        let n = Int(offs[customers])
        guard merged ? n >= kept : n == kept else { throw damaged }
        // Which events stay (nil: all of them), and how many stay before each.
        var keptBefore: [Int]? = nil
        if merged {
            let flags: [UInt8] = try column("mflags")
            guard flags.count == n else { throw damaged }
            var before = [Int](repeating: 0, count: n + 1)
            for i in 0..<n { before[i + 1] = before[i] + (flags[i] == 0 ? 1 : 0) }
            guard before[n] == kept else { throw damaged }
            keptBefore = before
        }
        try decode("ids", into: c.ids + customerStart, count: customers)
        func events<T: FixedWidthInteger>(_ name: String, _ dst: UnsafeMutablePointer<T>?) throws {
            guard let dst else { return }
            guard let keptBefore else { return try decode(name, into: dst + eventStart, count: n) }
            let all: [T] = try column(name)
            guard all.count == n else { throw damaged }
            for i in 0..<n where keptBefore[i + 1] > keptBefore[i] { dst[eventStart + keptBefore[i]] = all[i] }
        }
        try events("times", c.times); try events("codes", c.events); try events("stages", c.stages)
        try events("channels", c.channels); try events("kinds", c.kinds); try events("campaigns", c.campaigns)
        try events("devices", c.devices); try events("sources", c.sources)
        let at = eventStart
        try forEachValue(count: n) { i, v in
            if let keptBefore {
                if keptBefore[i + 1] > keptBefore[i] { positions.append(at + keptBefore[i]); values.append(v) }
            } else { positions.append(at + i); values.append(v) }
        }
        for k in 0..<customers { c.offsets[customerStart + k + 1] = Int32(at + (keptBefore?[Int(offs[k + 1])] ?? Int(offs[k + 1]))) }
    }

    /// Places the row's customers with `overlay`'s lists in place of theirs (the chunk's tails, latest list per
    /// customer; an empty list takes the customer out). Every write is checked against the chunk list's counts.
    func place(into c: Store.ColumnPointers, overlay: ChunkData, _ positions: inout [Int], _ values: inout [Double]) throws {
        let damaged = StoreError("a chunk of the store does not match its description (the store file is damaged)")
        let ids: [Int64] = try column("ids"), offs: [Int32] = try column("offsets")
        guard offs.count == ids.count + 1, offs[0] == 0, zip(offs, offs.dropFirst()).allSatisfy({ $0 <= $1 }) else { throw damaged }
        let n = Int(offs[ids.count])
        let flags: [UInt8] = try column("mflags"), times: [Int64] = try column("times"), codes: [UInt32] = try column("codes")
        let stages: [UInt8] = try column("stages")
        let channels: [UInt16]? = c.channels == nil ? nil : try column("channels"), kinds: [UInt8]? = c.kinds == nil ? nil : try column("kinds")
        let campaigns: [UInt32]? = c.campaigns == nil ? nil : try column("campaigns")
        let devices: [UInt16]? = c.devices == nil ? nil : try column("devices"), sources: [UInt16]? = c.sources == nil ? nil : try column("sources")
        var vals = [Double](repeating: .nan, count: n)
        try forEachValue(count: n) { vals[$0] = $1 }
        for count in [flags.count, times.count, codes.count, stages.count, channels?.count ?? n, kinds?.count ?? n,
                      campaigns?.count ?? n, devices?.count ?? n, sources?.count ?? n] where count != n { throw damaged }
        var k = customerStart, w = eventStart
        let customerEnd = customerStart + customers, eventEnd = eventStart + kept
        let o = overlay.columns
        var a = 0, b = 0
        while a < ids.count || b < overlay.ids.count {
            let ida = a < ids.count ? ids[a] : Int64.max, idb = b < overlay.ids.count ? overlay.ids[b] : Int64.max
            if idb <= ida {
                if ida == idb { a += 1 }
                let range = Int(overlay.offsets[b])..<Int(overlay.offsets[b + 1])
                b += 1
                guard !range.isEmpty else { continue }
                guard k < customerEnd else { throw damaged }
                c.ids[k] = idb
                for i in range where o.merged[i] == 0 {
                    guard w < eventEnd else { throw damaged }
                    c.times[w] = o.times[i]; c.events[w] = o.events[i]; c.stages[w] = o.stages[i]
                    c.channels?[w] = o.channels[i]; c.kinds?[w] = o.kinds[i]; c.campaigns?[w] = o.campaigns[i]
                    c.devices?[w] = o.devices[i]; c.sources?[w] = o.sources[i]
                    if !o.values[i].isNaN { positions.append(w); values.append(o.values[i]) }
                    w += 1
                }
            } else {
                guard k < customerEnd else { throw damaged }
                c.ids[k] = ida
                for i in Int(offs[a])..<Int(offs[a + 1]) where flags[i] == 0 {
                    guard w < eventEnd else { throw damaged }
                    c.times[w] = times[i]; c.events[w] = codes[i]; c.stages[w] = stages[i]
                    if let x = channels { c.channels?[w] = x[i] }
                    if let x = kinds { c.kinds?[w] = x[i] }
                    if let x = campaigns { c.campaigns?[w] = x[i] }
                    if let x = devices { c.devices?[w] = x[i] }
                    if let x = sources { c.sources?[w] = x[i] }
                    if !vals[i].isNaN { positions.append(w); values.append(vals[i]) }
                    w += 1
                }
                a += 1
            }
            c.offsets[k + 1] = Int32(w)
            k += 1
        }
        guard k == customerEnd, w == eventEnd else { throw damaged }
    }

    private func blob(_ name: String) -> UnsafeRawBufferPointer { st.blob(columns.index(name)) }

    /// A whole column (format 1: the raw array; format 2: decoded).
    private func column<T: FixedWidthInteger>(_ name: String) throws -> [T] {
        if format >= 2 { return try ColumnCodec.decode(blob(name)) }
        let b = blob(name)
        return [T](unsafeUninitializedCapacity: b.count / MemoryLayout<T>.size) { buf, count in
            count = buf.count
            if count > 0, let base = b.baseAddress { UnsafeMutableRawPointer(buf.baseAddress!).copyMemory(from: base, byteCount: count * MemoryLayout<T>.size) }
        }
    }

    /// Exactly `count` values of a column into `dst`, or an error.
    private func decode<T: FixedWidthInteger>(_ name: String, into dst: UnsafeMutablePointer<T>, count: Int) throws {
        if format >= 2 { return try ColumnCodec.decode(blob(name), into: dst, count: count) }
        let b = blob(name)
        guard b.count == count * MemoryLayout<T>.size else { throw ColumnCodec.damaged }
        if count > 0, let base = b.baseAddress { UnsafeMutableRawPointer(dst).copyMemory(from: base, byteCount: b.count) }
    }

    /// Each event of the `n` with a value, in order.
    private func forEachValue(count n: Int, _ body: (Int, Double) -> Void) throws {
        let b = blob("vals")
        if format >= 2 { return try ColumnCodec.forEachValue(b, count: n, body) }
        guard b.count == n * 8 else { throw ColumnCodec.damaged }
        for i in 0..<n {
            let x = b.loadUnaligned(fromByteOffset: i * 8, as: Double.self)
            if !x.isNaN { body(i, x) }
        }
    }
}

extension Store {
    /// One free property as a dictionary-encoded column aligned with `loadSequences` (merged events left out).
    /// `generation`: the state the journeys in memory came from; another state throws `StoreChanged` (its
    /// events would not line up with theirs).
    public func loadProperty(_ name: String, at generation: Int64? = nil) throws -> (values: [String], codes: [UInt32]) {
        try consistently {
            if let generation, try db.generation() != generation { throw StoreChanged() }
            return try loadPropertyInSnapshot(name)
        }
    }

    private func loadPropertyInSnapshot(_ name: String) throws -> (values: [String], codes: [UInt32]) {
        var values = [""], index: [String: UInt32] = [:], codes: [UInt32] = []
        let needle = Array(jsonQuoted(name).utf8)
        try forEachChunk { d in
            let e = d.columns
            e.propBytes.withUnsafeBytes { bytes in
                for i in 0..<e.count where e.merged[i] == 0 {
                    let a = Int(e.propOffsets[i]), b = Int(e.propOffsets[i + 1])
                    var code: UInt32 = 0
                    if b > a {
                        let text = UnsafeRawBufferPointer(rebasing: bytes[a..<b])
                        // Parse only objects that mention the key.
                        if text.count >= needle.count, text.firstRange(of: needle) != nil,
                           let obj = try? JSONSerialization.jsonObject(with: Data(text)) as? [String: Any], let v = obj[name] {
                            let s = v as? String ?? "\(v)"
                            if let c = index[s] { code = c } else { code = UInt32(values.count); index[s] = code; values.append(s) }
                        }
                    }
                    codes.append(code)
                }
            }
        }
        return (values, codes)
    }
}
