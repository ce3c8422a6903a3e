import JourneyCore
import JourneyPlanner
import JourneyRender

/// `explain`'s last row: what the statement gives on this store, in one sentence a student can follow — the
/// numbers read off the result the statement returns (so they are the answer's own).
enum ExplainNumbers {
    /// `quality`'s sentence: the size, what was merged as duplicates and what was quarantined.
    static func quality(_ t: ResultTable) -> String {
        var s = RenderSettings(); s.nullText = "none"
        func rows(_ section: String) -> [(String, String)] {
            t.rows.compactMap { r in
                guard r.count >= 3, case .text(let sec) = r[0], sec == section, case .text(let m) = r[1] else { return nil }
                return (m, Renderer.cell(r[2], s))
            }
        }
        let size = rows("size").map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        let dups = rows("duplicates").filter { !$0.0.contains("rate") }.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        let bad = rows("quarantined").map { "\($0.1) with \($0.0)" }.joined(separator: ", ")
        return "on this store: \(size.isEmpty ? "no size known" : size); duplicates: \(dups.isEmpty ? "none" : dups); "
            + "rows kept aside at import (quarantined): \(bad.isEmpty ? "none" : bad)"
    }

    static func sentence(_ plan: QueryPlan, _ tables: [ResultTable]) -> String {
        guard let t = tables.first, !t.rows.isEmpty else { return "on this store the statement returns nothing (no customer matches)" }
        var s = RenderSettings(); s.nullText = "none"
        func cell(_ r: Int, _ name: String) -> String? {
            guard r < t.rows.count, let c = t.columns.firstIndex(of: name), c < t.rows[r].count else { return nil }
            return Renderer.cell(t.rows[r][c], s)
        }
        let unit = t.columns.contains("accounts") ? "accounts" : "customers"
        var inner = plan
        if case .accounts(let p) = plan { inner = p }
        switch inner {
        case .funnel:
            let first = t.rows[0], last = t.rows.count - 1
            var sentence = "\(cell(0, unit) ?? "?") \(unit) entered at \(Renderer.cell(first[0], s).drop { $0.isNumber || $0 == "." || $0 == " " }); "
                + "\(cell(last, unit) ?? "?") (\(cell(last, "% of first") ?? "?")) reached \(Renderer.cell(t.rows[last][0], s).drop { $0.isNumber || $0 == "." || $0 == " " })"
            if let c = t.columns.firstIndex(of: "% of previous"), t.rows.count > 1 {
                let worst = (1..<t.rows.count).min { a, b in
                    if case .percent(let x) = t.rows[a][c], case .percent(let y) = t.rows[b][c] { return x < y }
                    return false
                }!
                sentence += "; the biggest loss is on the way to \(Renderer.cell(t.rows[worst][0], s).drop { $0.isNumber || $0 == "." || $0 == " " }): \(cell(worst, "% of previous") ?? "?") of those at the step before went on"
            }
            return "on this store: " + sentence
        case .time:
            return "on this store: \(cell(0, unit) ?? "?") \(unit) made it; half of them within \(cell(0, "median") ?? "?"), nine in ten within \(cell(0, "p90") ?? "?"), the fastest in \(cell(0, "min") ?? "?")"
        default:
            // The leading row, and the notes that carry numbers.
            let lead = t.columns.indices.prefix(3).compactMap { c -> String? in
                c < t.rows[0].count ? "\(t.columns[c]) \(Renderer.cell(t.rows[0][c], s))" : nil
            }.joined(separator: ", ")
            let numbered = t.notes.filter { $0.contains { $0.isNumber } }.prefix(2)
            return "on this store: \(t.title) gives \(t.rows.count) row\(t.rows.count == 1 ? "" : "s"); the first: \(lead)"
                + (numbered.isEmpty ? "" : "; " + numbered.joined(separator: "; "))
        }
    }
}
