import Foundation
import JourneyCore

extension Store {
    /// Every customer's journey for the engine: chunk columns copied end to end, stage/channel/kind filled from
    /// the touchpoint catalog where the row had none, events merged as cross-source duplicates left out.
    /// Where each chunk lands is known from the chunk rows, so two threads (two connections) copy halves at once.
    public func loadSequences(devicesAndSources: Bool = false) throws -> PackedSequences {
        try consistently { try loadSequences(devicesAndSources: devicesAndSources, threads: nil) }
    }

    /// The journeys and the catalog that names their codes, read from one committed state of the store (an
    /// import committing meanwhile in another process is either wholly in or wholly out).
    /// `generation` names that state (`loadProperty(_:at:)` reads a property of the same one).
    public func loadJourneys(devicesAndSources: Bool = false) throws -> (sequences: PackedSequences, catalog: Catalog, generation: Int64) {
        try consistently { (try loadSequences(devicesAndSources: devicesAndSources, threads: nil), try catalog(), try db.generation()) }
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
    func loadSequences(devicesAndSources: Bool, threads: Int?) throws -> PackedSequences {
        try db.readTransaction { try loadSequencesInSnapshot(devicesAndSources: devicesAndSources, threads: threads) }
    }

    private func loadSequencesInSnapshot(devicesAndSources: Bool, threads: Int?) throws -> PackedSequences {
        struct Slot { var chunk: Int64; var customers: Int; var kept: Int; var merged: Bool; var eventStart = 0; var customerStart = 0 }
        let generation = try db.generation()
        var slots: [Slot] = []
        let meta = try db.prepare("SELECT chunk, customers, events, merged FROM chunks ORDER BY chunk")
        while try meta.step() {
            slots.append(Slot(chunk: meta.int(0), customers: Int(meta.int(1)), kept: Int(meta.int(2) - meta.int(3)), merged: meta.int(3) > 0))
        }
        var events = 0, customers = 0
        for i in slots.indices {
            slots[i].eventStart = events; slots[i].customerStart = customers
            events += slots[i].kept; customers += slots[i].customers
        }
        let fill = try touchpointFill()
        afterChunkList?()
        // Columns are created without initializing (every element is written below before anything reads it), so
        // their pages are first touched by the copying threads.
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
        seq.times = column(events); seq.events = column(events); seq.channels = column(events); seq.stages = column(events)
        seq.kinds = column(events); seq.campaigns = column(events)
        if devicesAndSources { seq.devices = column(events); seq.sources = column(events) }
        seq.customerIDs = column(customers); seq.offsets = column(customers + 1)
        seq.offsets[0] = 0
        // Two halves by events, one thread each.
        let parts = slots.count >= 2 ? (threads ?? (events > 200_000 ? 2 : 1)) : 1
        let split = parts == 1 ? slots.count : (slots.firstIndex { $0.eventStart >= events / 2 } ?? slots.count)
        var errors = [Error?](repeating: nil, count: parts)
        // Values are few (conversions): each thread lists where they are, and they are stored sparsely after.
        var found = [(positions: [Int], values: [Double])](repeating: ([], []), count: parts)
        // Only the columns asked for: each one selected makes SQLite read the overflow pages up to its end.
        let selected = ["ids", "offsets", "times", "codes", "channels", "stages", "kinds", "campaigns", "vals", "mflags"]
            + (devicesAndSources ? ["devices", "sources"] : [])
        let sql = "SELECT \(selected.joined(separator: ", ")), \(sumsColumn) FROM chunks WHERE chunk = ?"
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
                            if try st.step() {
                                try ChunkChecksums.check(st, selected, first: 0, sumsColumn: Int32(selected.count))
                                try Self.copy(st, slot.customers, slot.kept, slot.eventStart, slot.customerStart, slot.merged, devicesAndSources, fill, c, &positions, &values)
                            } else {
                                throw StoreError("\(path): chunk \(slot.chunk) is missing (the store file is damaged)")
                            }
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

    /// Pointers to every column, for the copying threads.
    struct ColumnPointers {
        let ids: UnsafeMutablePointer<Int64>, offsets: UnsafeMutablePointer<Int32>, times: UnsafeMutablePointer<Int64>
        let events: UnsafeMutablePointer<UInt32>, channels: UnsafeMutablePointer<UInt16>, stages: UnsafeMutablePointer<UInt8>
        let kinds: UnsafeMutablePointer<UInt8>, campaigns: UnsafeMutablePointer<UInt32>
        let devices: UnsafeMutablePointer<UInt16>?, sources: UnsafeMutablePointer<UInt16>?
    }

    private func withColumns(_ s: inout PackedSequences, _ body: (ColumnPointers) -> Void) {
        let hasExtra = !s.devices.isEmpty
        // Empty columns have no storage: a dummy aligned base, never written through (their counts are zero).
        func base<T>(_ b: UnsafeMutableBufferPointer<T>) -> UnsafeMutablePointer<T> {
            b.baseAddress ?? UnsafeMutablePointer<T>(bitPattern: MemoryLayout<T>.alignment)!
        }
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
            body(ColumnPointers(ids: base(ids), offsets: base(offs), times: base(t), events: base(e), channels: base(ch),
                                stages: base(st), kinds: base(k), campaigns: base(cp),
                                devices: hasExtra ? dv.baseAddress : nil, sources: hasExtra ? sr.baseAddress : nil))
        } } } } } } } } } }
    }

    /// Copies one chunk row (columns in `loadSequences`' SELECT order) to its place, leaving merged events out.
    /// Every size is checked against the chunk list before anything is written, so a damaged chunk row is an
    /// error, never a write past the columns.
    private static func copy(_ st: Statement, _ customers: Int, _ kept: Int, _ eventStart: Int, _ customerStart: Int, _ merged: Bool, _ extra: Bool,
                             _ fill: [(stage: UInt8, channel: UInt16, kind: UInt8)?], _ c: ColumnPointers,
                             _ positions: inout [Int], _ values: inout [Double]) throws {
        func blob<T>(_ col: Int32, _ type: T.Type) -> UnsafeBufferPointer<T> {
            let b = st.blob(col)
            return UnsafeBufferPointer(start: b.baseAddress?.assumingMemoryBound(to: T.self), count: b.count / MemoryLayout<T>.stride)
        }
        let ids = blob(0, Int64.self), offs = blob(1, Int32.self)
        let damaged = StoreError("a chunk of the store does not match its description (the store file is damaged)")
        guard ids.count == customers, offs.count == customers + 1, offs.first ?? 0 == 0 else { throw damaged }
        for k in 0..<customers where offs[k + 1] < offs[k] { throw damaged }
        let n = Int(offs[customers])
        var columns: [Int] = [blob(2, Int64.self).count, blob(3, UInt32.self).count, blob(4, UInt16.self).count, blob(5, UInt8.self).count,
                              blob(6, UInt8.self).count, blob(7, UInt32.self).count, blob(8, Double.self).count]
        if extra { columns += [blob(10, UInt16.self).count, blob(11, UInt16.self).count] }
        if merged { columns.append(blob(9, UInt8.self).count) }
        guard columns.allSatisfy({ $0 == n }) else { throw damaged }
        if merged {
            let flags = blob(9, UInt8.self)
            guard flags.reduce(0, { $0 + ($1 == 0 ? 1 : 0) }) == kept else { throw damaged }
        } else if n != kept { throw damaged }
        if let base = ids.baseAddress { (c.ids + customerStart).update(from: base, count: ids.count) }
        var w = eventStart
        if !merged {
            func bulk<T>(_ col: Int32, _ dst: UnsafeMutablePointer<T>) {
                let src = blob(col, T.self)
                if let base = src.baseAddress { (dst + eventStart).update(from: base, count: src.count) }
            }
            bulk(2, c.times); bulk(3, c.events); bulk(4, c.channels); bulk(5, c.stages); bulk(6, c.kinds)
            bulk(7, c.campaigns)
            let vals = blob(8, Double.self)
            for i in 0..<vals.count where !vals[i].isNaN { positions.append(eventStart + i); values.append(vals[i]) }
            if extra, let dv = c.devices, let sr = c.sources { bulk(10, dv); bulk(11, sr) }
            for k in 0..<ids.count { c.offsets[customerStart + k + 1] = Int32(eventStart) + offs[k + 1] }
            w = eventStart + n
        } else {
            let flags = blob(9, UInt8.self)
            let times = blob(2, Int64.self), codes = blob(3, UInt32.self), chans = blob(4, UInt16.self), stages = blob(5, UInt8.self)
            let kinds = blob(6, UInt8.self), camps = blob(7, UInt32.self), vals = blob(8, Double.self)
            let devs = blob(10, UInt16.self), srcs = blob(11, UInt16.self)
            var k = 0
            for i in 0..<n {
                while Int(offs[k + 1]) <= i { c.offsets[customerStart + k + 1] = Int32(w); k += 1 }
                if flags[i] != 0 { continue }
                c.times[w] = times[i]; c.events[w] = codes[i]; c.channels[w] = chans[i]; c.stages[w] = stages[i]
                c.kinds[w] = kinds[i]; c.campaigns[w] = camps[i]
                if !vals[i].isNaN { positions.append(w); values.append(vals[i]) }
                if extra, let dv = c.devices, let sr = c.sources { dv[w] = devs[i]; sr[w] = srcs[i] }
                w += 1
            }
            while k < ids.count { c.offsets[customerStart + k + 1] = Int32(w); k += 1 }
        }
        // Touchpoint catalog: fill stage, channel and kind the rows left empty.
        if !fill.isEmpty {
            for i in eventStart..<w {
                let e = Int(c.events[i])
                guard e < fill.count, let f = fill[e] else { continue }
                if c.stages[i] == 0 { c.stages[i] = f.stage }
                if c.channels[i] == 0 { c.channels[i] = f.channel }
                if c.kinds[i] == 0 { c.kinds[i] = f.kind }
            }
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
        let st = try db.prepare("SELECT mflags, prop_offsets, props, \(sumsColumn) FROM chunks ORDER BY chunk")
        while try st.step() {
            try ChunkChecksums.check(st, ["mflags", "prop_offsets", "props"], first: 0, sumsColumn: 3)
            let flags = st.blob(0), offs = st.blob(1), bytes = st.blob(2)
            let n = flags.count
            // Sizes checked before any offset is followed.
            guard n == 0 || offs.count == (n + 1) * 4 else { throw ChunkChecksums.damaged }
            for i in 0..<n {
                let a = offs.loadUnaligned(fromByteOffset: i * 4, as: Int32.self), b = offs.loadUnaligned(fromByteOffset: (i + 1) * 4, as: Int32.self)
                guard a >= 0, b >= a, Int(b) <= bytes.count else { throw ChunkChecksums.damaged }
            }
            for i in 0..<n where flags[i] == 0 {
                let a = Int(offs.load(fromByteOffset: i * 4, as: Int32.self)), b = Int(offs.load(fromByteOffset: (i + 1) * 4, as: Int32.self))
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
        return (values, codes)
    }
}
