import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

/// Account level, defined once (docs/semantics.md, "Accounts"): an account's journey is all its people's events
/// merged in time order (events at one time: the people in the store's order, each person's in import order);
/// people without an account are an account of their own. Every statement run at account level runs unchanged
/// over these merged journeys, so a funnel, a path or an attribution credit of an account is computed from what
/// the whole buying group did, never from one person standing in for it.
extension PackedSequences {
    /// One sequence per group of customer indices, the members' events merged by (time, index). A merged
    /// sequence keeps its first member's customer id (so account attributes, read through that person, are the
    /// account's).
    public func merged(_ groups: [[Int]]) -> PackedSequences {
        var out = PackedSequences()
        out.reserve(events: eventCount, customers: groups.count)
        out.loaded = loaded
        let withChannels = !channels.isEmpty, withKinds = !kinds.isEmpty, withCampaigns = !campaigns.isEmpty
        let withDevices = !devices.isEmpty, withSources = !sources.isEmpty
        var positions: [Int] = [], values: [Double] = []
        var propertyCodes = properties.mapValues { _ in [UInt32]() }
        var order: [Int] = []
        for g in groups {
            order.removeAll(keepingCapacity: true)
            for c in g { order.append(contentsOf: Int(offsets[c])..<Int(offsets[c + 1])) }
            if g.count > 1 { order.sort { times[$0] != times[$1] ? times[$0] < times[$1] : $0 < $1 } }
            for i in order {
                let v = self.values[i]
                if !v.isNaN { positions.append(out.times.count); values.append(v) }
                out.times.append(times[i]); out.events.append(events[i]); out.stages.append(stages[i])
                if withChannels { out.channels.append(channels[i]) }
                if withKinds { out.kinds.append(kinds[i]) }
                if withCampaigns { out.campaigns.append(campaigns[i]) }
                if withDevices { out.devices.append(devices[i]) }
                if withSources { out.sources.append(sources[i]) }
                for (name, p) in properties { propertyCodes[name]!.append(p.codes[i]) }
            }
            out.customerIDs.append(customerIDs[g[0]])
            out.offsets.append(Int32(out.times.count))
        }
        out.values = SparseDoubles(count: out.times.count, positions: positions, values: values)
        for (name, p) in properties { out.properties[name] = (p.values, propertyCodes[name]!) }
        return out
    }
}

extension Executor {
    /// The same store at account level: one journey per account (people without one alone), events merged.
    public func accountLevel() throws -> Executor {
        // Merging every account's people costs ~1.5 s on 12M events; the merged journeys (as large again as the
        // people's) are kept with the data, so only the session's first account-level statement pays it.
        if let kept = data.accountLevel.get() {
            var ex = Executor(data: kept)
            ex.isCancelled = isCancelled
            return ex
        }
        let accounts = try data.attributes.accounts(for: seq.customerIDs)
        var groupOf: [Int64: Int] = [:], groups: [[Int]] = []
        for c in 0..<seq.customerCount {
            guard accounts[c] != 0 else { groups.append([c]); continue }
            if let g = groupOf[accounts[c]] { groups[g].append(c) } else { groupOf[accounts[c]] = groups.count; groups.append([c]) }
        }
        let merged = JourneyData(sequences: seq.merged(groups), catalog: catalog, attributes: data.attributes)
        data.accountLevel.set(merged)
        var ex = Executor(data: merged)
        ex.isCancelled = isCancelled
        return ex
    }

    /// Tables computed over account journeys, worded for accounts (see `ResultBuilder.asAccounts`).
    public static func asAccounts(_ tables: [ResultTable]) -> [ResultTable] { ResultBuilder.asAccounts(tables) }
}

/// The merged account journeys of one `JourneyData`, shared by its copies (a new load starts a new one).
final class AccountLevelCache: @unchecked Sendable {
    private var merged: JourneyData?
    private let lock = NSLock()
    func get() -> JourneyData? { lock.lock(); defer { lock.unlock() }; return merged }
    func set(_ d: JourneyData) { lock.lock(); merged = d; lock.unlock() }
}
