import Foundation
import JourneyCore

/// One part of a notebook-style report: prose from the script's comments, or a statement with its results.
public enum ReportBlock: Sendable {
    case prose(String)
    case statement(text: String, tables: [ResultTable])
}

/// Writes a report of a script's statements: Markdown (text charts) or self-contained HTML (SVG charts, inline
/// CSS, no script, no network).
public enum Report {
    // MARK: Markdown

    public static func markdown(title: String, subtitle: String, blocks: [ReportBlock]) -> String {
        var out = ["# \(title)", "", "_\(subtitle)_", ""]
        var s = RenderSettings(); s.width = 80
        for b in blocks {
            switch b {
            case .prose(let text): out += [text, ""]
            case .statement(let text, let tables):
                out += ["```", text, "```", ""]
                for t in tables {
                    if !t.title.isEmpty { out += ["**\(t.title)**", ""] }
                    out += [Renderer.markdown(t, s), ""]
                    for n in t.notes { out += ["> \(n)", ">"] }
                    if !t.notes.isEmpty { out.removeLast(); out.append("") }
                    if let c = t.chart, !t.rows.isEmpty {
                        let chart = Charts.draw(t, c, s).drop { $0.isEmpty }
                        if !chart.isEmpty { out += ["```"] + chart + ["```", ""] }
                    }
                }
            }
        }
        return out.joined(separator: "\n")
    }

    // MARK: HTML

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Inline Markdown: `code`, **bold**, _emphasis_ (the text escaped).
    static func inlineText(_ s: String) -> String {
        var t = esc(s)
        t = t.replacingOccurrences(of: "`([^`]+)`", with: "<code>$1</code>", options: .regularExpression)
        t = t.replacingOccurrences(of: "\\*\\*([^*]+)\\*\\*", with: "<strong>$1</strong>", options: .regularExpression)
        t = t.replacingOccurrences(of: "(^|\\s)_([^_]+)_", with: "$1<em>$2</em>", options: .regularExpression)
        return t
    }

    /// The little Markdown the comments use: headings, lists, paragraphs, `code`, **bold**, _emphasis_.
    static func prose(_ text: String) -> String {
        func inline(_ s: String) -> String { inlineText(s) }
        var out: [String] = [], para: [String] = [], list: [String] = []
        func flush() {
            if !para.isEmpty { out.append("<p>" + inline(para.joined(separator: " ")) + "</p>"); para = [] }
            if !list.isEmpty { out.append("<ul>" + list.map { "<li>" + inline($0) + "</li>" }.joined() + "</ul>"); list = [] }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { flush(); continue }
            if let h = t.firstIndex(where: { $0 != "#" }), t.hasPrefix("#"), t[h] == " " {
                flush()
                let level = min(4, t.distance(from: t.startIndex, to: h) + 1)
                out.append("<h\(level)>" + inline(String(t[t.index(after: h)...])) + "</h\(level)>")
                continue
            }
            if t.hasPrefix("- ") || t.hasPrefix("* ") { if !para.isEmpty { flush() }; list.append(String(t.dropFirst(2))); continue }
            if !list.isEmpty { flush() }
            para.append(t)
        }
        flush()
        return out.joined(separator: "\n")
    }

    static func table(_ t: ResultTable) -> String {
        var s = RenderSettings(); s.nullText = "—"
        let numeric = t.columns.indices.map { i in t.rows.contains { i < $0.count && Renderer.isNumeric($0[i]) } }
        var h = "<table>\n<thead><tr>" + t.columns.enumerated().map { "<th class=\"\(numeric[$0] ? "n" : "t")\">\(esc($1))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for r in t.rows {
            h += "<tr>" + r.enumerated().map { i, v in
                let cls = v == .null ? "null" : numeric[i] ? "n" : "t"
                return "<td class=\"\(cls)\">\(esc(Renderer.cell(v, s)))</td>"
            }.joined() + "</tr>\n"
        }
        return h + "</tbody></table>"
    }

    public static func html(title: String, subtitle: String, blocks: [ReportBlock]) -> String {
        var body: [String] = []
        var contents: [(level: Int, id: String, text: String)] = []
        for (n, b) in blocks.enumerated() {
            switch b {
            case .prose(let text):
                // Headings of the prose (# and ##) go into the contents, anchored.
                var html = prose(text)
                for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                    for (level, mark) in [(1, "# "), (2, "## ")] where line.hasPrefix(mark) {
                        let heading = String(line.dropFirst(mark.count)), id = "h\(n)-\(contents.count)"
                        let tag = "<h\(level + 1)>"   // prose() draws `#` as h2 (the title is the h1)
                        if let r = html.range(of: tag + inlineText(heading)) {
                            html.replaceSubrange(r, with: "<h\(level + 1) id=\"\(id)\">" + inlineText(heading))
                            contents.append((level, id, heading))
                        }
                    }
                }
                body.append(html)
            case .statement(let text, let tables):
                let id = "cell-\(n)"
                contents.append((3, id, tables.first.map { $0.title.isEmpty ? text : $0.title } ?? text))
                body.append("<pre class=\"q\" id=\"\(id)\">\(esc(text))</pre>")
                for t in tables {
                    body.append("<section>")
                    if !t.title.isEmpty { body.append("<h3>\(esc(t.title))</h3>") }
                    body.append(table(t))
                    body.append("<p class=\"rows\">\(t.rows.count) row\(t.rows.count == 1 ? "" : "s")</p>")
                    for n in t.notes { body.append("<p class=\"note\">\(esc(n))</p>") }
                    if let c = t.chart, !t.rows.isEmpty { body.append(SVGChart.draw(t, c)) }
                    body.append("</section>")
                }
            }
        }
        let toc = contents.isEmpty ? "" : "<nav class=\"toc\"><h2>Contents</h2><ul>"
            + contents.map { "<li class=\"l\($0.level)\"><a href=\"#\($0.id)\">\(esc($0.text))</a></li>" }.joined() + "</ul></nav>"
        body.insert(contentsOf: ["<h1>\(esc(title))</h1>", "<p class=\"sub\">\(esc(subtitle))</p>", toc], at: 0)
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(esc(title))</title>
        <style>
        body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #1d2330; background: #fff; }
        h1 { font-size: 1.7em; margin-bottom: 0; } .sub { color: #667; margin-top: .2em; }
        pre.q { background: #f3f5f9; border-left: 3px solid #3b6fd4; padding: .6em .8em; overflow-x: auto; font-size: 13.5px; }
        table { border-collapse: collapse; margin: .5em 0; font-size: 13.5px; }
        th, td { border-bottom: 1px solid #e1e5ee; padding: .25em .7em; } th { background: #f7f8fb; }
        .n { text-align: right; font-variant-numeric: tabular-nums; } .t { text-align: left; } .null { color: #99a; text-align: right; }
        .rows { color: #667; font-size: 12.5px; margin: 0; } .note { color: #556; font-size: 13px; margin: .2em 0; }
        svg { display: block; margin: .8em 0 1.6em; } svg text { font: 12px system-ui, sans-serif; fill: #334; }
        code { background: #f3f5f9; padding: 0 .25em; }
        nav.toc { background: #f7f8fb; padding: .4em 1em; margin: 1em 0; } nav.toc h2 { font-size: 1.1em; margin: .3em 0; }
        nav.toc ul { list-style: none; padding-left: 0; margin: .2em 0; } nav.toc li.l2 { padding-left: 1em; } nav.toc li.l3 { padding-left: 2em; font-size: 13.5px; }
        nav.toc a { color: #2a4f9e; text-decoration: none; }
        svg.flows text { font-size: 11.5px; }
        @media print {
          body { max-width: none; margin: 0; font-size: 11pt; } nav.toc { page-break-after: always; background: none; }
          nav.toc a { color: #000; } section, table, svg, pre.q { page-break-inside: avoid; } pre.q { background: none; border-left-color: #000; }
          h1, h2, h3 { page-break-after: avoid; }
        }
        </style></head>
        <body>
        \(body.joined(separator: "\n"))
        </body></html>
        """
    }
}

/// The charts of an HTML report as inline SVG.
enum SVGChart {
    static func esc(_ s: String) -> String { Report.esc(s) }
    static let palette = ["#3b6fd4", "#e0803a", "#3aa37a", "#b0489a", "#c9a227", "#5aa6c8", "#8c6d5a"]

    static func draw(_ t: ResultTable, _ hint: ChartHint) -> String {
        switch hint {
        case .funnel(let l, let v), .bars(let l, let v), .histogram(let l, let v): return bars(t, label: l, series: [v])
        case .groupedBars(let l, let vs): return bars(t, label: l, series: vs)
        case .groupedFunnel(let g, let st, let v):
            let p = Charts.stepsByGroup(t, group: g, step: st, value: v, maxGroups: palette.count)
            return p.columns.count > 1 ? bars(p, label: 0, series: Array(1..<p.columns.count)) : ""
        case .columns(let l, let v): return columns(t, label: l, value: v)
        case .cohortGrid(let l, let f): return grid(t, label: l, first: f)
        case .pathTree(let l, let v):
            var s = RenderSettings(); s.width = 100
            return flows(t, label: l, value: v) + "<pre>" + esc(Charts.draw(t, hint, s).joined(separator: "\n")) + "</pre>"
        }
    }

    /// Horizontal bars from a zero axis (negative values to its left); one bar per series under each label.
    static func bars(_ t: ResultTable, label li: Int, series: [Int]) -> String {
        let s = RenderSettings()
        let rows = Array(t.rows.prefix(30))
        let all = rows.flatMap { r in series.compactMap { Charts.number(r[$0]) } }
        let lo = min(0, all.min() ?? 0), hi = max(0, all.max() ?? 0)
        guard hi > lo else { return "" }
        let labelW = 200.0, valueW = 90.0, plotW = 640.0, barH = 16.0, gap = 6.0
        let groupH = Double(series.count) * barH + gap
        let legendH = series.count > 1 ? 22.0 : 0
        let height = legendH + Double(rows.count) * groupH + 8
        let x0 = labelW + plotW * (-lo / (hi - lo))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(labelW + plotW + valueW))\" height=\"\(Int(height))\" role=\"img\">"
        if series.count > 1 {
            for (k, c) in series.enumerated() {
                let x = labelW + Double(k) * 110
                svg += "<rect x=\"\(x)\" y=\"4\" width=\"12\" height=\"12\" fill=\"\(palette[k % palette.count])\"/><text x=\"\(x + 16)\" y=\"14\">\(esc(t.columns[c]))</text>"
            }
        }
        for (r, row) in rows.enumerated() {
            let y = legendH + Double(r) * groupH
            svg += "<text x=\"\(labelW - 8)\" y=\"\(y + groupH / 2)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(esc(Renderer.fit(Renderer.cell(row[li], s), 30)))</text>"
            for (k, c) in series.enumerated() {
                let v = Charts.number(row[c]) ?? 0
                let w = plotW * abs(v) / (hi - lo)
                let x = v < 0 ? x0 - w : x0
                let by = y + Double(k) * barH
                let color = v < 0 ? "#c8483b" : palette[k % palette.count]
                svg += "<rect x=\"\(x)\" y=\"\(by + 1)\" width=\"\(max(w, v == 0 ? 0 : 1))\" height=\"\(barH - 2)\" fill=\"\(color)\"/>"
                svg += "<text x=\"\(labelW + plotW + 6)\" y=\"\(by + barH / 2)\" dominant-baseline=\"middle\">\(esc(Renderer.cell(row[c], s)))</text>"
            }
        }
        svg += "<line x1=\"\(x0)\" y1=\"\(legendH)\" x2=\"\(x0)\" y2=\"\(height - 8)\" stroke=\"#889\" stroke-width=\"1\"/>"
        return svg + "</svg>"
    }

    /// A series as vertical columns, the first and last labels under them.
    static func columns(_ t: ResultTable, label li: Int, value vi: Int) -> String {
        let s = RenderSettings()
        let vals = t.rows.map { max(0, Charts.number($0[vi]) ?? 0) }
        guard let hi = vals.max(), hi > 0 else { return "" }
        let w = 900.0, h = 220.0, left = 50.0, bottom = 30.0
        let step = (w - left) / Double(vals.count)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\">"
        svg += "<text x=\"\(left - 6)\" y=\"12\" text-anchor=\"end\">\(esc(Int(hi).grouped))</text><text x=\"\(left - 6)\" y=\"\(h - bottom)\" text-anchor=\"end\">0</text>"
        for (k, v) in vals.enumerated() {
            let bh = (h - bottom - 10) * v / hi
            svg += "<rect x=\"\(left + Double(k) * step + 1)\" y=\"\(h - bottom - bh)\" width=\"\(max(1, step - 2))\" height=\"\(bh)\" fill=\"\(palette[0])\"><title>\(esc(Renderer.cell(t.rows[k][li], s))): \(esc(Renderer.cell(t.rows[k][vi], s)))</title></rect>"
        }
        if let a = t.rows.first, let b = t.rows.last {
            svg += "<text x=\"\(left)\" y=\"\(h - 8)\">\(esc(Renderer.cell(a[li], s)))</text><text x=\"\(w)\" y=\"\(h - 8)\" text-anchor=\"end\">\(esc(Renderer.cell(b[li], s)))</text>"
        }
        return svg + "<line x1=\"\(left)\" y1=\"\(h - bottom)\" x2=\"\(w)\" y2=\"\(h - bottom)\" stroke=\"#889\"/></svg>"
    }

    /// A cohort grid: cells shaded by share, the percentage written in each.
    /// Paths as a flow (Sankey-like): a column per position, a node per label there sized by the customers whose
    /// path has it, and a band from each node to the next position's as wide as the customers taking that step
    /// (the top 12 paths; an elided middle `…` is a node of its own).
    static func flows(_ t: ResultTable, label li: Int, value vi: Int) -> String {
        var paths: [([String], Double)] = []
        for row in t.rows.prefix(12) {
            guard case .text(let label) = row[li] else { continue }
            let n: Double
            switch row[vi] { case .int(let x): n = Double(x); case .double(let x), .money(let x): n = x; default: continue }
            let steps = label.components(separatedBy: " → ").map { $0.trimmingCharacters(in: .whitespaces) }
            if steps.count >= 2 && n > 0 { paths.append((steps, n)) }
        }
        guard !paths.isEmpty else { return "" }
        let depth = paths.map { $0.0.count }.max()!
        var nodes = [[String: Double]](repeating: [:], count: depth), links: [String: Double] = [:]
        for (steps, n) in paths {
            for (k, label) in steps.enumerated() {
                nodes[k][label, default: 0] += n
                if k + 1 < steps.count { links["\(k)\u{1}\(label)\u{1}\(steps[k + 1])", default: 0] += n }
            }
        }
        let total = paths.reduce(0) { $0 + $1.1 }
        let colW = 150.0, nodeW = 10.0, height = 320.0, gap = 8.0, top = 10.0
        let width = colW * Double(depth - 1) + 120
        let scale = (height - gap * 8) / total
        // Each column's nodes stacked from the top, largest first (ties by name).
        var y: [[String: Double]] = nodes.map { col in
            var at = top, out: [String: Double] = [:]
            for (label, _) in col.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) { out[label] = at; at += col[label]! * scale + gap }
            return out
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"flows\" width=\"\(Int(width))\" height=\"\(Int(height + 20))\" role=\"img\">"
        // Bands first (under the nodes): out of a node's top and into the next node's top, stacked in order.
        var outAt = y, inAt = y
        for (key, n) in links.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            let parts = key.components(separatedBy: "\u{1}")
            guard parts.count == 3, let k = Int(parts[0]), let y0 = outAt[k][parts[1]], let y1 = inAt[k + 1][parts[2]] else { continue }
            let w = n * scale, x0 = 10 + colW * Double(k) + nodeW, x1 = 10 + colW * Double(k + 1)
            let a = y0 + w / 2, b = y1 + w / 2, mid = (x0 + x1) / 2
            svg += "<path class=\"band\" d=\"M\(x0),\(a) C\(mid),\(a) \(mid),\(b) \(x1),\(b)\" fill=\"none\" stroke=\"\(palette[k % palette.count])\" stroke-opacity=\"0.35\" stroke-width=\"\(String(format: "%.2f", max(w, 1)))\"><title>\(esc(parts[1])) → \(esc(parts[2])): \(Int(n))</title></path>"
            outAt[k][parts[1]] = y0 + w; inAt[k + 1][parts[2]] = y1 + w
        }
        for (k, col) in nodes.enumerated() {
            for (label, n) in col {
                let x = 10 + colW * Double(k), top = y[k][label]!, h = max(n * scale, 1)
                svg += "<rect class=\"node\" x=\"\(x)\" y=\"\(String(format: "%.2f", top))\" width=\"\(nodeW)\" height=\"\(String(format: "%.2f", h))\" fill=\"#334\"><title>\(esc(label)): \(Int(n))</title></rect>"
                svg += "<text x=\"\(x + nodeW + 4)\" y=\"\(String(format: "%.2f", top + h / 2))\" dominant-baseline=\"middle\">\(esc(label))</text>"
            }
        }
        y.removeAll()
        return svg + "</svg>"
    }

    static func grid(_ t: ResultTable, label li: Int, first: Int) -> String {
        let s = RenderSettings()
        let rows = Array(t.rows.suffix(36)), cols = t.columns.count - first
        let labelW = 150.0, cw = 52.0, ch = 22.0
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(labelW + cw * Double(cols)))\" height=\"\(Int(ch * Double(rows.count + 1)))\" role=\"img\">"
        for c in 0..<cols { svg += "<text x=\"\(labelW + cw * Double(c) + cw / 2)\" y=\"15\" text-anchor=\"middle\">\(c)</text>" }
        for (r, row) in rows.enumerated() {
            let y = ch * Double(r + 1)
            svg += "<text x=\"\(labelW - 8)\" y=\"\(y + ch / 2)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(esc(Renderer.cell(row[li], s)))</text>"
            for c in 0..<cols {
                guard case .percent(let p) = row[first + c], !p.isNaN else { continue }
                let x = labelW + cw * Double(c)
                svg += "<rect x=\"\(x + 1)\" y=\"\(y + 1)\" width=\"\(cw - 2)\" height=\"\(ch - 2)\" fill=\"#3b6fd4\" fill-opacity=\"\(String(format: "%.3f", 0.08 + 0.92 * min(1, max(0, p))))\"/>"
                svg += "<text x=\"\(x + cw / 2)\" y=\"\(y + ch / 2)\" text-anchor=\"middle\" dominant-baseline=\"middle\" style=\"fill:\(p > 0.5 ? "#fff" : "#223")\">\(String(format: "%.0f", p * 100))%</text>"
            }
        }
        return svg + "</svg>"
    }
}
