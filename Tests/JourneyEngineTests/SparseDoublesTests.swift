import Testing
import JourneyCore

@Suite struct SparseDoublesTests {
    /// Appended one by one or built from positions, every read equals the dense column it stands for.
    @Test func readsEqualTheDenseColumn() {
        var rng = TestRandom(seed: 17)
        for _ in 0..<300 {
            let n = rng.next(300)
            let density = rng.next(4)   // 0: none, 3: about half
            let dense: [Double] = (0..<n).map { _ in rng.next(8) < density ? Double(rng.next(100_000)) / 100 - 10 : .nan }
            var appended = SparseDoubles()
            for x in dense { appended.append(x) }
            let positions = dense.indices.filter { !dense[$0].isNaN }
            let built = SparseDoubles(count: n, positions: positions, values: positions.map { dense[$0] })
            func same(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }
            #expect(appended.count == n && built.count == n)
            #expect(dense.indices.allSatisfy { same(appended[$0], dense[$0]) && same(built[$0], dense[$0]) })
            built.withView { v in #expect(dense.indices.allSatisfy { same(v[$0], dense[$0]) }) }
            #expect(built.stored.count == positions.count)
        }
    }
}
