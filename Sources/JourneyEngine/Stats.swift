import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

extension Executor {
    // MARK: stats

    /// `stats [where …]`: customers, accounts, events; per customer and per account (people without one count
    /// alone) touches, distinct channels and days first to last touch; for converting accounts the same up to
    /// the account's first conversion-stage event. Accounts are numbered densely and kept in arrays, channels as
    /// bit sets, so a pass over the events does no hashing.
    public func stats(_ q: QueryPlan.Stats) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        let tables = StepTest.Tables()
        defer { withExtendedLifetime(tables) {} }
        let eventFilter = filter.events.map { StepTest($0, tables: tables) }
        let accounts = try data.attributes.accounts(for: seq.customerIDs)
        let conversion = catalog.stageCode("conversion").map(Int.init) ?? -1
        // Channel sets: `words` 64-bit words per customer or account.
        let channelCount = seq.withView { v in max(catalog.channels.count, (v.channels.max().map { Int($0) } ?? 0) + 1) }
        let words = (channelCount + 63) / 64
        // Dense account numbers for the customers who have one.
        var accountIndex = [Int32](repeating: -1, count: seq.customerCount)
        var accountCount = 0
        let largest = Int(accounts.max() ?? 0)
        if largest < 4 * seq.customerCount + 1024 {
            // Store ids dense enough to number through an array.
            var number = [Int32](repeating: -1, count: largest + 1)
            for c in 0..<seq.customerCount where accounts[c] > 0 {
                let id = Int(accounts[c])
                if number[id] < 0 { number[id] = Int32(accountCount); accountCount += 1 }
                accountIndex[c] = number[id]
            }
        } else {
            var number: [Int64: Int32] = [:]
            for c in 0..<seq.customerCount where accounts[c] != 0 {
                if let k = number[accounts[c]] { accountIndex[c] = k } else { let k = Int32(accountCount); number[accounts[c]] = k; accountIndex[c] = k; accountCount += 1 }
            }
        }
        var accTouches = [Int](repeating: 0, count: accountCount)
        var accFirst = [Int64](repeating: .max, count: accountCount), accLast = [Int64](repeating: .min, count: accountCount)
        var accConv = [Int64](repeating: .max, count: accountCount)
        var accChannels = [UInt64](repeating: 0, count: accountCount * words)
        var accSeen = [Bool](repeating: false, count: accountCount)
        var touches: [Double] = [], channels: [Double] = [], days: [Double] = []
        // Accounts of one person: their figures go straight to the per-account lists.
        var soloTouches: [Double] = [], soloChannels: [Double] = [], soloDays: [Double] = []
        var convTouches: [Double] = [], convChannels: [Double] = [], convDays: [Double] = []
        var events = 0, customers = 0
        var mask = [UInt64](repeating: 0, count: words)
        func popcount(_ m: ArraySlice<UInt64>) -> Int { m.reduce(0) { $0 + $1.nonzeroBitCount } }
        try seq.withView { v in
            // The counted events of customer c, in time order.
            func counted(_ c: Int, _ body: (Int) -> Void) {
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) where eventFilter?.matches(v, i) ?? true { body(i) }
            }
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = filter.journeys, !j[c] { continue }
                var n = 0, first = Int64.max, last = Int64.min, conv = Int64.max
                for w in 0..<words { mask[w] = 0 }
                counted(c) { i in
                    n += 1
                    let ch = Int(v.channels[i])
                    if ch != 0 { mask[ch >> 6] |= 1 << UInt64(ch & 63) }
                    let t = v.times[i]
                    first = min(first, t); last = max(last, t)
                    if Int(v.stages[i]) == conversion { conv = min(conv, t) }
                }
                guard n > 0 else { continue }
                customers += 1; events += n
                let customerChannels = popcount(mask[...])
                touches.append(Double(n)); channels.append(Double(customerChannels)); days.append(Double(last - first) / 86_400_000)
                let a = Int(accountIndex[c])
                if a < 0 {
                    soloTouches.append(Double(n)); soloChannels.append(Double(customerChannels)); soloDays.append(Double(last - first) / 86_400_000)
                    if conv != .max {
                        // The person's touches up to their first conversion, and their channels.
                        var k = 0
                        for w in 0..<words { mask[w] = 0 }
                        counted(c) { i in
                            guard v.times[i] <= conv else { return }
                            k += 1
                            let ch = Int(v.channels[i]); if ch != 0 { mask[ch >> 6] |= 1 << UInt64(ch & 63) }
                        }
                        convTouches.append(Double(k)); convChannels.append(Double(popcount(mask[...]))); convDays.append(Double(conv - first) / 86_400_000)
                    }
                    continue
                }
                accSeen[a] = true
                accTouches[a] += n
                accFirst[a] = min(accFirst[a], first); accLast[a] = max(accLast[a], last); accConv[a] = min(accConv[a], conv)
                for w in 0..<words { accChannels[a * words + w] |= mask[w] }
            }
            // Converting accounts: each person's touches up to the account's first conversion.
            var convCount = [Int](repeating: 0, count: accountCount)
            var convMask = [UInt64](repeating: 0, count: accountCount * words)
            for c in 0..<seq.customerCount {
                let a = Int(accountIndex[c])
                guard a >= 0, accConv[a] != .max else { continue }
                if let j = filter.journeys, !j[c] { continue }
                let limit = accConv[a]
                counted(c) { i in
                    guard v.times[i] <= limit else { return }
                    convCount[a] += 1
                    let ch = Int(v.channels[i]); if ch != 0 { convMask[a * words + (ch >> 6)] |= 1 << UInt64(ch & 63) }
                }
            }
            for a in 0..<accountCount where accSeen[a] && accConv[a] != .max {
                convTouches.append(Double(convCount[a]))
                convChannels.append(Double(popcount(convMask[(a * words)..<((a + 1) * words)])))
                convDays.append(Double(accConv[a] - accFirst[a]) / 86_400_000)
            }
        }
        let seen = (0..<accountCount).filter { accSeen[$0] }
        let accountTouches = seen.map { Double(accTouches[$0]) } + soloTouches
        let accountChannels = seen.map { Double(popcount(accChannels[($0 * words)..<(($0 + 1) * words)])) } + soloChannels
        let accountDays = seen.map { Double(accLast[$0] - accFirst[$0]) / 86_400_000 } + soloDays
        // Sorted here, one list at a time with a look at Ctrl-C between them (the builder sums in sorted order and
        // finds the sorted lists so).
        func sorted(_ xs: [Double]) throws -> [Double] { try checkCancel(0); return radixSorted(xs) }
        return ResultBuilder.stats(StatsAggregate(customers: customers, events: events, touches: try sorted(touches), channels: try sorted(channels),
                                                  days: try sorted(days), accountTouches: try sorted(accountTouches),
                                                  accountChannels: try sorted(accountChannels), accountDays: try sorted(accountDays),
                                                  convTouches: try sorted(convTouches), convChannels: try sorted(convChannels), convDays: try sorted(convDays)),
                                   filterNotes: filter.description)
    }
}
