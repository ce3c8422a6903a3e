@_exported import JourneyCore
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
    /// Which kind of error (stable across releases; see `DiagnosticID`).
    public var id: DiagnosticID
    public var message: String
    public var range: SourceRange
    public var help: String?
    public init(_ id: DiagnosticID, _ message: String, at range: SourceRange, help: String? = nil) {
        self.id = id; self.message = message; self.range = range; self.help = help
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
        // A long line (a generated 100 KB statement) is shown as a window around the place, marked with '…'.
        let chars = Array(lineText), col = before.count
        if chars.count > 120 {
            let start = max(0, min(col - 40, chars.count - 120)), end = min(chars.count, start + 120)
            let shown = (start > 0 ? "…" : "") + String(chars[start..<end]) + (end < chars.count ? "…" : "")
            let caret = col - start + (start > 0 ? 1 : 0)
            out += "\(gutter) | \(shown)\n"
            out += "\(pad) | \(String(repeating: " ", count: caret))^\(String(repeating: "~", count: max(0, min(width, end - col) - 1)))"
        } else {
            out += "\(gutter) | \(lineText)\n"
            out += "\(pad) | \(String(repeating: " ", count: before.count))^\(String(repeating: "~", count: width - 1))"
        }
        if let help { out += "\nhelp: \(help)" }
        return out
    }
}

