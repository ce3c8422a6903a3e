import Foundation
import JourneyCore

/// How results are written: one settings value drives every format.
public struct RenderSettings: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case table, ascii, csv, tsv, json, markdown, line }
    public var mode: Mode = .table
    public var width = 80
    public var charts = true
    public var nullText = "NULL"
    /// ANSI colour (only on a terminal, never with NO_COLOR); every chart reads the same without it.
    public var color = false
    public init() {}

    /// Box drawing and block characters, or plain ASCII (`.mode ascii`, or a locale that is not UTF-8).
    public var ascii: Bool { mode == .ascii }

    /// True when the locale's character set is not UTF-8 (then tables and charts are drawn in ASCII).
    public static func localeIsUTF8(_ env: [String: String]) -> Bool {
        let v = env["LC_ALL"].flatMap { $0.isEmpty ? nil : $0 } ?? env["LC_CTYPE"].flatMap { $0.isEmpty ? nil : $0 } ?? env["LANG"] ?? ""
        if v.isEmpty { return true }   // unset: assume a modern UTF-8 terminal
        let u = v.uppercased()
        return u.contains("UTF-8") || u.contains("UTF8")
    }
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
        case .series(let xs): return sparkline(xs, ascii: s.ascii)
        case .null: return s.nullText
        }
    }


    static func isNumeric(_ v: Value) -> Bool {
        switch v { case .text, .null, .series: return false; default: return true }
    }

    /// One character per value, its height from the smallest to the largest (`▁▂▃▄▅▆▇█`, or ` .:-=+*#` in ASCII).
    public static func sparkline(_ xs: [Double], ascii: Bool = false) -> String {
        let marks = ascii ? Array(" .:-=+*#") : Array("▁▂▃▄▅▆▇█")
        let finite = xs.filter { $0.isFinite }
        guard let lo = finite.min(), let hi = finite.max() else { return "" }
        return String(xs.map { x -> Character in
            guard x.isFinite else { return " " }
            if hi == lo { return marks[hi > 0 ? marks.count / 2 : 0] }
            return marks[min(marks.count - 1, Int((x - lo) / (hi - lo) * Double(marks.count - 1) + 0.5))]
        })
    }

    /// Cuts `s` to `w` display columns, ending with `…` when cut.
    static func fit(_ s: String, _ w: Int) -> String {
        if displayWidth(s) <= w { return s }
        var out = "", used = 0
        for ch in s { let cw = displayWidth(String(ch)); if used + cw > w - 1 { break }; out.append(ch); used += cw }
        return out + "…"
    }

    /// `text` in lines of at most `width` display columns, broken at spaces; a word longer than a line is cut,
    /// or with `hyphenate` broken over lines with `-` (headers: nothing of a column's name is lost).
    static func wrap(_ text: String, _ width: Int, hyphenate: Bool = false) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            var pieces = [word]
            if hyphenate && width >= 3 && displayWidth(word) > width {
                pieces = []
                var rest = Substring(word)
                while displayWidth(String(rest)) > width {
                    var head = "", used = 0
                    for ch in rest { let cw = displayWidth(String(ch)); if used + cw > width - 1 { break }; head.append(ch); used += cw }
                    pieces.append(head + "-"); rest = rest.dropFirst(head.count)
                }
                pieces.append(String(rest))
            }
            for piece in pieces {
                let w = displayWidth(piece)
                if line.isEmpty { line = fit(piece, width); continue }
                if displayWidth(line) + 1 + w <= width && !line.hasSuffix("-") { line += " " + piece; continue }
                lines.append(line)
                line = fit(piece, width)
            }
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
        case .table, .ascii: return table(t, s)
        case .csv, .tsv: return delimited(t, s.mode == .csv ? "," : "\t")
        case .json: return json(t)
        case .markdown: return markdown(t, s)
        case .line: return t.rows.map { r in zip(t.columns, r).map { "\($0) = \(cell($1, s))" }.joined(separator: "\n") }.joined(separator: "\n\n")
        }
    }

    static func csvField(_ s: String, _ d: String) -> String {
        s.contains(d) || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// Column names for the machine-readable modes (csv, tsv, json), with the unit their numbers are written in:
    /// shares as fractions (`% of first (fraction)`), durations in seconds (`median time (s)`).
    public static func machineColumns(_ t: ResultTable) -> [String] {
        t.columns.indices.map { i in
            let kinds = t.rows.lazy.map { $0[i] }.first { $0 != .null }
            switch kinds {
            case .percent?: return t.columns[i] + " (fraction)"
            case .duration?: return t.columns[i] + " (s)"
            default: return t.columns[i]
            }
        }
    }

    static func delimited(_ t: ResultTable, _ d: String) -> String {
        ([machineColumns(t).map { csvField($0, d) }.joined(separator: d)] + t.rows.map { $0.map { csvField($0.plain, d) }.joined(separator: d) })
            .joined(separator: "\n")
    }

    static func json(_ t: ResultTable) -> String {
        let columns = machineColumns(t)
        let rows = t.rows.map { r -> String in
            "{" + zip(columns, r).map { (c, v) -> String in
                let val: String
                switch v {
                case .int(let i): val = String(i)
                case .double(let d), .money(let d): val = d.isNaN ? "null" : String(d)
                case .percent(let p): val = p.isNaN ? "null" : String(p)
                case .duration(let ms): val = ms.isNaN ? "null" : String(ms / 1000)
                case .text(let s): val = jsonQuoted(s)
                case .series(let xs): val = "[" + xs.map { $0.isNaN ? "null" : String($0) }.joined(separator: ",") + "]"
                case .null: val = "null"
                }
                return jsonQuoted(c) + ":" + val
            }.joined(separator: ",") + "}"
        }
        // One line per table: a single table is one JSON document, several (a script, `time`'s two tables)
        // are JSON Lines, one document per line.
        return "[" + rows.joined(separator: ",") + "]"
    }


    static func markdown(_ t: ResultTable, _ s: RenderSettings) -> String {
        let esc: (String) -> String = { $0.replacingOccurrences(of: "|", with: "\\|") }
        var out = ["| " + t.columns.map(esc).joined(separator: " | ") + " |",
                   "|" + t.columns.indices.map { i in t.rows.contains { isNumeric($0[i]) } ? "---:|" : "---|" }.joined()]
        for r in t.rows { out.append("| " + r.map { esc(cell($0, s)) }.joined(separator: " | ") + " |") }
        return out.joined(separator: "\n")
    }
}
