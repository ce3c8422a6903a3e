import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner

/// A regular pattern over events compiled to a Thompson automaton and run as a Pike machine: one pass over a
/// customer's events, a bounded set of threads per automaton node, so any pattern runs in time linear in the
/// events (no backtracking).
///
/// Threads carry the time of their first event (for the whole-pattern window) and a deadline (for a `then … within`
/// gap). Two threads at one node are compared by both: a later start and a later deadline can only do better, so
/// a dominated thread is dropped and at most `maxThreads` undominated ones are kept per node (in practice one).
public struct PatternMatcher {
    enum Node {
        case test(Int, next: Int, filler: Bool)      // consume an event matching tests[i]; a gap filler keeps the deadline
        case split(Int, Int)
        case mark(Int64, next: Int)                  // deadline = this event's time + D
        case accept
    }
    var nodes: [Node] = []
    var tests: [StepTest] = []
    var start = 0
    let window: Int64?
    static let maxThreads = 4

    /// Keeps the step tests' code tables alive as long as the matcher.
    let tables: StepTest.Tables

    /// `bind` compiles a step predicate; its tables must be `tables`.
    public init(_ pattern: BoundPattern, within: TimeSpan?, tables: StepTest.Tables, bind: (BoundStep) throws -> StepTest) throws {
        window = within?.milliseconds
        self.tables = tables
        let accept = add(.accept)
        start = try compile(pattern, next: accept, bind: bind)
        required = try pattern.required.map(bind)
        requiredText = pattern.required.map(\.text)
    }

    /// The required steps as written.
    public private(set) var requiredText: [String] = []

    /// Steps every match must contain one event of: a customer without such an event is skipped unread.
    public private(set) var required: [StepTest] = []

    mutating func add(_ n: Node) -> Int { nodes.append(n); return nodes.count - 1 }

    /// The most states a pattern compiles to. Nested repetitions multiply (`x+` holds two copies of x, so
    /// `x++…+` doubles per `+`): found by `make fuzz`, a 40-fold one took over 3 GB before this bound.
    static let maxStates = 100_000

    /// Compiles `p` so that it continues at `next`; returns its entry node.
    mutating func compile(_ p: BoundPattern, next: Int, bind: (BoundStep) throws -> StepTest) throws -> Int {
        guard nodes.count <= Self.maxStates else {
            throw QueryError("the pattern is too large: over \(Self.maxStates.grouped) states (nested repetitions multiply: each + or {m,n} copies what it repeats); write the repetition once, e.g. x+ instead of (x+)+")
        }
        switch p {
        case .step(let e):
            tests.append(try bind(e))
            return add(.test(tests.count - 1, next: next, filler: false))
        case .sequence(let parts):
            var n = next
            for part in parts.reversed() { n = try compile(part, next: n, bind: bind) }
            return n
        case .alternation(let parts):
            var entries: [Int] = []
            for part in parts { entries.append(try compile(part, next: next, bind: bind)) }
            var n = entries.last!
            for e in entries.dropLast().reversed() { n = add(.split(e, n)) }
            return n
        case .then(let a, let b, let within):
            let bEntry = try compile(b, next: next, bind: bind)
            // The gap: any events (fillers) before b's first.
            tests.append(StepTest(.any, tables: tables))
            let loop = add(.split(bEntry, -1))
            let filler = add(.test(tests.count - 1, next: loop, filler: true))
            nodes[loop] = .split(bEntry, filler)
            let gapEntry = within.map { add(.mark($0.milliseconds, next: loop)) } ?? loop
            return try compile(a, next: gapEntry, bind: bind)
        case .repetition(let inner, let min, let max):
            var n = next
            if let max {
                // Optional copies after the required ones: p{2,4} = p p (p (p)?)?
                for _ in 0..<(max - min) {
                    let body = try compile(inner, next: n, bind: bind)
                    n = add(.split(body, n))
                }
            } else {
                // A loop: entry = split(body → entry, next).
                let loop = add(.split(-1, next))
                let body = try compile(inner, next: loop, bind: bind)
                nodes[loop] = .split(body, next)
                n = loop
            }
            for _ in 0..<min { n = try compile(inner, next: n, bind: bind) }
            return n
        }
    }

    struct Thread { var start: Int; var startTime: Int64; var deadline: Int64 }

    /// Thread lists for one core, reused across customers: per node up to `maxThreads` threads in flat buffers.
    public final class Scratch {
        struct List {
            let threads: UnsafeMutablePointer<Thread>, counts: UnsafeMutablePointer<Int>, marks: UnsafeMutablePointer<Int>
            let active: UnsafeMutablePointer<Int>
            var activeCount = 0
            init(nodes: Int) {
                threads = .allocate(capacity: nodes * PatternMatcher.maxThreads)
                counts = .allocate(capacity: nodes); counts.initialize(repeating: 0, count: nodes)
                marks = .allocate(capacity: nodes); marks.initialize(repeating: 0, count: nodes)
                active = .allocate(capacity: nodes)
            }
            func free() { threads.deallocate(); counts.deallocate(); marks.deallocate(); active.deallocate() }
        }
        var current: List, next: List
        var counter = 0
        init(nodes: Int) { current = List(nodes: nodes); next = List(nodes: nodes) }
        deinit { current.free(); next.free() }
        func newGeneration() -> Int { counter += 1; return counter }
    }

    public func scratch() -> Scratch { Scratch(nodes: nodes.count) }

    /// The non-overlapping matches among `positions` (event indexes of one customer, in order), as (first, last)
    /// event index pairs. Scanning left to right, each match is the earliest-ending one that starts after the
    /// previous match, and of those the one starting latest. A match has at least one event.
    public func matches(_ v: UnsafePackedView, _ positions: UnsafeBufferPointer<Int>, _ s: Scratch, into out: inout [(Int, Int)]) {
        out.removeAll(keepingCapacity: true)
        var gen = s.newGeneration()
        s.current.activeCount = 0
        let mt = Self.maxThreads
        for (k, i) in positions.enumerated() {
            let t = v.times[i]
            var ignored: Int? = nil   // an empty match does not count
            addThread(start, Thread(start: k, startTime: t, deadline: .max), gen: gen, &s.current, time: t, accepted: &ignored)
            let nextGen = s.newGeneration()
            s.next.activeCount = 0
            var best: Thread? = nil
            let cur = s.current
            for a in 0..<cur.activeCount {
                let n = cur.active[a]
                guard case .test(let ti, let nx, let filler) = nodes[n] else { continue }
                let count = cur.counts[n]
                if count == 0 || !tests[ti].matches(v, i) { continue }
                for x in 0..<count {
                    let th = cur.threads[n * mt + x]
                    if let w = window, t - th.startTime > w { continue }
                    if !filler && t > th.deadline { continue }
                    var nt = th
                    if !filler { nt.deadline = .max }
                    var acc: Int? = nil
                    addThread(nx, nt, gen: nextGen, &s.next, time: t, accepted: &acc)
                    if acc != nil, best.map({ nt.start > $0.start }) ?? true { best = nt }
                }
            }
            swap(&s.current, &s.next)
            gen = nextGen
            if let b = best {
                out.append((positions[b.start], i))
                // Past the match: every thread alive now started inside it.
                s.current.activeCount = 0
                gen = s.newGeneration()
            }
        }
    }

    /// Adds `th` at node `n` and follows its epsilon moves; records reaching accept.
    func addThread(_ n: Int, _ th: Thread, gen: Int, _ list: inout Scratch.List, time: Int64, accepted: inout Int?) {
        let mt = Self.maxThreads
        if list.marks[n] != gen {
            list.marks[n] = gen; list.counts[n] = 0
            list.active[list.activeCount] = n; list.activeCount += 1
        }
        // Dominance: drop `th` when a thread here is at least as good on both counts; drop those it beats.
        let base = list.threads + n * mt
        var count = list.counts[n]
        for x in 0..<count where base[x].start >= th.start && base[x].deadline >= th.deadline { return }
        var w = 0
        for x in 0..<count where !(th.start >= base[x].start && th.deadline >= base[x].deadline) { base[w] = base[x]; w += 1 }
        count = w
        if count >= mt { for x in 1..<count { base[x - 1] = base[x] }; count -= 1 }
        base[count] = th
        list.counts[n] = count + 1
        switch nodes[n] {
        case .split(let a, let b):
            addThread(a, th, gen: gen, &list, time: time, accepted: &accepted)
            addThread(b, th, gen: gen, &list, time: time, accepted: &accepted)
        case .mark(let d, let nx):
            var t2 = th
            t2.deadline = time > Int64.max - d ? .max : time + d
            addThread(nx, t2, gen: gen, &list, time: time, accepted: &accepted)
        case .accept:
            accepted = th.start
        case .test:
            break
        }
    }

    /// The automaton in words, for `explain`.
    public var description: String {
        "\(nodes.count) states, \(tests.count) step tests\(window.map { ", window \(formatDuration(ms: Double($0)))" } ?? "")"
    }
}
