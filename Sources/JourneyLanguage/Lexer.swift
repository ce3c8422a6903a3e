/// A token of the journey language. The lexer never throws: bad input becomes `.illegal` with its message.
public struct Token: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case word            // identifiers and keywords (keywords are soft: the parser decides)
        case string          // 'text' or "text" (value holds the unquoted text)
        case number
        case duration        // 30d, 12h, 6mo (value holds the text)
        case date            // 2024-03-01
        case param           // $name
        case symbol          // > >= < <= = != ~ ( ) , : ; . ? * + | { } -
        case illegal
        case end
    }
    public var kind: Kind
    public var text: String
    public var range: SourceRange
}

public enum Lexer {
    static let durationUnits = ["s", "m", "h", "d", "w", "mo"]

    public static func tokenize(_ source: String) -> [Token] {
        let b = Array(source.utf8)
        var tokens: [Token] = []
        var i = 0, line = 1, lineStart = 0
        // Columns in characters from the line start, counted on from the previous token (tokens come in order),
        // so a long line costs linear time, not quadratic.
        var counted = 0, countedChars = 0
        func range(_ s: Int, _ e: Int) -> SourceRange {
            if counted < lineStart || counted > s { counted = lineStart; countedChars = 0 }
            countedChars += String(decoding: b[counted..<s], as: UTF8.self).count
            counted = s
            return SourceRange(start: s, end: e, line: line, column: countedChars + 1)
        }
        func text(_ s: Int, _ e: Int) -> String { String(decoding: b[s..<e], as: UTF8.self) }
        func isIdentStart(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c >= 0x80 }
        func isIdent(_ c: UInt8) -> Bool { isIdentStart(c) || (c >= 48 && c <= 57) }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        while i < b.count {
            let c = b[i]
            if c == 10 { i += 1; line += 1; lineStart = i; continue }
            if c == 32 || c == 9 || c == 13 { i += 1; continue }
            if c == 45 && i + 1 < b.count && b[i + 1] == 45 {  // -- comment
                while i < b.count && b[i] != 10 { i += 1 }
                continue
            }
            let s = i
            if isIdentStart(c) {
                while i < b.count && isIdent(b[i]) { i += 1 }
                tokens.append(Token(kind: .word, text: text(s, i), range: range(s, i)))
                continue
            }
            if isDigit(c) {
                while i < b.count && isDigit(b[i]) { i += 1 }
                // A date: 2024-03-01
                if i - s == 4, i + 6 <= b.count, b[i] == 45, isDigit(b[i + 1]), isDigit(b[i + 2]), b[i + 3] == 45, isDigit(b[i + 4]), isDigit(b[i + 5]) {
                    i += 6
                    tokens.append(Token(kind: .date, text: text(s, i), range: range(s, i)))
                    continue
                }
                if i < b.count && b[i] == 46 && i + 1 < b.count && isDigit(b[i + 1]) {
                    i += 1
                    while i < b.count && isDigit(b[i]) { i += 1 }
                }
                if i < b.count && isIdentStart(b[i]) {
                    let us = i
                    while i < b.count && isIdent(b[i]) { i += 1 }
                    let unit = text(us, i)
                    if !text(s, us).contains("."), unit.contains("_") {
                        // A name that starts with digits, like the campaign 2024_q4_display: a word, not a duration.
                        tokens.append(Token(kind: .word, text: text(s, i), range: range(s, i)))
                    } else if durationUnits.contains(unit) {
                        tokens.append(Token(kind: .duration, text: text(s, i), range: range(s, i)))
                    } else {
                        tokens.append(Token(kind: .illegal, text: "unknown duration unit '\(unit)' (use s, m, h, d, w or mo)", range: range(s, i)))
                    }
                    continue
                }
                tokens.append(Token(kind: .number, text: text(s, i), range: range(s, i)))
                continue
            }
            if c == 39 || c == 34 {  // quoted string; a doubled quote escapes
                i += 1
                var bytes: [UInt8] = []
                var closed = false
                while i < b.count {
                    if b[i] == c {
                        if i + 1 < b.count && b[i + 1] == c { bytes.append(c); i += 2; continue }
                        i += 1; closed = true; break
                    }
                    if b[i] == 10 { break }
                    bytes.append(b[i]); i += 1
                }
                if closed {
                    tokens.append(Token(kind: .string, text: String(decoding: bytes, as: UTF8.self), range: range(s, i)))
                } else {
                    tokens.append(Token(kind: .illegal, text: "unterminated string: add the closing \(c == 39 ? "'" : "\"")", range: range(s, i)))
                }
                continue
            }
            if c == 36 {  // $param
                i += 1
                while i < b.count && isIdent(b[i]) { i += 1 }
                if i - s == 1 {
                    tokens.append(Token(kind: .illegal, text: "expected a parameter name after '$'", range: range(s, i)))
                } else {
                    tokens.append(Token(kind: .param, text: text(s + 1, i), range: range(s, i)))
                }
                continue
            }
            let two = i + 1 < b.count ? text(i, i + 2) : ""
            if [">=", "<=", "!=", "<>"].contains(two) {
                i += 2
                tokens.append(Token(kind: .symbol, text: two == "<>" ? "!=" : two, range: range(s, i)))
                continue
            }
            if let sym = ">=<~(),:;.?*+|{}-".utf8.first(where: { $0 == c }) {
                i += 1
                tokens.append(Token(kind: .symbol, text: String(UnicodeScalar(sym)), range: range(s, i)))
                continue
            }
            // Anything else: one illegal character (a whole UTF-8 sequence).
            i += 1
            while i < b.count && b[i] & 0xC0 == 0x80 { i += 1 }
            tokens.append(Token(kind: .illegal, text: "unexpected character '\(text(s, i))'", range: range(s, i)))
        }
        // The end stands right after the last token, not after trailing blank lines: "the statement ended" points
        // where the statement stopped (as swift-syntax puts a missing node after the previous token).
        if let last = tokens.last?.range {
            let col = last.column + String(decoding: b[last.start..<last.end], as: UTF8.self).count
            tokens.append(Token(kind: .end, text: "", range: SourceRange(start: last.end, end: last.end, line: last.line, column: col)))
        } else {
            tokens.append(Token(kind: .end, text: "", range: range(b.count, b.count)))
        }
        return tokens
    }
}
