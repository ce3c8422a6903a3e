import JourneyCore

/// Text charts drawn under a table, chosen by the result's `ChartHint`; every line fits the width.
enum Charts {
    static func draw(_ t: ResultTable, _ hint: ChartHint, _ s: RenderSettings) -> [String] {
        guard s.width >= 20 else { return [] }
        switch hint {
        case .funnel(let l, let v): return funnel(t, label: l, value: v, s)
        case .bars(let l, let v), .histogram(let l, let v): return bars(t, label: l, series: [v], s)
        case .groupedBars(let l, let vs): return bars(t, label: l, series: vs, s)
        case .groupedFunnel(let g, let st, let v):
            let p = stepsByGroup(t, group: g, step: st, value: v)
            guard p.columns.count > 1 else { return [] }
            return bars(p, label: 0, series: Array(1..<p.columns.count), s, maxRows: p.rows.count) + p.notes.map { "(\($0))" }
        case .columns(let l, let v): return columns(t, label: l, value: v, s)
        case .pathTree(let l, let v): return pathTree(t, label: l, value: v, s)
        case .cohortGrid(let l, let f): return cohortGrid(t, label: l, first: f, s)
        }
    }

    static func number(_ v: Value) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d), .percent(let d), .money(let d), .duration(let d): return d.isNaN ? nil : d
        default: return nil
        }
    }

    static func repeated(_ g: String, _ n: Int) -> String { String(repeating: g, count: max(0, n)) }

    /// A bar per row (or, grouped, a bar per value column under each row's label), drawn from a zero axis so
    /// negative values (a lift below the base rate) extend to its left.
    /// A funnel by groups turned around for a grouped bar chart: a row per step, a column per group (the first
    /// `maxGroups` in the table's order, "other" included when shown), each cell the group's share of its first step.
    static func stepsByGroup(_ t: ResultTable, group gi: Int, step si: Int, value vi: Int, maxGroups: Int = 6) -> ResultTable {
        var groups: [String] = [], steps: [String] = [], counts: [String: [Double]] = [:]
        for r in t.rows {
            let g = Renderer.cell(r[gi], RenderSettings()), step = Renderer.cell(r[si], RenderSettings())
            if counts[g] == nil { groups.append(g) }
            if !steps.contains(step) { steps.append(step) }
            counts[g, default: []].append(number(r[vi]) ?? 0)
        }
        let shown = Array(groups.prefix(maxGroups))
        let rows: [[Value]] = steps.indices.map { k in
            [.text(steps[k])] + shown.map { g in
                let c = counts[g] ?? []
                guard k < c.count, let first = c.first, first > 0 else { return .null }
                return .percent(c[k] / first)
            }
        }
        var notes: [String] = []
        if groups.count > shown.count { notes.append("\(groups.count - shown.count) more groups in the table") }
        return ResultTable(title: t.title, columns: ["step"] + shown, rows: rows, notes: notes)
    }

    static func bars(_ t: ResultTable, label li: Int, series: [Int], _ s: RenderSettings, maxRows: Int = 6) -> [String] {
        let g = Glyphs.of(s)
        let all = t.rows.flatMap { r in series.compactMap { number(r[$0]) } }
        let lo = min(0, all.min() ?? 0), hi = max(0, all.max() ?? 0)
        guard hi > lo else { return [] }
        let grouped = series.count > 1
        let names = series.map { t.columns[$0] }
        let nameW = grouped ? min(12, names.map(displayWidth).max() ?? 0) : 0
        let labelW = grouped ? nameW + 2 : min(24, s.width / 3, t.rows.map { displayWidth(Renderer.cell($0[li], s)) }.max() ?? 0)
        let valueW = min(16, t.rows.flatMap { r in series.map { displayWidth(Renderer.cell(r[$0], s)) } }.max() ?? 0)
        let barW = max(4, s.width - labelW - valueW - 2)
        let negW = lo < 0 ? Int((Double(barW) * -lo / (hi - lo)).rounded()) : 0
        let posW = barW - negW
        func bar(_ v: Double) -> String {
            if v < 0 {
                let n = min(negW, Int((v / lo * Double(negW)).rounded()))
                return repeated(" ", negW - n) + Style.bar(repeated(g.bar, n), negative: true, s) + (posW > 0 ? g.axis + repeated(" ", posW - 1) : "")
            }
            let n = hi > 0 ? min(posW, Int((v / hi * Double(posW)).rounded())) : 0
            if negW > 0 { return repeated(" ", negW) + g.axis + Style.bar(repeated(g.bar, n - 1), negative: false, s) + repeated(" ", posW - max(n, 1)) }
            return Style.bar(repeated(g.bar, n), negative: false, s) + repeated(" ", posW - n)
        }
        var out = [""]
        // Grouped bars take a line per value: the first rows only, the rest stay in the table.
        let shownRows = grouped ? Array(t.rows.prefix(maxRows)) : t.rows
        for r in shownRows {
            if grouped { out.append(Renderer.fit(Renderer.cell(r[li], s), s.width)) }
            for (k, c) in series.enumerated() {
                let label = grouped ? "  " + Renderer.fit(names[k], nameW) : Renderer.fit(Renderer.cell(r[li], s), labelW)
                out.append(Renderer.pad(label, labelW, right: false) + " " + bar(number(r[c]) ?? 0) + " " + Renderer.fit(Renderer.cell(r[c], s), valueW))
            }
        }
        if shownRows.count < t.rows.count { out.append("(\(t.rows.count - shownRows.count) more rows in the table)") }
        return out
    }

    /// One bar per step, proportional to the first step; under each step after the first, how many went on
    /// (% of previous) and how many dropped, so the drop-off between steps is visible.
    static func funnel(_ t: ResultTable, label li: Int, value vi: Int, _ s: RenderSettings) -> [String] {
        let g = Glyphs.of(s)
        let vals = t.rows.map { number($0[vi]) ?? 0 }
        guard let first = vals.first, first > 0 else { return [] }
        let labelW = min(24, s.width / 3, t.rows.map { displayWidth(Renderer.cell($0[li], s)) }.max() ?? 0)
        let texts = vals.map { "\(Int($0).grouped) · \(String(format: "%.1f", $0 / first * 100))%" }
        let valueW = min(22, texts.map(displayWidth).max() ?? 0)
        let barW = max(4, s.width - labelW - valueW - 2)
        var out = [""]
        for (k, r) in t.rows.enumerated() {
            if k > 0 {
                let prev = vals[k - 1]
                let on = prev > 0 ? vals[k] / prev * 100 : 0
                let arrow = s.ascii ? "v" : "↓"
                let text = "\(arrow) \(String(format: "%.1f", on))% went on, \(Int(max(0, prev - vals[k])).grouped) dropped"
                out.append(Style.dim(Renderer.fit(repeated(" ", labelW + 1) + text, s.width), s))
            }
            let n = min(barW, Int((vals[k] / first * Double(barW)).rounded()))
            out.append(Renderer.pad(Renderer.fit(Renderer.cell(r[li], s), labelW), labelW, right: false) + " "
                       + Style.bar(repeated(g.bar, max(n, vals[k] > 0 ? 1 : 0)), negative: false, s) + repeated(" ", barW - max(n, vals[k] > 0 ? 1 : 0))
                       + " " + Renderer.fit(texts[k], valueW))
        }
        return out
    }

    /// A column chart of a series in row order (months, weeks): eight lines high, a column per row, the first
    /// and last labels under the axis.
    static func columns(_ t: ResultTable, label li: Int, value vi: Int, _ s: RenderSettings) -> [String] {
        let vals = t.rows.map { max(0, number($0[vi]) ?? 0) }
        guard let hi = vals.max(), hi > 0 else { return [] }
        let height = 8
        let scaleW = displayWidth(Int(hi).grouped)
        let room = max(1, s.width - scaleW - 2)
        // One column per row when they fit (two wide when there is room), else the series is cut to the last ones.
        let colW = vals.count * 2 <= room ? 2 : 1
        let shown = Array(vals.suffix(room / colW)), labels = Array(t.rows.suffix(room / colW).map { Renderer.cell($0[li], s) })
        let eighths = s.ascii ? [" ", ".", ".", ":", ":", "|", "|", "#", "#"] : [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        var out = [""]
        for line in stride(from: height - 1, through: 0, by: -1) {
            let scale = line == height - 1 ? Int(hi).grouped : line == 0 ? "0" : ""
            var row = Renderer.pad(scale, scaleW, right: true) + " " + (s.ascii ? "|" : "│")
            for v in shown {
                let level = v / hi * Double(height * 8)
                let cellLevel = Int((level - Double(line * 8)).rounded())
                let glyph = eighths[min(8, max(0, cellLevel))]
                row += repeated(glyph, colW)
            }
            out.append(Style.bar(row, negative: false, s))
        }
        let axis = repeated(" ", scaleW + 1) + (s.ascii ? "+" : "└") + repeated(s.ascii ? "-" : "─", shown.count * colW)
        out.append(Renderer.fit(axis, s.width))
        if let a = labels.first, let b = labels.last {
            let gap = max(1, shown.count * colW - displayWidth(a) - displayWidth(b))
            out.append(Renderer.fit(repeated(" ", scaleW + 2) + a + (labels.count > 1 ? repeated(" ", gap) + b : ""), s.width))
        }
        return out
    }

    /// The top paths (labels joined by →) as a tree of shared beginnings, with the customers at each branch, so
    /// one sees where journeys split and end.
    static func pathTree(_ t: ResultTable, label li: Int, value vi: Int, _ s: RenderSettings) -> [String] {
        final class Node { var name: String; var n = 0; var children: [Node] = []; init(_ name: String) { self.name = name } }
        let root = Node("")
        let sep = " → "
        for r in t.rows {
            // The rest ("other …") and "(never reached …)" rows are not paths.
            guard case .text(let path) = r[li], !path.hasPrefix("other"), !path.hasPrefix("(") else { continue }
            let n = Int(number(r[vi]) ?? 0)
            var node = root
            root.n += n
            for step in path.components(separatedBy: sep) {
                if let c = node.children.first(where: { $0.name == step }) { node = c } else { let c = Node(step); node.children.append(c); node = c }
                node.n += n
            }
        }
        guard !root.children.isEmpty else { return [] }
        let (branch, last, pipe) = s.ascii ? ("|-- ", "`-- ", "|   ") : ("├─ ", "└─ ", "│  ")
        var out = [""]
        func walk(_ node: Node, _ prefix: String, _ isLast: Bool, _ top: Bool) {
            // A chain with one child each is printed on one line: a → b → c.
            var names = [node.name], tail = node
            while tail.children.count == 1 && tail.children[0].n == tail.n { tail = tail.children[0]; names.append(tail.name) }
            // Journeys whose path ends here (the rest go on along the branches below).
            let ended = tail.n - tail.children.reduce(0) { $0 + $1.n }
            let countText = " (\(node.n.grouped)" + (ended > 0 && !tail.children.isEmpty ? ", \(ended.grouped) end here)" : ")")
            let text = names.joined(separator: s.ascii ? " > " : sep)
            let lead = top ? "" : prefix + (isLast ? last : branch)
            out.append(Renderer.fit(lead + text, max(10, s.width - displayWidth(countText))) + Style.dim(countText, s))
            let kids = tail.children.sorted { $0.n > $1.n }
            for (k, c) in kids.enumerated() { walk(c, top ? "" : prefix + (isLast ? "   " : pipe), k == kids.count - 1, false) }
        }
        for (k, c) in root.children.sorted(by: { $0.n > $1.n }).enumerated() { walk(c, "", k == root.children.count - 1, true) }
        return out
    }

    /// Cohorts as rows and periods as columns, each cell shaded by its share (░▒▓█, or .:#@ in ASCII) with the
    /// percentage beside the shade; the most recent rows that fit.
    static func cohortGrid(_ t: ResultTable, label li: Int, first: Int, _ s: RenderSettings) -> [String] {
        let shades = s.ascii ? [" ", ".", ":", "#", "@"] : [" ", "░", "▒", "▓", "█"]
        let labelW = min(20, s.width / 4, t.rows.map { displayWidth(Renderer.cell($0[li], s)) }.max() ?? 0)
        let cellW = 6
        let cols = max(1, min(t.columns.count - first, (s.width - labelW - 1) / cellW))
        var out = ["", Renderer.pad("", labelW, right: false) + " " + (first..<(first + cols)).map { Renderer.pad(String($0 - first), cellW - 1, right: true) + " " }.joined()]
        for r in t.rows.suffix(24) {
            var line = Renderer.pad(Renderer.fit(Renderer.cell(r[li], s), labelW), labelW, right: false) + " "
            for c in first..<(first + cols) {
                guard case .percent(let p) = r[c], !p.isNaN else { line += repeated(" ", cellW); continue }
                let shade = shades[min(4, Int((p * 4).rounded(.up)))]
                let pct = p >= 0.995 ? "100" : String(format: "%.0f", p * 100)
                line += Style.bar(shade, negative: false, s) + Renderer.pad(pct, cellW - 2, right: true) + " "
            }
            out.append(line)
        }
        if t.rows.count > 24 { out.append("(the \(t.rows.count - 24) older rows are in the table)") }
        return out
    }
}
