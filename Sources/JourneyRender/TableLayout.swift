import JourneyCore

/// The glyphs a table or chart is drawn with: box drawing and blocks, or plain ASCII.
struct Glyphs {
    let h, v, tl, tm, tr, ml, mm, mr, bl, bm, br: String
    let bar, axis: String
    static let unicode = Glyphs(h: "─", v: "│", tl: "┌", tm: "┬", tr: "┐", ml: "├", mm: "┼", mr: "┤", bl: "└", bm: "┴", br: "┘", bar: "█", axis: "│")
    static let ascii = Glyphs(h: "-", v: "|", tl: "+", tm: "+", tr: "+", ml: "+", mm: "+", mr: "+", bl: "+", bm: "+", br: "+", bar: "#", axis: "|")
    static func of(_ s: RenderSettings) -> Glyphs { s.ascii ? .ascii : .unicode }
}

/// ANSI styling, applied only when the settings allow colour.
enum Style {
    static func bold(_ t: String, _ s: RenderSettings) -> String { s.color ? "\u{1B}[1m\(t)\u{1B}[0m" : t }
    static func dim(_ t: String, _ s: RenderSettings) -> String { s.color ? "\u{1B}[2m\(t)\u{1B}[0m" : t }
    static func bar(_ t: String, negative: Bool, _ s: RenderSettings) -> String {
        s.color && !t.isEmpty ? (negative ? "\u{1B}[31m" : "\u{1B}[36m") + t + "\u{1B}[0m" : t
    }
}

extension Renderer {
    /// A box table fitted to the width: numeric columns give back header width first (headers wrap), then text
    /// is cut with `…`. When even that cannot fit, each row is printed as a record of `column │ value` lines
    /// (like psql's expanded display), so no line is ever wider than the width.
    static func table(_ t: ResultTable, _ s: RenderSettings) -> String {
        let g = Glyphs.of(s)
        let cells = t.rows.map { $0.map { cell($0, s) } }
        var widths = t.columns.map(displayWidth)
        for r in cells { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], displayWidth(c)) } }
        let numeric = t.columns.indices.map { i in t.rows.contains { i < $0.count && isNumeric($0[i]) } }
        // Numbers are never cut; text goes down to 6 columns.
        let floor = t.columns.indices.map { i in numeric[i] ? max(4, cells.map { i < $0.count ? displayWidth($0[i]) : 0 }.max() ?? 4) : 6 }
        let longestWord = t.columns.map { $0.split(separator: " ").map { displayWidth(String($0)) }.max() ?? 0 }
        // What gives way, in turn: number columns' headers down to their longest word (they wrap at spaces), text
        // down to 16 columns (cut with …), number headers until a word breaks over two lines (with -), text down
        // to 10, number headers down to their cells, text down to 6.
        let passes: [(numbers: Bool, limit: (Int) -> Int)] = [
            (true, { max(floor[$0], longestWord[$0]) }), (false, { max(floor[$0], 16) }),
            (true, { max(floor[$0], (longestWord[$0] + 1) / 2 + 1) }), (false, { max(floor[$0], 10) }),
            (true, { floor[$0] }), (false, { floor[$0] }),
        ]
        for pass in passes {
            while widths.reduce(0, +) + 3 * widths.count + 1 > s.width,
                  let i = widths.indices.filter({ numeric[$0] == pass.numbers && widths[$0] > pass.limit($0) }).max(by: { widths[$0] < widths[$1] }) {
                widths[i] -= 1
            }
        }
        var out: [String] = t.title.isEmpty ? [] : [Style.bold(fit(t.title, s.width), s)]
        if widths.reduce(0, +) + 3 * widths.count + 1 > s.width {
            out += expanded(t, cells, s, g)
        } else {
            func line(_ l: String, _ m: String, _ r: String) -> String { l + widths.map { String(repeating: g.h, count: $0 + 2) }.joined(separator: m) + r }
            out.append(line(g.tl, g.tm, g.tr))
            // Headers wrap at spaces onto as many lines as the narrowest needs (a word too long is cut).
            let heads = t.columns.enumerated().map { wrap($1, widths[$0], hyphenate: true) }
            for k in 0..<(heads.map(\.count).max() ?? 1) {
                out.append(g.v + heads.enumerated().map { i, h in " " + Style.bold(pad(k < h.count ? h[k] : "", widths[i], right: numeric[i]), s) + " " }.joined(separator: g.v) + g.v)
            }
            out.append(line(g.ml, g.mm, g.mr))
            for r in cells {
                if t.wrapsText {
                    let parts = r.enumerated().map { i, c in numeric[i] ? [fit(c, widths[i])] : wrap(c, widths[i]) }
                    for k in 0..<(parts.map(\.count).max() ?? 1) {
                        out.append(g.v + parts.enumerated().map { i, p in " " + pad(k < p.count ? p[k] : "", widths[i], right: numeric[i]) + " " }.joined(separator: g.v) + g.v)
                    }
                    continue
                }
                out.append(g.v + r.enumerated().map { " " + pad(fit($1, widths[$0]), widths[$0], right: numeric[$0]) + " " }.joined(separator: g.v) + g.v)
            }
            out.append(line(g.bl, g.bm, g.br))
        }
        out.append("\(t.rows.count) row\(t.rows.count == 1 ? "" : "s")")
        for n in t.notes {
            let lines = wrap(n, max(10, s.width - 6))
            out.append(Style.dim("note: " + (lines.first ?? ""), s))
            out.append(contentsOf: lines.dropFirst().map { Style.dim("      " + $0, s) })
        }
        if s.charts, let c = t.chart, !t.rows.isEmpty { out.append(contentsOf: Charts.draw(t, c, s)) }
        let text = out.joined(separator: "\n")
        // ASCII: the few typographic characters of our own (not the data's letters) get ASCII stand-ins.
        return s.ascii ? text.replacingOccurrences(of: "…", with: "~").replacingOccurrences(of: "→", with: ">")
            .replacingOccurrences(of: "·", with: "-").replacingOccurrences(of: "−", with: "-").replacingOccurrences(of: "×", with: "x") : text
    }

    /// One record per row: a rule with the row number, then `column │ value` lines, values wrapped to the width.
    static func expanded(_ t: ResultTable, _ cells: [[String]], _ s: RenderSettings, _ g: Glyphs) -> [String] {
        let keyW = min(max(4, s.width / 3), t.columns.map(displayWidth).max() ?? 4)
        let valW = max(4, s.width - keyW - 3)
        var out: [String] = []
        for (n, r) in cells.enumerated() {
            let head = "\(g.h)[ row \(n + 1) ]"
            out.append(head + String(repeating: g.h, count: max(0, s.width - displayWidth(head))))
            for (i, c) in r.enumerated() where i < t.columns.count {
                let lines = wrap(c, valW)
                out.append(pad(fit(t.columns[i], keyW), keyW, right: false) + " " + g.v + " " + (lines.first ?? ""))
                for l in lines.dropFirst() { out.append(String(repeating: " ", count: keyW) + " " + g.v + " " + l) }
            }
        }
        return out
    }
}
