/// A typed cell of a result.
public enum Value: Equatable, Sendable {
    case int(Int)
    case double(Double)
    case percent(Double)      // 0.253 = 25.3 %
    case duration(Double)     // milliseconds
    case money(Double)
    case text(String)
    /// A short series drawn as a sparkline in the cell (`▁▃▆█`); its numbers in CSV and JSON.
    case series([Double])
    case null

    /// Plain text for CSV and TSV, at full precision (the shortest text that reads back as the same Double):
    /// shares as fractions (0.383, not 38.3), durations in seconds — their column names say so
    /// (`Renderer.machineColumns`).
    public var plain: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v), .money(let v): return v.isNaN ? "" : String(v)
        case .percent(let v): return v.isNaN ? "" : String(v)
        case .duration(let v): return v.isNaN ? "" : String(v / 1000)
        case .text(let s): return s
        case .series(let xs): return xs.map { $0 == $0.rounded() ? String(Int($0)) : String($0) }.joined(separator: " ")
        case .null: return ""
        }
    }
}

public enum ChartHint: Equatable, Sendable {
    case funnel(label: Int, value: Int)            // column indices
    case bars(label: Int, value: Int)
    case histogram(label: Int, value: Int)
    /// One bar per value column for each row (models side by side).
    case groupedBars(label: Int, values: [Int])
    /// A funnel by groups (rows: group, step, count …, each group's steps in order): per step a bar per group,
    /// its share of the group's first step, as a breakdown funnel in Mixpanel or Amplitude.
    case groupedFunnel(group: Int, step: Int, value: Int)
    /// A series in row order (months, weeks) as columns.
    case columns(label: Int, value: Int)
    /// Paths (`a → b → c`) as a tree of shared beginnings.
    case pathTree(label: Int, value: Int)
    /// A cohort grid: a row per cohort, shaded cells from column `first` on (shares 0…1).
    case cohortGrid(label: Int, first: Int)
}

/// One table of a result: a title, typed columns, rows, notes printed under it, and how to chart it.
public struct ResultTable: Equatable, Sendable {
    public var title: String
    public var columns: [String]
    public var rows: [[Value]]
    public var notes: [String]
    public var chart: ChartHint?
    /// Text cells wrap at spaces onto more lines instead of being cut with `…` (prose such as `explain`'s).
    public var wrapsText = false
    public init(title: String, columns: [String], rows: [[Value]] = [], notes: [String] = [], chart: ChartHint? = nil) {
        self.title = title; self.columns = columns; self.rows = rows; self.notes = notes; self.chart = chart
    }
}

/// Linear-interpolated quantile of sorted values (q in 0...1), as numpy's default and DuckDB's quantile_cont.
public func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let pos = q * Double(sorted.count - 1)
    let lo = Int(pos.rounded(.down)), hi = Int(pos.rounded(.up))
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
}

/// Thrown when a running query sees the shell's Ctrl-C.
public struct QueryCancelled: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "query cancelled" }
}

/// A query that cannot be answered on this store, for a reason not tied to one place in its text.
public struct QueryError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `quantile` of unsorted values, found by selection in linear time instead of a sort; reorders `xs`.
/// The values must not be NaN.
public func quantile(selecting xs: inout [Double], _ q: Double) -> Double {
    guard !xs.isEmpty else { return .nan }
    let pos = q * Double(xs.count - 1)
    let lo = Int(pos.rounded(.down)), hi = Int(pos.rounded(.up))
    select(&xs, lo)
    let a = xs[lo]
    let b = hi == lo ? a : xs[(lo + 1)...].min() ?? a
    return a + (b - a) * (pos - Double(lo))
}

/// Moves the `k`-th smallest value to `xs[k]`, smaller or equal ones before it and greater or equal ones after:
/// quickselect with a median-of-three pivot and three-way partitions (many equal values stay linear), sorting
/// the rest if the pivots keep failing.
public func select<T: Comparable>(_ xs: inout [T], _ k: Int) {
    var lo = 0, hi = xs.count - 1, rounds = 0
    xs.withUnsafeMutableBufferPointer { a in
        while lo < hi {
            rounds += 1
            if rounds > 64 { a[lo...hi].sort(); return }
            let x = a[lo], y = a[(lo + hi) / 2], z = a[hi]
            let pivot = max(min(x, y), min(max(x, y), z))
            var lt = lo, i = lo, gt = hi
            while i <= gt {
                if a[i] < pivot { a.swapAt(lt, i); lt += 1; i += 1 } else if a[i] > pivot { a.swapAt(i, gt); gt -= 1 } else { i += 1 }
            }
            if k < lt { hi = lt - 1 } else if k > gt { lo = gt + 1 } else { return }
        }
    }
}

/// `xs` in ascending order, as `sorted()` gives it, by an LSD radix sort on the bit patterns (a byte per pass,
/// passes where every value shares the byte skipped): millions of values in a few milliseconds, where a
/// comparison sort took a third of a second a statement could not be cancelled in. NaN are not expected.
public func radixSorted(_ xs: [Double]) -> [Double] {
    let n = xs.count
    if n < 2048 { return xs.sorted() }
    // Order-preserving keys: flip every bit of a negative number, only the sign bit of a positive one.
    var keys = [UInt64](repeating: 0, count: n), other = [UInt64](repeating: 0, count: n)
    // All eight byte histograms in one pass over the keys.
    var hist = [Int](repeating: 0, count: 8 * 256)
    keys.withUnsafeMutableBufferPointer { k in
        hist.withUnsafeMutableBufferPointer { h in
            xs.withUnsafeBufferPointer { x in
                for i in 0..<n {
                    let b = x[i].bitPattern
                    let key = b >> 63 == 1 ? ~b : b | (1 << 63)
                    k[i] = key
                    for p in 0..<8 { h[p &* 256 &+ Int(truncatingIfNeeded: (key >> UInt64(p &* 8)) & 0xFF)] &+= 1 }
                }
            }
        }
    }
    for p in 0..<8 {
        let base = p * 256
        if hist[base..<(base + 256)].contains(n) { continue }   // every key shares this byte
        var sum = 0
        for i in base..<(base + 256) { let c = hist[i]; hist[i] = sum; sum += c }
        let shift = UInt64(p * 8)
        keys.withUnsafeBufferPointer { src in
            other.withUnsafeMutableBufferPointer { dst in
                hist.withUnsafeMutableBufferPointer { h in
                    for i in 0..<n {
                        let key = src[i]
                        let d = base &+ Int(truncatingIfNeeded: (key >> shift) & 0xFF)
                        dst[h[d]] = key; h[d] &+= 1
                    }
                }
            }
        }
        swap(&keys, &other)
    }
    return keys.map { k in Double(bitPattern: k >> 63 == 1 ? k & ~(1 << 63) : ~k) }
}

/// The `k` first of `xs` in the order `less` gives (a strict total order), as `xs.sorted(by: less).prefix(k)`
/// would give them, by a bounded heap: a listing's `limit 10` over a million customers sorts ten, not a million.
public func firstK<T>(_ k: Int, of xs: [T], by less: (T, T) -> Bool) -> [T] {
    guard k < xs.count / 4 else { return Array(xs.sorted(by: less).prefix(max(0, k))) }
    guard k > 0 else { return [] }
    // A max-heap (by `less`) of the k best so far: its top is the worst of them.
    var heap: [T] = []
    heap.reserveCapacity(k)
    func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && less(heap[m], heap[l]) { m = l }
            if r < heap.count && less(heap[m], heap[r]) { m = r }
            if m == i { return }
            heap.swapAt(i, m); i = m
        }
    }
    for x in xs {
        if heap.count < k {
            heap.append(x)
            var i = heap.count - 1
            while i > 0, less(heap[(i - 1) / 2], heap[i]) { heap.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
        } else if less(x, heap[0]) {
            heap[0] = x; siftDown(0)
        }
    }
    return heap.sorted(by: less)
}
