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

@Suite struct RadixSortTests {
    /// The radix sort gives exactly what `sorted()` gives: negatives, zeros, integers, fractions, huge values,
    /// many equal values (skipped passes), and lists short enough to go to `sorted()` itself.
    @Test func radixSortedEqualsSorted() {
        var rng = TestRandom(seed: 12)
        for round in 0..<40 {
            let n = [0, 1, 100, 3_000, 50_000][round % 5]
            let xs: [Double] = (0..<n).map { _ in
                switch rng.next(6) {
                case 0: return Double(rng.next(40))
                case 1: return -Double(rng.next(1_000_000)) / 7
                case 2: return 0
                case 3: return Double(rng.next(1 << 30)) * 1e12
                case 4: return Double(rng.next(1000)) / 1000
                default: return round % 2 == 0 ? 5 : Double(rng.next(10_000_000)) / 86_400
                }
            }
            #expect(radixSorted(xs) == xs.sorted(), "round \(round), \(n) values")
        }
    }
}

@Suite struct FirstKTests {
    /// The bounded heap gives what sorting everything and taking the first k gives, ties broken the same way.
    @Test func firstKEqualsSortedPrefix() {
        var rng = TestRandom(seed: 5)
        for round in 0..<60 {
            let n = [0, 3, 50, 1_000, 20_000][round % 5]
            let xs = (0..<n).map { (c: $0, v: rng.next(round % 2 == 0 ? 10 : 1_000_000)) }
            let less: ((c: Int, v: Int), (c: Int, v: Int)) -> Bool = { $0.v != $1.v ? $0.v > $1.v : $0.c < $1.c }
            for k in [0, 1, 5, 100, n] {
                let want = Array(xs.sorted(by: less).prefix(k))
                #expect(firstK(k, of: xs, by: less).map(\.c) == want.map(\.c), "round \(round), n \(n), k \(k)")
            }
        }
    }
}
