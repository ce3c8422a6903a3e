import Foundation
import JourneyCore

/// How results are written: one settings value drives every format.
public struct RenderSettings: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case table, csv, tsv, json, markdown, line }
    public var mode: Mode = .table
    public var width = 80
    public var charts = true
    public var nullText = "NULL"
    public init() {}
}

/// Display width of a string in terminal columns: wide (CJK, emoji) count two, combining marks zero.
public func displayWidth(_ s: String) -> Int {
    var w = 0
    for u in s.unicodeScalars {
        let v = u.value
        if (0x300...0x36F).contains(v) || (0x200B...0x200F).contains(v) || v == 0xFE0F { continue }
        if (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFF00...0xFF60).contains(v) || (0x1F300...0x1FAFF).contains(v) { w += 2 } else { w += 1 }
    }
    return w
}

public enum Renderer {
    public static func cell(_ v: Value, _ s: RenderSettings) -> String {
        switch v {
        case .int(let i): return i.grouped
        case .double(let d): return d.isNaN ? "–" : String(format: "%.1f", d)
        case .money(let d): return d.isNaN ? "–" : d.money
        case .percent(let p): return p.isNaN ? "–" : String(format: "%.1f%%", p * 100)
        case .duration(let ms): return formatDuration(ms: ms)
        case .text(let t): return t
        case .null: return s.nullText
        }
    }


    static func isNumeric(_ v: Value) -> Bool {
        switch v { case .text, .null: return false; default: return true }
    }

    /// Cuts `s` to `w` display columns, ending with `…` when cut.
    static func fit(_ s: String, _ w: Int) -> String {
        if displayWidth(s) <= w { return s }
        var out = "", used = 0
        for ch in s { let cw = displayWidth(String(ch)); if used + cw > w - 1 { break }; out.append(ch); used += cw }
        return out + "…"
    }

    /// `text` in lines of at most `width` display columns, broken at spaces; a word longer than a line is cut.
    static func wrap(_ text: String, _ width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            let w = displayWidth(word)
            if line.isEmpty { line = fit(word, width); continue }
            if displayWidth(line) + 1 + w <= width { line += " " + word; continue }
            lines.append(line)
            line = fit(word, width)
        }
        lines.append(line)
        return lines
    }

    static func pad(_ s: String, _ w: Int, right: Bool) -> String {
        let p = String(repeating: " ", count: max(0, w - displayWidth(s)))
        return right ? p + s : s + p
    }

    public static func render(_ t: ResultTable, _ s: RenderSettings) -> String {
        switch s.mode {
        case .table: return table(t, s)
        case .csv, .tsv: return delimited(t, s.mode == .csv ? "," : "\t")
        case .json: return json(t)
        case .markdown: return markdown(t, s)
        case .line: return t.rows.map { r in zip(t.columns, r).map { "\($0) = \(cell($1, s))" }.joined(separator: "\n") }.joined(separator: "\n\n")
        }
    }

    static func table(_ t: ResultTable, _ s: RenderSettings) -> String {
        let cells = t.rows.map { $0.map { cell($0, s) } }
        var widths = t.columns.map(displayWidth)
        for r in cells { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], displayWidth(c)) } }
        let numeric = t.columns.indices.map { i in t.rows.contains { i < $0.count && isNumeric($0[i]) } }
        // Shrink the widest column that can give until the table fits: numbers are never cut, text down to 6.
        let floor = t.columns.indices.map { i in numeric[i] ? max(4, cells.map { i < $0.count ? displayWidth($0[i]) : 0 }.max() ?? 4) : 6 }
        // Headers wrap, so numeric columns first give back header width down to the header's longest word, then
        // down to their numbers (cutting a header word), and only then are text values cut.
        let longestWord = t.columns.map { $0.split(separator: " ").map { displayWidth(String($0)) }.max() ?? 0 }
        for pass in 0..<3 {
            let limit = t.columns.indices.map { i in pass == 0 ? max(floor[i], longestWord[i]) : floor[i] }
            while widths.reduce(0, +) + 3 * widths.count + 1 > s.width,
                  let i = widths.indices.filter({ widths[$0] > limit[$0] && (pass == 2 ? !numeric[$0] : numeric[$0]) }).max(by: { widths[$0] < widths[$1] }) {
                widths[i] -= 1
            }
        }
        func line(_ l: String, _ m: String, _ r: String) -> String { l + widths.map { String(repeating: "─", count: $0 + 2) }.joined(separator: m) + r }
        var out = [t.title.isEmpty ? nil : fit(t.title, s.width), line("┌", "┬", "┐")].compactMap { $0 }
        // Headers wrap at spaces onto as many lines as the narrowest needs (a word too long is cut).
        let heads = t.columns.enumerated().map { wrap($1, widths[$0]) }
        for k in 0..<(heads.map(\.count).max() ?? 1) {
            out.append("│" + heads.enumerated().map { i, h in " " + pad(k < h.count ? h[k] : "", widths[i], right: numeric[i]) + " " }.joined(separator: "│") + "│")
        }
        out.append(line("├", "┼", "┤"))
        for r in cells {
            out.append("│" + r.enumerated().map { " " + pad(fit($1, widths[$0]), widths[$0], right: numeric[$0]) + " " }.joined(separator: "│") + "│")
        }
        out.append(line("└", "┴", "┘"))
        out.append("\(t.rows.count) row\(t.rows.count == 1 ? "" : "s")")
        for n in t.notes {
            let lines = wrap(n, max(20, s.width - 6))
            out.append("note: " + (lines.first ?? ""))
            out.append(contentsOf: lines.dropFirst().map { "      " + $0 })
        }
        if s.charts, let c = t.chart, !t.rows.isEmpty { out.append(contentsOf: chart(t, c, s)) }
        return out.joined(separator: "\n")
    }

    /// A horizontal bar per row, proportional to the value column.
    static func number(_ v: Value) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d), .percent(let d), .money(let d), .duration(let d): return d.isNaN ? nil : d
        default: return nil
        }
    }

    /// A bar per row (or, grouped, a bar per value column under each row's label), drawn from a zero axis so
    /// negative values (a lift below the base rate) extend to its left.
    static func chart(_ t: ResultTable, _ hint: ChartHint, _ s: RenderSettings) -> [String] {
        let li: Int, series: [Int]
        switch hint {
        case .funnel(let l, let v), .bars(let l, let v), .histogram(let l, let v): (li, series) = (l, [v])
        case .groupedBars(let l, let vs): (li, series) = (l, vs)
        }
        let all = t.rows.flatMap { r in series.compactMap { number(r[$0]) } }
        let lo = min(0, all.min() ?? 0), hi = max(0, all.max() ?? 0)
        guard hi > lo else { return [] }
        let grouped = series.count > 1
        let names = series.map { t.columns[$0] }
        let nameW = grouped ? min(12, names.map(displayWidth).max() ?? 0) : 0
        let labelW = grouped ? nameW + 2 : min(24, t.rows.map { displayWidth(cell($0[li], s)) }.max() ?? 0)
        let valueW = min(14, t.rows.flatMap { r in series.map { displayWidth(cell(r[$0], s)) } }.max() ?? 0)
        let barW = max(10, s.width - labelW - valueW - 3)
        let negW = lo < 0 ? Int((Double(barW) * -lo / (hi - lo)).rounded()) : 0
        let posW = barW - negW
        func bar(_ v: Double) -> String {
            if v < 0 {
                let n = min(negW, Int((v / lo * Double(negW)).rounded()))
                return String(repeating: " ", count: negW - n) + String(repeating: "█", count: n) + (posW > 0 ? "│" + String(repeating: " ", count: posW - 1) : "")
            }
            let n = hi > 0 ? min(posW, Int((v / hi * Double(posW)).rounded())) : 0
            return (negW > 0 ? String(repeating: " ", count: negW) + "│" : "") + String(repeating: "█", count: max(0, n - (negW > 0 ? 1 : 0)))
                + String(repeating: " ", count: max(0, posW - max(n, negW > 0 ? 1 : 0)))
        }
        var out = [""]
        // Grouped bars take a line per value: the first rows only, the rest stay in the table.
        let shownRows = grouped ? Array(t.rows.prefix(6)) : t.rows
        for r in shownRows {
            if grouped { out.append(fit(cell(r[li], s), s.width)) }
            for (k, c) in series.enumerated() {
                let label = grouped ? "  " + fit(names[k], nameW) : fit(cell(r[li], s), labelW)
                out.append(pad(label, labelW, right: false) + " " + bar(number(r[c]) ?? 0) + " " + fit(cell(r[c], s), valueW))
            }
        }
        if shownRows.count < t.rows.count { out.append("(\(t.rows.count - shownRows.count) more rows in the table)") }
        return out
    }

    static func csvField(_ s: String, _ d: String) -> String {
        s.contains(d) || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func delimited(_ t: ResultTable, _ d: String) -> String {
        ([t.columns.map { csvField($0, d) }.joined(separator: d)] + t.rows.map { $0.map { csvField($0.plain, d) }.joined(separator: d) })
            .joined(separator: "\n")
    }

    static func json(_ t: ResultTable) -> String {
        let rows = t.rows.map { r -> String in
            "{" + zip(t.columns, r).map { (c, v) -> String in
                let val: String
                switch v {
                case .int(let i): val = String(i)
                case .double(let d), .money(let d): val = d.isNaN ? "null" : String(d)
                case .percent(let p): val = p.isNaN ? "null" : String(p)
                case .duration(let ms): val = ms.isNaN ? "null" : String(ms / 1000)
                case .text(let s): val = jsonQuoted(s)
                case .null: val = "null"
                }
                return jsonQuoted(c) + ":" + val
            }.joined(separator: ",") + "}"
        }
        return "[" + rows.joined(separator: ",\n ") + "]"
    }


    static func markdown(_ t: ResultTable, _ s: RenderSettings) -> String {
        let esc: (String) -> String = { $0.replacingOccurrences(of: "|", with: "\\|") }
        var out = ["| " + t.columns.map(esc).joined(separator: " | ") + " |",
                   "|" + t.columns.indices.map { i in t.rows.contains { isNumeric($0[i]) } ? "---:|" : "---|" }.joined()]
        for r in t.rows { out.append("| " + r.map { esc(cell($0, s)) }.joined(separator: " | ") + " |") }
        return out.joined(separator: "\n")
    }
}
