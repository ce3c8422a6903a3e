import Testing
import JourneyCore
import JourneyLanguage
import JourneyPlanner
@testable import JourneyEngine

/// People 1…n; ids divisible by 5 have no account, the others belong to account (id − 1) / 3 + 1.
struct GroupedAccounts: AttributeSource {
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accounts(for ids: [Int64]) throws -> [Int64] { ids.map { $0 % 5 == 0 ? 0 : ($0 - 1) / 3 + 1 } }
}

/// Account level against a hand merge: each account's people's events put together and sorted by time (ties:
/// the people in id order, each in import order), then the person-level reference and engine run on that.
@Suite struct AccountLevelTests {
    typealias Event = (t: Int64, e: Int)

    func packed(_ journeys: [[Event]], ids: [Int64]) -> PackedSequences {
        var seq = PackedSequences()
        for (j, id) in zip(journeys, ids) {
            seq.customerIDs.append(id)
            for e in j {
                seq.times.append(e.t); seq.events.append(UInt32(e.e)); seq.channels.append(0); seq.stages.append(UInt8(e.e))
                seq.kinds.append(0); seq.campaigns.append(0); seq.values.append(.nan)
            }
            seq.offsets.append(Int32(seq.times.count))
        }
        return seq
    }

    @Test func funnelAndTimeEqualAHandMerge() throws {
        var rng = TestRandom(seed: 31)
        func next(_ n: Int) -> Int { rng.next(n) }
        for trial in 0..<150 {
            let people = 1 + next(40)
            var journeys: [[Event]] = []
            for _ in 0..<people {
                var t = Int64(next(5)) * 1000
                journeys.append((0..<next(7)).map { _ in t += Int64(next(3)) * 1000; return (t, 1 + next(4)) })
            }
            let ids = (1...people).map { Int64($0) }
            // By hand: group by account, concatenate in id order, stable sort by time.
            let accountOf = try GroupedAccounts().accounts(for: ids)
            var order: [Int64] = [], members: [Int64: [Int]] = [:]
            for (k, a) in accountOf.enumerated() {
                let key = a == 0 ? -ids[k] : a
                if members[key] == nil { order.append(key) }
                members[key, default: []].append(k)
            }
            let merged: [[Event]] = order.map { key in
                members[key]!.flatMap { journeys[$0] }.enumerated().sorted { $0.element.t != $1.element.t ? $0.element.t < $1.element.t : $0.offset < $1.offset }.map(\.element)
            }
            var cat = Catalog()
            cat.stages = ["s1", "s2", "s3", "s4"]; cat.events = ["", "a", "b", "c", "d"]
            let data = JourneyData(sequences: packed(journeys, ids: ids), catalog: cat, attributes: GroupedAccounts())
            let steps = (0..<(1 + next(3))).map { _ in 1 + next(4) }
            let within: Int64? = next(2) == 0 ? nil : Int64(1 + next(8)) * 1000
            let text = "funnel " + steps.map { "event:\(cat.events[$0])" }.joined(separator: " > ") + (within.map { " within \($0 / 1000)s" } ?? "") + " count accounts"
            let table = try Executor(data: data).run(try Parser.parse(text))[0]
            var want = [Int](repeating: 0, count: steps.count)
            for j in merged { for k in 0..<referenceLevel(events: j, steps: steps, within: within, best: false, order: "sequential").level { want[k] += 1 } }
            #expect(table.columns[1] == "accounts")
            #expect(table.rows.map { $0[1] } == want.map { .int($0) }, "trial \(trial): \(text)")

            // time at account level equals time over the hand-merged journeys, run as people.
            let handMerged = JourneyData(sequences: packed(merged, ids: order.map { members[$0]!.first.map { ids[$0] }! }), catalog: cat, attributes: GroupedAccounts())
            let time = try Parser.parse("time from event:a to event:c")
            let byAccount = try Executor(data: data).accountLevel().run(time)
            let byHand = try Executor(data: handMerged).run(time)
            #expect(byAccount == byHand, "trial \(trial)")
        }
    }

    /// The merged journeys keep every column of every event, each account's in time order.
    @Test func mergeKeepsEveryEvent() {
        var seq = packed([[(5000, 1), (9000, 2)], [(1000, 3), (5000, 4)], [(2000, 1)]], ids: [1, 2, 5])
        seq.channels = [1, 2, 3, 4, 5]; seq.values = SparseDoubles(count: 5, positions: [1, 3], values: [10, 20])
        seq.properties["plan"] = (["", "free", "pro"], [1, 0, 2, 2, 1])
        let m = seq.merged([[0, 1], [2]])
        #expect(m.customerIDs == [1, 5] && m.offsets == [0, 4, 5])
        #expect(m.times == [1000, 5000, 5000, 9000, 2000])
        #expect(m.events == [3, 1, 4, 2, 1] && m.channels == [3, 1, 4, 2, 5])
        #expect((0..<5).map { m.values[$0].isNaN ? -1 : m.values[$0] } == [-1, -1, 20, 10, -1])
        #expect(m.properties["plan"]?.codes == [2, 1, 2, 0, 1])
    }
}
