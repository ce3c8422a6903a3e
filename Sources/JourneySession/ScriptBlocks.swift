import JourneyLanguage

/// A script cut into what a reader sees: comment paragraphs, dot-commands and statements, each with its line.
public enum ScriptBlock: Equatable, Sendable {
    /// Consecutive `--` lines, without the `--` (markdown prose in a report).
    case comment(String, line: Int)
    /// A `.command` line.
    case command(String, line: Int)
    /// One statement, possibly over several lines (complete by the shell's rule).
    case statement(String, line: Int)

    /// Splits `text` the way the shell reads it: a statement ends at `;` or at the end of a line that completes it.
    public static func split(_ text: String) -> [ScriptBlock] {
        var out: [ScriptBlock] = []
        var buffer = "", startLine = 1, lineNo = 0
        var comment: [String] = [], commentLine = 1
        func flushComment() {
            if !comment.isEmpty { out.append(.comment(comment.joined(separator: "\n"), line: commentLine)); comment = [] }
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (k, line) in lines.enumerated() {
            lineNo += 1
            if buffer.isEmpty {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.hasPrefix("--") {
                    if comment.isEmpty { commentLine = lineNo }
                    var body = t.dropFirst(2)
                    if body.hasPrefix(" ") { body = body.dropFirst() }
                    comment.append(String(body))
                    continue
                }
                if t.isEmpty { flushComment(); continue }
                flushComment()
                startLine = lineNo
                if t.hasPrefix(".") { out.append(.command(t, line: lineNo)); continue }
            }
            buffer += (buffer.isEmpty ? "" : "\n") + line
            // A complete statement still goes on when the next line continues it (indented, or a clause keyword).
            if Parser.isComplete(buffer) && !(k + 1 < lines.count && Parser.continues(lines[k + 1]) && !buffer.hasSuffix(";")) {
                out.append(.statement(buffer, line: startLine))
                buffer = ""
            }
        }
        flushComment()
        if !buffer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { out.append(.statement(buffer, line: startLine)) }
        return out
    }
}
