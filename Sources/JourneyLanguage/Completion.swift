import JourneyCore

/// Tab completion by grammar position: what may come next after the text before the cursor.
public struct Completer {
    public var stages: [String] = []
    public var events: [String] = []
    public var channels: [String] = []
    public var campaigns: [String] = []
    public var customerAttributes: [String] = []
    public var commands: [String] = []      // ".help", ".mode", …
    /// What a dot-command takes: "mode" → ["table", "csv", …].
    public var commandArguments: [String: [String]] = [:]

    public init() {}

    static let stepStarters: Set<String> = ["funnel", ">", "from", "to", "after", "excluding", "(", "or", "and", "not", "touched", "where", "|", "of", "for", "matching", "then"]
    static let clauses: [String: [String]] = [
        "funnel": ["within", "where", "by", "order", "entry", "excluding", "same", "count", "top", "strictly", "ties"],
        "paths": ["from", "to", "within", "where", "show", "top", "max", "keep", "next", "previous"],
        "time": ["to", "by", "where"], "dropoff": ["to", "where"], "count": ["by", "top", "where"], "revenue": ["by", "top", "where", "count"], "margin": ["by", "top", "where", "count"], "value": ["by", "top", "horizon", "where", "count"], "score": ["won", "within", "limit", "for", "where", "count"], "forecast": ["months", "won", "as", "where", "count"], "leads": ["by", "mql", "sql", "won", "where", "count"], "compare": ["with", "won", "where", "count"], "profile": ["won", "where", "count"], "top": ["where"],
        "pauses": ["resumed", "open", "where", "limit"], "stats": ["where"],
        "retention": ["returning", "every", "periods", "by", "where"], "customers": ["where", "limit"],
        "attribution": ["of", "model", "by", "lookback", "where"], "touchpoints": ["for", "by", "top", "where"],
        "gaps": ["for", "top", "where"],
    ]

    var stepNames: [String] {
        stages + events.filter { !$0.isEmpty }.map { $0.contains(" ") ? "\"\($0)\"" : $0 } + channels.filter { !$0.isEmpty }
            + ["any", "stage:", "event:", "channel:", "kind:", "campaign:", "touched"]
    }

    var fields: [String] {
        ["channel", "stage", "event", "kind", "campaign", "value", "first_contact", "month("]
            + customerAttributes.map { "customer.\($0)" } + ["account.size", "account.industry", "account.name"]
    }

    /// Candidates for the word being typed at the end of `line` (which may be the empty string).
    public func candidates(for line: String) -> [String] {
        // The word being typed ends the line after libedit's word-break characters (so `customer.seg` and
        // `stage:aw` are one word); the tokens before it give the grammar position.
        let breaks: Set<Character> = [" ", "\t", "\n", "\"", "'", ">", "<", "=", ";", "|", "(", ","]
        let partial = String(line.reversed().prefix { !breaks.contains($0) }.reversed())
        let words = Lexer.tokenize(String(line.dropLast(partial.count))).filter { $0.kind != .end }
            .map { $0.kind == .string ? "\"" : $0.text.lowercased() }
        if let colon = partial.firstIndex(of: ":") {
            let qualifier = partial[..<colon].lowercased()
            let names: [String]
            switch qualifier {
            case "stage": names = stages
            case "event": names = events.filter { !$0.isEmpty }
            case "channel": names = channels.filter { !$0.isEmpty }
            case "kind": names = ["paid", "owned", "earned"]
            case "campaign": names = campaigns.filter { !$0.isEmpty }
            default: names = []
            }
            return names.map { "\(qualifier):\($0)" }.filter { $0.lowercased().hasPrefix(partial.lowercased()) }
        }
        let options: [String]
        if words.isEmpty {
            options = Parser.statementKeywords + commands
        } else if words.first == ".", words.count == 2 {
            options = commandArguments[words[1]] ?? []
        } else if words.first == "explain" && words.count == 1 {
            options = Parser.statementKeywords
        } else {
            let statement = words.first == "explain" ? words.dropFirst().first ?? "" : words.first ?? ""
            let prev = words.last ?? ""
            let beforePrev = words.count >= 2 ? words[words.count - 2] : ""
            switch prev {
            case "by" where ["attribution", "touchpoints"].contains(statement): options = ["channel", "event", "kind", "stage"]
            case "by": options = fields
            case "model": options = AttributionQuery.models
            case "show": options = ["event", "channel", "stage", "kind"]
            case "order": options = ["sequential", "strict", "any"]
            case "entry": options = ["first", "best"]
            case "customers" where words.count == 1: options = ["who", "matching"]
            case "count" where statement == "funnel": options = ["customers", "accounts"]
            case "count" where words.count == 1: options = ["customers", "accounts", "events", "matching"]
            case "count": options = ["customers", "accounts", "events"]
            case "top" where statement == "top": options = ["channels", "events", "stages", "kinds", "campaigns"]
            case "keep": options = ["repeats"]
            case "strictly": options = ["later"]
            case "every": options = ["day", "week", "month", "quarter"]
            case "ties": options = ["in"]
            case "in" where beforePrev == "ties": options = ["import"]
            case "import": options = ["order"]
            case "=", "!=", "in", ",":
                let field = prev == "=" || prev == "!=" ? beforePrev : words.last { ["channel", "stage", "event", "kind", "campaign"].contains($0) } ?? ""
                switch field {
                case "channel": options = channels.filter { !$0.isEmpty }
                case "stage": options = stages
                case "event": options = events.filter { !$0.isEmpty }
                case "kind": options = ["paid", "owned", "earned"]
                case "campaign": options = campaigns.filter { !$0.isEmpty }
                default: options = []
                }
            case "stage:": options = stages
            case "event:": options = events.filter { !$0.isEmpty }
            case "channel:": options = channels.filter { !$0.isEmpty }
            case ":" where ["stage", "event", "channel"].contains(beforePrev):
                options = beforePrev == "stage" ? stages : beforePrev == "event" ? events.filter { !$0.isEmpty } : channels.filter { !$0.isEmpty }
            default:
                if Self.stepStarters.contains(prev) || (statement == "time" && prev == "from") {
                    options = stepNames + (prev == "where" ? fields : [])
                } else if statement == "set" || statement == "quality" {
                    options = []
                } else {
                    options = (Self.clauses[statement] ?? []) + (statement == "funnel" ? [">"] : []) + ["and", "or"]
                }
            }
        }
        let p = partial.lowercased()
        var seen = Set<String>()
        return options.filter { $0.lowercased().hasPrefix(p) && seen.insert($0).inserted }
    }
}
