import Foundation

extension Int {
    /// `1234567` → `1,234,567`.
    public var grouped: String {
        let s = String(self.magnitude)
        var out = ""
        for (i, ch) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return self < 0 ? "-" + out : out
    }
}

/// `s` as a JSON string literal, quotes included.
public func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// `{"k":"v",...}` from string pairs, in order.
public func jsonObject(_ pairs: [(String, String)]) -> String {
    "{" + pairs.map { jsonQuoted($0.0) + ":" + jsonQuoted($0.1) }.joined(separator: ",") + "}"
}

extension Double {
    /// `1234567.891` → `1,234,567.89` (two decimals, thousands separated).
    public var money: String {
        guard isFinite else { return String(self) }
        let s = String(format: "%.2f", self.magnitude)
        let parts = s.split(separator: ".")
        let whole = Int(parts[0]).map(\.grouped) ?? String(parts[0])
        return (self < 0 && s != "0.00" ? "-" : "") + whole + "." + (parts.count > 1 ? String(parts[1]) : "00")
    }
}
