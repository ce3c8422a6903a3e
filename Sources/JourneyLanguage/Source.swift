/// A position range in the query text: UTF-8 byte offsets, with the 1-based line and column of the start.
public struct SourceRange: Equatable, Sendable {
    public var start: Int
    public var end: Int
    public var line: Int
    public var column: Int
    public init(start: Int, end: Int, line: Int, column: Int) { self.start = start; self.end = end; self.line = line; self.column = column }
}

/// An error (or note) about the query, printed under its source line with a caret.
public struct Diagnostic: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var range: SourceRange
    public var help: String?
    public init(_ message: String, at range: SourceRange, help: String? = nil) {
        self.message = message; self.range = range; self.help = help
    }
    public var description: String { "\(range.line):\(range.column): \(message)" }

    /// `file:line:col: error: message`, the source line, a caret under the range, and `help:`.
    public func render(source: String, file: String? = nil, lineOffset: Int = 0) -> String {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let lineText = range.line - 1 < lines.count ? String(lines[range.line - 1]) : ""
        let prefix = (file.map { "\($0):" } ?? "") + "\(range.line + lineOffset):\(range.column): "
        let gutter = String(range.line + lineOffset)
        let pad = String(repeating: " ", count: gutter.count)
        // Caret position in display columns (count characters, not bytes).
        let before = String(decoding: Array(lineText.utf8).prefix(max(0, range.column - 1)), as: UTF8.self)
        let width = max(1, String(decoding: Array(lineText.utf8).dropFirst(range.column - 1).prefix(max(1, range.end - range.start)), as: UTF8.self).count)
        var out = "\(prefix)error: \(message)\n"
        out += "\(gutter) | \(lineText)\n"
        out += "\(pad) | \(String(repeating: " ", count: before.count))^\(String(repeating: "~", count: width - 1))"
        if let help { out += "\nhelp: \(help)" }
        return out
    }
}

/// Finds the candidate nearest to `word` when it is close enough to be a typo.
public func suggestion(for word: String, among candidates: [String]) -> String? {
    var best: (String, Int)?
    for c in candidates where !c.isEmpty {
        let d = levenshtein(word.lowercased(), c.lowercased())
        if best == nil || d < best!.1 { best = (c, d) }
    }
    guard let (c, d) = best else { return nil }
    return d <= max(1, min(3, word.count / 3)) ? c : nil
}

func levenshtein(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count { cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)) }
        swap(&prev, &cur)
    }
    return prev[b.count]
}
