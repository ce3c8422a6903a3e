/// Literals for ClickHouse SQL, escaped on the client (18.16 has no query parameters). Every name and value that
/// reaches a query goes through here: text as a single-quoted literal with `\` and `'` escaped and control bytes
/// as `\xNN`; numbers as numbers; identifiers only from a fixed set journey chose itself.
public enum SQL {
    /// A string literal: `'it\'s'`. Bytes that are not printable ASCII are written as `\xNN` escapes, so the
    /// query text is plain ASCII whatever the value holds (quotes, backslashes, `'; DROP TABLE`, invalid UTF-8).
    public static func string(_ s: String) -> String { bytes(Array(s.utf8)) }

    public static func bytes(_ b: [UInt8]) -> String {
        var out = "'"
        for c in b {
            switch c {
            case UInt8(ascii: "'"): out += "\\'"
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(c))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "\\x" + String(hex[Int(c >> 4)]) + String(hex[Int(c & 15)])
            }
        }
        return out + "'"
    }

    /// A number literal (finite; NaN and infinities as ClickHouse spells them).
    public static func number(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    /// A list of unsigned codes for `IN (…)`.
    public static func codes(_ c: [Int]) -> String { "(" + c.map(String.init).joined(separator: ", ") + ")" }

    /// One TabSeparated field: `\`, tab, newline escaped (for INSERT bodies).
    public static func tsv(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// The reverse of `tsv`, for answers.
    public static func unescapeTSV(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = "", escaped = false
        for ch in s.unicodeScalars {
            if escaped {
                switch ch {
                case "t": out += "\t"
                case "n": out += "\n"
                case "r": out += "\r"
                case "0": out += "\0"
                case "b": out += "\u{8}"
                case "f": out += "\u{C}"
                default: out.unicodeScalars.append(ch)
                }
                escaped = false
            } else if ch == "\\" { escaped = true } else { out.unicodeScalars.append(ch) }
        }
        return out
    }
}
