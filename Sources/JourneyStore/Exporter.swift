import Foundation
import JourneyCore

public enum ExportFormat: String, Sendable { case csv, ndjson }

extension Store {
    /// Writes every stored event back out (`journey export`), so the data is never locked in journey's format:
    /// one row per stored event, cross-source duplicates included (an import flags them again), in customer and
    /// time order; names, not codes; the stage, kind, online and value a row carried (empty where the touchpoint
    /// catalog fills them); free properties as columns of their own. Importing the file into a new store and
    /// exporting that gives the same file. Read from one committed state; written whole or not at all.
    /// Returns the number of events written.
    public func export(to path: String, format: ExportFormat) throws -> Int {
        try consistently { try exportInSnapshot(path, format) }
    }

    private func exportInSnapshot(_ path: String, _ format: ExportFormat) throws -> Int {
        // Names by code, from the catalog every statement uses.
        let cat = try catalog()
        let eventNames = cat.events, channelNames = cat.channels, campaignNames = cat.campaigns
        let deviceNames = cat.devices, sourceNames = cat.sources, stages = cat.stages
        func name(_ list: [String], _ code: Int) -> String { code > 0 && code < list.count ? list[code] : "" }
        var keys: [Int64: (customer: String, account: String)] = [:]
        let c = try db.prepare("SELECT c.id, c.key, coalesce(a.key, '') FROM customers c LEFT JOIN accounts a ON a.id = c.account")
        while try c.step() { keys[c.int(0)] = (c.text(1) ?? "", c.text(2) ?? "") }
        let properties = cat.properties.filter { !["stage", "kind", "online", "value"].contains($0) }.sorted()
        let columns = ["customer_id", "timestamp", "event", "channel", "stage", "kind", "campaign", "device", "source", "online",
                       "value", "account_id"] + properties
        let out = try AtomicFileWriter(path: path)
        func csvField(_ s: String) -> String {
            s.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        // ISO 8601 in UTC, milliseconds only where the event has them; digits written by hand (String(format:)
        // was a third of the export's time).
        var days = -1, dayText: [UInt8] = []
        func timestamp(_ ms: Int64) -> String {
            let day = Int(ms >= 0 ? ms / UTC.msPerDay : (ms - UTC.msPerDay + 1) / UTC.msPerDay)
            if day != days { days = day; dayText = Array(UTC.format(ms: Int64(day) * UTC.msPerDay, dateOnly: true).utf8) }
            let rem = Int(ms - Int64(day) * UTC.msPerDay)
            var b = dayText
            func two(_ v: Int) { b.append(UInt8(48 + v / 10)); b.append(UInt8(48 + v % 10)) }
            b.append(84); two(rem / 3_600_000); b.append(58); two(rem / 60_000 % 60); b.append(58); two(rem / 1000 % 60)
            if rem % 1000 != 0 { b.append(46); b.append(UInt8(48 + rem % 1000 / 100)); two(rem % 100) }
            b.append(90)
            return String(decoding: b, as: UTF8.self)
        }
        if format == .csv { try out.append(columns.map(csvField).joined(separator: ",") + "\n") }
        var written = 0
        try forEachChunk { chunk in
            if isCancelled() { throw QueryCancelled() }
            let e = chunk.columns
            for (k, id) in chunk.ids.enumerated() {
                let key = keys[id] ?? ("", "")
                for i in Int(chunk.offsets[k])..<Int(chunk.offsets[k + 1]) {
                    var props: [String: String] = [:]
                    if e.propOffsets[i + 1] > e.propOffsets[i], let p = e.props(i), let obj = try? JSONSerialization.jsonObject(with: Data(p.utf8)) as? [String: Any] {
                        for (pk, pv) in obj { props[pk] = pv as? String ?? "\(pv)" }
                    }
                    let stage = e.stages[i] > 0 && Int(e.stages[i]) <= stages.count ? stages[Int(e.stages[i]) - 1] : props["stage"] ?? ""
                    let kind = e.kinds[i] > 0 && Int(e.kinds[i]) < Catalog.kinds.count ? Catalog.kinds[Int(e.kinds[i])] : props["kind"] ?? ""
                    let online = e.onlines[i] == 1 ? "online" : e.onlines[i] == 0 ? "offline" : props["online"] ?? ""
                    let value = e.values[i].isNaN ? props["value"] ?? "" : "\(e.values[i])"
                    let ts = timestamp(e.times[i])
                    let fields = [key.customer, ts, name(eventNames, Int(e.events[i])), name(channelNames, Int(e.channels[i])), stage, kind,
                                  name(campaignNames, Int(e.campaigns[i])), name(deviceNames, Int(e.devices[i])), name(sourceNames, Int(e.sources[i])),
                                  online, value, key.account] + properties.map { props[$0] ?? "" }
                    if format == .csv {
                        try out.append(fields.map(csvField).joined(separator: ",") + "\n")
                    } else {
                        try out.append("{" + zip(columns, fields).filter { !$0.1.isEmpty }.map { jsonQuoted($0.0) + ":" + jsonQuoted($0.1) }.joined(separator: ",") + "}\n")
                    }
                    written += 1
                }
            }
        }
        try out.commit()
        return written
    }
}
