import Foundation
import JourneyCore

/// Rebuilds the packed per-customer sequences of dirty chunks from the events table.
///
/// For each customer: events ordered by (time, import order); stage, channel and kind filled from the
/// touchpoint catalog where the row has none; the same touchpoint recorded by a second source within the
/// tolerance is flagged `merged` (kept in `events`, left out of the sequence); first contact updated.
struct SequencePacker {
    let store: Store
    var db: Database { store.db }

    struct Outcome { var chunks = 0; var newlyMerged = 0 }

    struct Row { var ts: Int64; var rowhash: Int64; var seq: Int64; var event: UInt32; var channel: UInt16
        var stage: UInt8; var kind: UInt8; var campaign: UInt32; var value: Double; var source: Int64; var merged: Bool }

    func packDirty() throws -> Outcome {
        var out = Outcome()
        let chunks: [Int64] = try {
            var list: [Int64] = []
            let st = try db.prepare("SELECT chunk FROM dirty_chunks ORDER BY chunk")
            while try st.step() { list.append(st.int(0)) }
            return list
        }()
        guard !chunks.isEmpty else { return out }
        // Touchpoint catalog, by event code.
        var fill: [UInt32: (stage: UInt8, channel: UInt16, kind: UInt8)] = [:]
        let tp = try db.prepare("""
            SELECT d.code, (SELECT ord + 1 FROM stages WHERE name = t.stage),
                   (SELECT code FROM dictionary WHERE domain = 'channel' AND name = t.channel),
                   CASE t.kind WHEN 'paid' THEN 1 WHEN 'owned' THEN 2 WHEN 'earned' THEN 3 ELSE 0 END, t.channel
            FROM touchpoints t JOIN dictionary d ON d.domain = 'event' AND d.name = t.event
            """)
        var missingChannels: [(UInt32, String)] = []
        while try tp.step() {
            let code = UInt32(tp.int(0))
            if tp.isNull(2), let ch = tp.text(4) { missingChannels.append((code, ch)) }
            fill[code] = (UInt8(tp.int(1)), UInt16(tp.int(2)), UInt8(tp.int(3)))
        }
        let tolerance = Int64(try store.meta("dedup_tolerance_ms") ?? "60000") ?? 60000
        try db.transaction {
            // Catalog channels never seen on a row still need a code.
            for (code, ch) in missingChannels {
                let next = try db.scalarInt("SELECT coalesce(max(code),0)+1 FROM dictionary WHERE domain='channel'")
                try db.execute("INSERT OR IGNORE INTO dictionary VALUES('channel', \(next), \(sqlQuote(ch)))")
                let c = try db.scalarInt("SELECT code FROM dictionary WHERE domain='channel' AND name=?", [.text(ch)])
                fill[code]?.channel = UInt16(c)
            }
            let read = try db.prepare("""
                SELECT customer, ts, rowhash, seq, event, channel, stage, kind, campaign, value, source, merged
                FROM events WHERE customer >= ? AND customer < ? ORDER BY customer, ts
                """)
            let setMerged = try db.prepare("UPDATE events SET merged=? WHERE customer=? AND ts=? AND rowhash=?")
            let firstContact = try db.prepare("UPDATE customers SET first_contact=?2 WHERE id=?1 AND (first_contact IS NULL OR first_contact > ?2)")
            let writeChunk = try db.prepare("INSERT OR REPLACE INTO chunks VALUES(?,?,?,?,?,?,?,?,?,?,?,?)")
            let deleteChunk = try db.prepare("DELETE FROM chunks WHERE chunk=?")
            let deletePostings = try db.prepare("DELETE FROM postings WHERE chunk=?")
            let writePosting = try db.prepare("INSERT INTO postings(domain, code, chunk, ids) VALUES(?,?,?,?)")
            for chunk in chunks {
                let lo = chunk * Store.chunkSize
                read.bindInt(lo, at: 1); read.bindInt(lo + Store.chunkSize, at: 2)
                var ids: [Int64] = [], offsets: [Int32] = [0], times: [Int64] = [], codes: [UInt32] = []
                var channels: [UInt16] = [], stages: [UInt8] = [], kinds: [UInt8] = [], campaigns: [UInt32] = [], vals: [Double] = []
                var postings: [String: [UInt32: [UInt16]]] = ["event": [:], "channel": [:], "stage": [:]]
                var current: Int64 = -1
                var rows: [Row] = []
                func flush() throws {
                    guard current >= 0, !rows.isEmpty else { return }
                    // Ties in time keep import order.
                    rows.sort { ($0.ts, $0.seq) < ($1.ts, $1.seq) }
                    // Cross-source duplicates: same event and channel, another source, within the tolerance of a kept one.
                    for i in rows.indices {
                        var dup = false
                        if rows[i].source != 0 {
                            var j = i - 1
                            while j >= 0 && rows[i].ts - rows[j].ts <= tolerance {
                                let r = rows[j]
                                if !r.merged && r.event == rows[i].event && r.channel == rows[i].channel && r.source != 0 && r.source != rows[i].source {
                                    dup = true; break
                                }
                                j -= 1
                            }
                        }
                        if dup != rows[i].merged {
                            if dup { out.newlyMerged += 1 }
                            rows[i].merged = dup
                            setMerged.bindInt(dup ? 1 : 0, at: 1); setMerged.bindInt(current, at: 2)
                            setMerged.bindInt(rows[i].ts, at: 3); setMerged.bindInt(rows[i].rowhash, at: 4)
                            try setMerged.run()
                        }
                    }
                    let kept = rows.filter { !$0.merged }
                    guard !kept.isEmpty else { rows.removeAll(keepingCapacity: true); return }
                    ids.append(current)
                    let local = UInt16(current - lo)
                    var seenEvent = Set<UInt32>(), seenChannel = Set<UInt32>(), seenStage = Set<UInt32>()
                    for r in kept {
                        let f = fill[r.event]
                        let ch = r.channel != 0 ? r.channel : (f?.channel ?? 0)
                        let st = r.stage != 0 ? r.stage : (f?.stage ?? 0)
                        let kd = r.kind != 0 ? r.kind : (f?.kind ?? 0)
                        times.append(r.ts); codes.append(r.event); channels.append(ch); stages.append(st)
                        kinds.append(kd); campaigns.append(r.campaign); vals.append(r.value)
                        if seenEvent.insert(r.event).inserted { postings["event"]![r.event, default: []].append(local) }
                        if ch != 0, seenChannel.insert(UInt32(ch)).inserted { postings["channel"]![UInt32(ch), default: []].append(local) }
                        if st != 0, seenStage.insert(UInt32(st)).inserted { postings["stage"]![UInt32(st), default: []].append(local) }
                    }
                    offsets.append(Int32(times.count))
                    firstContact.bindInt(current, at: 1); firstContact.bindInt(kept[0].ts, at: 2)
                    try firstContact.run()
                    rows.removeAll(keepingCapacity: true)
                }
                while try read.step() {
                    let c = read.int(0)
                    if c != current { try flush(); current = c }
                    rows.append(Row(ts: read.int(1), rowhash: read.int(2), seq: read.int(3), event: UInt32(read.int(4)),
                                    channel: UInt16(truncatingIfNeeded: read.int(5)), stage: UInt8(truncatingIfNeeded: read.int(6)),
                                    kind: UInt8(truncatingIfNeeded: read.int(7)), campaign: UInt32(truncatingIfNeeded: read.int(8)),
                                    value: read.isNull(9) ? .nan : read.double(9), source: read.int(10), merged: read.int(11) != 0))
                }
                try flush()
                read.reset()
                deletePostings.bindInt(chunk, at: 1); try deletePostings.run()
                if ids.isEmpty {
                    deleteChunk.bindInt(chunk, at: 1); try deleteChunk.run()
                } else {
                    writeChunk.bindInt(chunk, at: 1); writeChunk.bindInt(Int64(ids.count), at: 2); writeChunk.bindInt(Int64(times.count), at: 3)
                    bindArray(writeChunk, 4, ids); bindArray(writeChunk, 5, offsets); bindArray(writeChunk, 6, times)
                    bindArray(writeChunk, 7, codes); bindArray(writeChunk, 8, channels); bindArray(writeChunk, 9, stages)
                    bindArray(writeChunk, 10, kinds); bindArray(writeChunk, 11, campaigns); bindArray(writeChunk, 12, vals)
                    try writeChunk.run()
                    for (domain, byCode) in postings {
                        for (code, list) in byCode {
                            writePosting.bindText(domain, at: 1); writePosting.bindInt(Int64(code), at: 2); writePosting.bindInt(chunk, at: 3)
                            bindArray(writePosting, 4, list)
                            try writePosting.run()
                        }
                    }
                }
                out.chunks += 1
            }
            try db.execute("DELETE FROM dirty_chunks")
        }
        return out
    }

    private func bindArray<T>(_ st: Statement, _ index: Int32, _ a: [T]) {
        a.withUnsafeBytes { st.bindBytes($0, at: index) }
    }
}
