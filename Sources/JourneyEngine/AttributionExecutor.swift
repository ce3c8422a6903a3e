import Foundation
import JourneyCore
import JourneyLanguage
import JourneyPlanner
import JourneyResults

/// What attribution, touchpoints and gaps compile first: the conversion test and the touchpoint filter's, with
/// the tables they point into (keep `tables` alive while the tests are used).
struct ConversionTests {
    let conversion: StepTest
    let touch: StepTest?
    let tables: StepTest.Tables
}

extension Executor {
    func conversionTests(_ conversion: BoundStep, filter: CompiledFilter) throws -> ConversionTests {
        let tables = StepTest.Tables()
        return ConversionTests(conversion: StepTest(try compile(conversion.predicate), tables: tables),
                               touch: filter.events.map { StepTest($0, tables: tables) }, tables: tables)
    }

    /// Every attribution journey of the (filtered) customers, in customer order: per conversion the touchpoints
    /// since the previous conversion within `lookback` before it; after the last conversion (or with none) the
    /// remaining touchpoints, within `lookback` before the last of them, as a journey that did not convert.
    /// `visit` gets each journey's touch positions (oldest first), conversion position (nil = none) and is called
    /// on one thread per part with that part's index.
    func forEachAttributionJourney(conversion: StepTest, touch: StepTest?, journeys: [Bool]?, lookback: Int64, parts: Int,
                                   _ visit: (_ part: Int, _ v: UnsafePackedView, _ touches: UnsafeBufferPointer<Int>, _ conversion: Int?) -> Void) throws {
        var errors = [Error?](repeating: nil, count: parts)
        seq.withView { v in
            errors.withUnsafeMutableBufferPointer { errs in
                DispatchQueue.concurrentPerform(iterations: parts) { p in
                    var touches: [Int] = []
                    touches.reserveCapacity(256)
                    do {
                        for c in customerRange(p, of: parts) {
                            try checkCancel(c)
                            if let j = journeys, !j[c] { continue }
                            touches.removeAll(keepingCapacity: true)
                            let lo = Int(v.offsets[c]), hi = Int(v.offsets[c + 1])
                            for i in lo..<hi {
                                if conversion.matches(v, i) {
                                    let t0 = v.times[i] - lookback
                                    var k = 0
                                    while k < touches.count && v.times[touches[k]] < t0 { k += 1 }
                                    touches.withUnsafeBufferPointer { visit(p, v, UnsafeBufferPointer(rebasing: $0[k...]), i) }
                                    touches.removeAll(keepingCapacity: true)
                                } else if touch?.matches(v, i) ?? true {
                                    touches.append(i)
                                }
                            }
                            if let last = touches.last {
                                let t0 = v.times[last] - lookback
                                var k = 0
                                while k < touches.count && v.times[touches[k]] < t0 { k += 1 }
                                touches.withUnsafeBufferPointer { visit(p, v, UnsafeBufferPointer(rebasing: $0[k...]), nil) }
                            }
                        }
                    } catch { errs[p] = error }
                }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
    }

    // MARK: attribution

    public func attribution(_ q: QueryPlan.Attribution) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        let compiled = try conversionTests(q.conversion, filter: filter)
        defer { withExtendedLifetime(compiled.tables) {} }   // the compiled tests point into it
        let conversion = compiled.conversion, touch = compiled.touch
        let show = q.by
        let lookback = q.lookbackMs
        let halfLife = Double(q.halfLife?.milliseconds ?? 7 * 86_400_000)
        let pos = q.position.map(Double.init)
        let allHeuristics: [HeuristicModel] = [.first, .last, .linear, .timeDecay(halfLifeMs: halfLife), .position(first: pos[0], middle: pos[1], last: pos[2])]
        let heuristics = q.model == .all ? allHeuristics : allHeuristics.filter { $0.name == q.model.rawValue }
        let wantMarkov = q.wants(.markov)
        let wantShapley = q.wants(.shapley)
        let L = labelCount(show)

        struct Partial {
            var credits: [Credit] = []
            var touches: [Int] = []
            var conversions = 0, value = 0.0, bare = 0, bareValue = 0.0, lost = 0
            var paths: [[UInt32]: (conv: Double, nulls: Double, value: Double)] = [:]
            var sets: [[UInt32]: (conv: Double, value: Double)] = [:]
        }
        let parts = scanPartCount
        var partials = [Partial](repeating: Partial(credits: heuristics.map { _ in Credit(labels: L) }, touches: [Int](repeating: 0, count: L)), count: parts)
        try partials.withUnsafeMutableBufferPointer { out in
            var w: [[Double]] = Array(repeating: [], count: parts)
            var ages: [[Int64]] = Array(repeating: [], count: parts)
            var path: [[UInt32]] = Array(repeating: [], count: parts)
            try w.withUnsafeMutableBufferPointer { w in
                try ages.withUnsafeMutableBufferPointer { ages in
                    try path.withUnsafeMutableBufferPointer { path in
                        try forEachAttributionJourney(conversion: conversion, touch: touch, journeys: filter.journeys, lookback: lookback, parts: parts) { p, v, t, conv in
                            let n = t.count
                            if wantMarkov || wantShapley {
                                // Consecutive repeats merged (as the channelattribution package does): a self-loop
                                // changes no first-order removal effect, and higher orders look at distinct steps.
                                path[p].removeAll(keepingCapacity: true)
                                for i in t { let l = labelCode(show, v, i); if path[p].last != l { path[p].append(l) } }
                            }
                            guard let conv else {
                                out[p].lost += 1
                                if wantMarkov { out[p].paths[path[p], default: (0, 0, 0)].nulls += 1 }
                                return
                            }
                            let value = v.values[conv].isNaN ? 0 : v.values[conv]
                            out[p].conversions += 1; out[p].value += value
                            if n == 0 { out[p].bare += 1; out[p].bareValue += value }
                            for i in t { out[p].touches[Int(labelCode(show, v, i))] += 1 }
                            if !heuristics.isEmpty && n > 0 {
                                ages[p].removeAll(keepingCapacity: true)
                                for i in t { ages[p].append(v.times[conv] - v.times[i]) }
                                for (m, model) in heuristics.enumerated() {
                                    ages[p].withUnsafeBufferPointer { model.weights(n, ages: $0, into: &w[p]) }
                                    for (k, i) in t.enumerated() {
                                        let l = Int(labelCode(show, v, i))
                                        out[p].credits[m].conversions[l] += w[p][k]
                                        out[p].credits[m].value[l] += w[p][k] * value
                                    }
                                }
                            }
                            if wantMarkov && n > 0 {
                                out[p].paths[path[p], default: (0, 0, 0)].conv += 1
                                out[p].paths[path[p]]!.value += value
                            }
                            if wantShapley && n > 0 {
                                let key = Array(Set(path[p])).sorted()
                                out[p].sets[key, default: (0, 0)].conv += 1
                                out[p].sets[key]!.value += value
                            }
                        }
                    }
                }
            }
        }
        var total = partials[0]
        for part in partials.dropFirst() {
            for m in 0..<heuristics.count {
                for l in 0..<L { total.credits[m].conversions[l] += part.credits[m].conversions[l]; total.credits[m].value[l] += part.credits[m].value[l] }
            }
            for l in 0..<L { total.touches[l] += part.touches[l] }
            total.conversions += part.conversions; total.value += part.value; total.bare += part.bare
            total.bareValue += part.bareValue; total.lost += part.lost
            for (k, x) in part.paths { total.paths[k, default: (0, 0, 0)].conv += x.conv; total.paths[k]!.nulls += x.nulls; total.paths[k]!.value += x.value }
            for (k, x) in part.sets { total.sets[k, default: (0, 0)].conv += x.conv; total.sets[k]!.value += x.value }
        }

        let aggregate = AttributionAggregate(
            labels: (0..<L).map { labelName(show, UInt32($0)) }, heuristics: heuristics.map(\.name), credits: total.credits, touches: total.touches,
            conversions: total.conversions, value: total.value, bare: total.bare, bareValue: total.bareValue, lost: total.lost,
            paths: total.paths.mapValues { .init(conversions: $0.conv, nulls: $0.nulls, value: $0.value) },
            sets: total.sets.mapValues { .init(conversions: $0.conv, nulls: 0, value: $0.value) })
        return ResultBuilder.attribution(q, aggregate, filterNotes: filter.description)
    }

    // MARK: touchpoints, gaps

    /// Per customer journey: touches before the first conversion (all touches when none), whether it converted.
    func forEachCustomerJourney(conversion: StepTest, touch: StepTest?, journeys: [Bool]?,
                                _ visit: (_ v: UnsafePackedView, _ touches: [Int], _ conversion: Int?) -> Void) throws {
        var touches: [Int] = []
        try seq.withView { v in
            for c in 0..<seq.customerCount {
                try checkCancel(c)
                if let j = journeys, !j[c] { continue }
                touches.removeAll(keepingCapacity: true)
                var conv: Int?
                for i in Int(v.offsets[c])..<Int(v.offsets[c + 1]) {
                    if conversion.matches(v, i) { conv = i; break }
                    if touch?.matches(v, i) ?? true { touches.append(i) }
                }
                if touches.isEmpty && conv == nil { continue }
                visit(v, touches, conv)
            }
        }
    }

    /// `touchpoints`: for every touchpoint, how the journeys that meet it fare.
    public func touchpoints(_ q: QueryPlan.Relevance) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        let compiled = try conversionTests(q.conversion, filter: filter)
        defer { withExtendedLifetime(compiled.tables) {} }   // the compiled tests point into it
        let conversion = compiled.conversion, touch = compiled.touch
        let L = labelCount(q.by)
        var journeys = [Int](repeating: 0, count: L), converting = journeys
        var positions = [[Double]](repeating: [], count: L), toConversion = positions
        var all = 0, converted = 0
        var firstAt = [Int](repeating: -1, count: L), lastAt = firstAt
        var seen: [Int] = []
        try forEachCustomerJourney(conversion: conversion, touch: touch, journeys: filter.journeys) { v, t, conv in
            all += 1
            if conv != nil { converted += 1 }
            seen.removeAll(keepingCapacity: true)
            for (k, i) in t.enumerated() {
                let l = Int(labelCode(q.by, v, i))
                if firstAt[l] < 0 { firstAt[l] = k; seen.append(l) }
                lastAt[l] = i
            }
            for l in seen {
                journeys[l] += 1
                positions[l].append(Double(firstAt[l] + 1))
                if let conv { converting[l] += 1; toConversion[l].append(Double(v.times[conv] - v.times[lastAt[l]])) }
                firstAt[l] = -1
            }
        }
        let labels = (0..<L).map { l in
            TouchpointsAggregate.Label(name: labelName(q.by, UInt32(l)), code: l, journeys: journeys[l], converting: converting[l],
                                       positions: positions[l], toConversion: toConversion[l])
        }
        return ResultBuilder.touchpoints(q, TouchpointsAggregate(labels: labels, all: all, converted: converted), filterNotes: filter.description)
    }

    /// `gaps`: touchpoints at the decision stages (consideration, intent) where journeys end without converting.
    public func gaps(_ q: QueryPlan.Relevance) throws -> [ResultTable] {
        let filter = try compile(q.filter)
        let compiled = try conversionTests(q.conversion, filter: filter)
        defer { withExtendedLifetime(compiled.tables) {} }   // the compiled tests point into it
        let conversion = compiled.conversion, touch = compiled.touch
        let decisionNames = ["consideration", "intent"].filter { catalog.stageCode($0) != nil }
        guard !decisionNames.isEmpty else { throw QueryError("gaps looks at the decision stages consideration and intent; this store's stages have neither") }
        var decision = [Bool](repeating: false, count: catalog.stages.count + 1)
        for n in decisionNames { decision[Int(catalog.stageCode(n)!)] = true }
        let L = catalog.events.count
        var touching = [Int](repeating: 0, count: L), ended = touching, converting = touching
        var stageOf = [UInt8](repeating: 0, count: L), channelOf = [UInt16](repeating: 0, count: L)
        var seen = Set<Int>()
        var endedAtDecision = 0, journeys = 0
        try forEachCustomerJourney(conversion: conversion, touch: touch, journeys: filter.journeys) { v, t, conv in
            journeys += 1
            seen.removeAll(keepingCapacity: true)
            for i in t where decision[Int(v.stages[i])] {
                let e = Int(v.events[i])
                if seen.insert(e).inserted { touching[e] += 1; if conv != nil { converting[e] += 1 } }
                stageOf[e] = v.stages[i]; channelOf[e] = v.channels[i]
            }
            if conv == nil, let last = t.last, decision[Int(v.stages[last])] {
                ended[Int(v.events[last])] += 1
                endedAtDecision += 1
            }
        }
        let touchpoints = (0..<L).map { e in
            GapsAggregate.Touchpoint(event: catalog.events[e], code: e, stage: stageOf[e] == 0 ? "(none)" : catalog.stages[Int(stageOf[e]) - 1],
                                     channel: channelOf[e] == 0 ? "(none)" : catalog.channels[Int(channelOf[e])],
                                     touching: touching[e], ended: ended[e], converting: converting[e])
        }
        return ResultBuilder.gaps(q, GapsAggregate(touchpoints: touchpoints, journeys: journeys, endedAtDecision: endedAtDecision, decisionStages: decisionNames),
                                  filterNotes: filter.description)
    }
}
