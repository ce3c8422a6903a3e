/// Standardizes categorical values so one thing has one spelling.
///
/// Channels, sources, devices, kinds and stages: trimmed, lower-cased, runs of spaces, `-` and `_` folded into
/// one `_`, then looked up in the store's alias table (`Linked In` → `linked_in` → alias → `linkedin`).
/// Event names and campaigns: trimmed, inner white space folded to one space, case kept.
struct ValueNormalizer {
    var aliases: [String: [String: String]]   // domain → normalized alias → canonical
    private var cache: [String: [String: String]] = [:]

    init(aliases: [String: [String: String]]) { self.aliases = aliases }

    static func key(_ raw: String) -> String {
        var out = ""
        out.reserveCapacity(raw.utf8.count)
        var pendingSep = false
        for ch in raw.lowercased().unicodeScalars {
            if ch == " " || ch == "-" || ch == "_" || ch == "\t" || ch == "\u{A0}" {
                pendingSep = !out.isEmpty
            } else {
                if pendingSep { out.unicodeScalars.append("_"); pendingSep = false }
                out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    static func label(_ raw: String) -> String {
        var out = ""
        var pendingSpace = false
        for ch in raw.unicodeScalars {
            if ch == " " || ch == "\t" || ch == "\u{A0}" || ch == "\n" || ch == "\r" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.unicodeScalars.append(" "); pendingSpace = false }
                out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// The canonical spelling of `raw` in `domain` (memoized: real files repeat a few values millions of times).
    mutating func categorical(_ raw: String, domain: String) -> String {
        if let hit = cache[domain]?[raw] { return hit }
        let k = Self.key(raw)
        let v = aliases[domain]?[k] ?? k
        cache[domain, default: [:]][raw] = v
        return v
    }
}
