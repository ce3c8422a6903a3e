/// Recursive-descent parser: one function per node kind, one file per statement family (ParseFunnelPaths, ParseAnalyses,
/// ParsePatterns, ParseClauses). `parseScript` throws the first `Diagnostic`; `parseScriptRecovering` reads on.
public struct Parser {
    public static let statementKeywords = ["funnel", "paths", "time", "dropoff", "stats", "quality", "count", "top",
                                           "pauses", "customers", "accounts", "attribution", "touchpoints", "gaps", "retention", "revenue", "margin", "value", "score", "forecast", "leads", "compare", "profile", "explain", "set"]
    /// Words that end a step or filter expression inside a statement.
    static let clauseWords: Set<String> = ["within", "where", "by", "order", "entry", "excluding", "same", "count", "top", "strictly", "ties",
                                          "show", "max", "keep", "to", "from", "next", "previous", "at", "limit", "then",
                                          "resumed", "open", "limit", "lookback", "model", "returning", "every", "periods", "of", "for", "matching",
                                          "mql", "sql", "won", "with", "horizon", "months", "as"]

    var tokens: [Token]
    var pos = 0
    let params: [String: Literal]

    public init(_ source: String, params: [String: Literal] = [:]) {
        tokens = Lexer.tokenize(source)
        self.params = params
    }

    /// Parses one statement (a trailing `;` is allowed).
    public static func parse(_ source: String, params: [String: Literal] = [:]) throws -> Statement {
        var p = Parser(source, params: params)
        return try p.parseScript().first ?? { throw Diagnostic(.emptyStatement, "empty statement", at: p.peek.range) }()
    }

    /// True when `source` holds a whole statement (or a clear error), false when it stops mid-statement
    /// — the shell's continuation rule.
    public static func isComplete(_ source: String) -> Bool {
        let toks = Lexer.tokenize(source)
        if toks.count == 1 { return true }
        if toks.count >= 2, toks[toks.count - 2].text == ";", toks[toks.count - 2].kind == .symbol { return true }
        do { _ = try parse(source); return true } catch let d as Diagnostic {
            // An error before the end is complete (show it); one at the end wants more input.
            return d.range.start < (toks.last?.range.start ?? 0)
        } catch { return true }
    }

    /// Whether `line` continues the statement before it, though that one was complete: an indented line, or one
    /// that starts with a clause keyword (`within`, `where`, `and`, `>` …) rather than a statement keyword.
    /// `count` and `top` start statements too, so only an indented `count accounts` continues a funnel.
    public static func continues(_ line: String) -> Bool {
        guard let first = line.first, !line.trimmingCharacters(in: .whitespaces).isEmpty else { return false }
        let text = line.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("--") || text.hasPrefix(".") || text.hasPrefix(";") { return false }
        if first == " " || first == "\t" { return true }
        if text.hasPrefix(">") || text.hasPrefix("|") { return true }
        let word = String(text.prefix { $0.isLetter || $0 == "_" }).lowercased()
        return (clauseWords.contains(word) || ["and", "or", "excluding", "between"].contains(word)) && !statementKeywords.contains(word)
    }

    /// Statements separated by `;`.
    public mutating func parseScript() throws -> [Statement] {
        var out: [Statement] = []
        while true {
            while peek.text == ";" && peek.kind == .symbol { pos += 1 }
            if peek.kind == .end { return out }
            var statement = peek.text.lowercased()
            if statement == "explain", pos + 1 < tokens.count { statement = tokens[pos + 1].text.lowercased() }
            out.append(try parseStatement())
            if peek.kind != .end {
                guard peek.text == ";" && peek.kind == .symbol else {
                    throw Diagnostic(.unexpectedAfterStatement, "unexpected '\(peek.text)' after the end of the statement", at: peek.range,
                                     help: clauseHelp(peek.text, in: statement))
                }
            }
        }
    }

    /// Statements separated by `;`, reading on after an error: a statement that fails is skipped up to the next
    /// `;`, so one pass reports every error in a script (as compilers recover at the next declaration).
    public mutating func parseScriptRecovering() -> (statements: [Statement], errors: [Diagnostic]) {
        var out: [Statement] = [], errors: [Diagnostic] = []
        while true {
            while peek.text == ";" && peek.kind == .symbol { pos += 1 }
            if peek.kind == .end { return (out, errors) }
            let start = pos
            var statement = peek.text.lowercased()
            if statement == "explain", pos + 1 < tokens.count { statement = tokens[pos + 1].text.lowercased() }
            do {
                let st = try parseStatement()
                if peek.kind != .end && !(peek.text == ";" && peek.kind == .symbol) {
                    throw Diagnostic(.unexpectedAfterStatement, "unexpected '\(peek.text)' after the end of the statement", at: peek.range,
                                     help: clauseHelp(peek.text, in: statement))
                }
                out.append(st)
            } catch let d as Diagnostic {
                errors.append(d)
                pos = max(pos, start)
                while peek.kind != .end && !(peek.text == ";" && peek.kind == .symbol) { pos += 1 }
            } catch {
                return (out, errors)
            }
        }
    }

    // MARK: Token helpers

    var peek: Token { tokens[pos] }
    func peek(_ k: Int) -> Token { tokens[min(pos + k, tokens.count - 1)] }

    mutating func advance() -> Token {
        let t = tokens[pos]
        if pos < tokens.count - 1 { pos += 1 }
        return t
    }

    func isWord(_ w: String) -> Bool { peek.kind == .word && peek.text.lowercased() == w }
    func isSymbol(_ s: String) -> Bool { peek.kind == .symbol && peek.text == s }

    mutating func accept(_ w: String) -> Bool {
        if isWord(w) { pos += 1; return true }
        return false
    }

    mutating func acceptSymbol(_ s: String) -> Bool {
        if isSymbol(s) { pos += 1; return true }
        return false
    }

    func error(_ expected: String) -> Diagnostic {
        let t = peek
        if t.kind == .illegal { return Diagnostic(.illegalToken, t.text, at: t.range) }
        if t.kind == .param {
            // A parameter of the wrong kind: say what it holds and where it came from, not its name.
            guard let v = params[t.text] else {
                return Diagnostic(.unknownParameter, "unknown parameter '$\(t.text)'", at: t.range,
                                  help: suggestion(for: t.text, among: Array(params.keys)).map { "did you mean '$\($0)'?" }
                                    ?? "define it with: set \(t.text) = VALUE (or --param \(t.text)=VALUE)")
            }
            return Diagnostic(.parameterKind, "expected \(expected), but $\(t.text) is '\(v.display)'", at: t.range,
                              help: "give it another value: --param \(t.text)=… or set \(t.text) = …")
        }
        if t.kind == .end { return Diagnostic(.expected, "expected \(expected), but the statement ended", at: t.range) }
        return Diagnostic(.expected, "expected \(expected), found '\(t.text)'", at: t.range)
    }

    mutating func expectWord(_ w: String, after: String) throws {
        if accept(w) { return }
        if peek.kind == .word, let s = suggestion(for: peek.text, among: [w]) {
            throw Diagnostic(.expected, "expected '\(w)' after \(after), found '\(peek.text)'", at: peek.range, help: "did you mean '\(s)'?")
        }
        throw error("'\(w)' after \(after)")
    }

    mutating func expectInt(_ what: String) throws -> Int {
        if peek.kind == .param, case .number(let d)? = params[peek.text] { _ = advance(); return Int(d) }
        guard peek.kind == .number, let v = Int(peek.text), v >= 0 else { throw error(what) }
        _ = advance()
        return v
    }

    /// Help for a word after a complete statement: a misspelled clause of this statement (did you mean), or a
    /// clause of another statement (this one's clauses listed).
    func clauseHelp(_ word: String, in statement: String) -> String? {
        let own = Completer.clauses[statement] ?? []
        if own.contains(word.lowercased()) { return "'\(word)' is given twice, or where it cannot stand (see .help \(statement))" }
        if let s = suggestion(for: word, among: own) { return "did you mean '\(s)'?" }
        let all = Set(Completer.clauses.values.flatMap { $0 })
        if all.contains(word.lowercased()) {
            return "'\(word)' is not a clause of \(statement)" + (own.isEmpty ? " (see .help)" : "; its clauses: \(own.joined(separator: ", "))")
        }
        return suggestion(for: word, among: Array(all)).map { "did you mean '\($0)'?" }
    }

    // MARK: Statements

    /// A statement, and its unit: `… count accounts` after time, paths, dropoff, pauses, retention, attribution, revenue,
    /// touchpoints, gaps or a pattern runs it at account level (the funnel keeps its own `count` clause).
    mutating func parseStatement() throws -> Statement {
        // `count accounts|customers` may stand anywhere among these statements' clauses: taken out of the
        // tokens before the statement is parsed.
        var unit: String?
        let countMatching = peek.text.lowercased() == "count" && peek(1).text.lowercased() == "matching"
        if countMatching || ["time", "paths", "dropoff", "pauses", "retention", "attribution", "touchpoints", "gaps", "customers", "revenue", "margin", "value", "score", "forecast", "leads", "compare", "profile"].contains(peek.text.lowercased()) {
            var k = pos + 1
            while k + 1 < tokens.count, tokens[k].kind != .end, !(tokens[k].kind == .symbol && tokens[k].text == ";") {
                if tokens[k].kind == .word, tokens[k].text.lowercased() == "count", tokens[k + 1].kind == .word,
                   ["accounts", "customers"].contains(tokens[k + 1].text.lowercased()) {
                    unit = tokens[k + 1].text.lowercased()
                    tokens.removeSubrange(k...(k + 1))
                    break
                }
                k += 1
            }
        }
        let st = try parseStatementBody()
        return unit == "accounts" ? .accounts(st) : st
    }

    /// `by`, `where` and `top N` in any order (count, revenue); `top` needs a `by`.
    mutating func parseGroupClauses(_ statement: String, help: String) throws -> (Breakdown?, Expr?, Int?) {
        var by: Breakdown?, filter: Expr?, top: Int?
        while true {
            if let w = try parseWhere() { filter = w; continue }
            if isWord("by") { by = try parseBy(after: by); continue }
            if isWord("top") && peek(1).kind != .word {
                let at = advance().range
                guard by != nil else { throw Diagnostic(.topWithoutGroups, "'top N' keeps the largest groups of a 'by'; this \(statement) has none", at: at, help: help) }
                top = try expectInt("a number after 'top'"); continue
            }
            break
        }
        return (by, filter, top)
    }

    mutating func parseStatementBody() throws -> Statement {
        let t = peek
        guard t.kind == .word else {
            if t.kind == .illegal { throw Diagnostic(.illegalToken, t.text, at: t.range) }
            throw Diagnostic(.expected, "expected a statement such as 'funnel', 'paths' or 'stats', found '\(t.text)'", at: t.range,
                             help: "type .help for the list of statements")
        }
        switch t.text.lowercased() {
        case "funnel": _ = advance(); return .funnel(try parseFunnel())
        case "paths": _ = advance(); return .paths(try parsePaths())
        case "stats": _ = advance(); return .stats(filter: try parseWhere())
        case "quality": _ = advance(); return .quality
        case "time":
            _ = advance()
            try expectWord("from", after: "'time'")
            let from = try parseStepExpr()
            try expectWord("to", after: "the first step")
            let to = try parseStepExpr()
            var by: Breakdown?, filter: Expr?
            while true {
                if let w = try parseWhere() { filter = w; continue }
                if isWord("by") { by = try parseBy(after: by); continue }
                break
            }
            return .time(from: from, to: to, by: by, filter: filter)
        case "dropoff":
            _ = advance()
            try expectWord("after", after: "'dropoff'")
            let after = try parseStepExpr()
            var next: Expr?
            if accept("to") { next = try parseStepExpr() }
            return .dropoff(after: after, next: next, filter: try parseWhere())
        case "count" where peek(1).text.lowercased() == "matching":
            _ = advance(); _ = advance()
            return .matching(try parseMatchQuery(count: true))
        case "count":
            _ = advance()
            var unit = "customers"
            if peek.kind == .word, ["customers", "accounts", "events"].contains(peek.text.lowercased()) { unit = advance().text.lowercased() }
            else if peek.kind == .word, let s = suggestion(for: peek.text, among: ["customers", "accounts", "events"]) {
                throw Diagnostic(.expected, "expected customers, accounts or events after 'count', found '\(peek.text)'", at: peek.range, help: "did you mean '\(s)'?")
            }
            let (by, filter, top) = try parseGroupClauses("count", help: "add 'by FIELD', or use 'top N channels|events|…'")
            return .count(unit: unit, by: by, filter: filter, top: top)
        case "profile":
            _ = advance()
            var won: Token?, filter: Expr?
            while true {
                if let w = try parseWhere() { filter = w; continue }
                if accept("won") {
                    guard peek.kind == .word || peek.kind == .string else { throw error("a stage after 'won'") }
                    won = advance(); continue
                }
                break
            }
            return .profile(won: won, filter: filter)
        case "compare":
            _ = advance()
            if peek.kind == .end { throw error("a segment after 'compare' (e.g. customer.segment = smb)") }
            let a = try parseOr(inFunnel: false)
            try expectWord("with", after: "the first segment")
            if peek.kind == .end { throw error("a segment after 'with'") }
            var q = CompareQuery(a: a, b: try parseOr(inFunnel: false))
            while true {
                if let w = try parseWhere() { q.filter = w; continue }
                if accept("won") {
                    guard peek.kind == .word || peek.kind == .string else { throw error("a stage after 'won'") }
                    q.won = advance(); continue
                }
                break
            }
            return .compare(q)
        case "leads":
            _ = advance()
            var q = LeadsQuery()
            while true {
                if let w = try parseWhere() { q.filter = w; continue }
                if isWord("by") { q.by = try parseBy(after: q.by); continue }
                if let which = ["mql", "sql", "won"].first(where: { isWord($0) }) {
                    _ = advance()
                    guard peek.kind == .word || peek.kind == .string else { throw error("a stage after '\(which)'") }
                    let stage = advance()
                    switch which { case "mql": q.mql = stage; case "sql": q.sql = stage; default: q.won = stage }
                    continue
                }
                break
            }
            return .leads(q)
        case "revenue":
            _ = advance()
            let (by, filter, top) = try parseGroupClauses("revenue", help: "add 'by FIELD'")
            return .revenue(by: by, filter: filter, top: top)
        case "value": _ = advance(); return .value(try parseValue(allowGroups: true))
        case "score": _ = advance(); return .score(try parseScore())
        case "forecast": _ = advance(); return .forecast(try parseForecast())
        case "margin":
            _ = advance()
            let (by, filter, top) = try parseGroupClauses("margin", help: "add 'by FIELD'")
            return .margin(by: by, filter: filter, top: top)
        case "top":
            _ = advance()
            var n = 10
            if peek.kind == .number || peek.kind == .param { n = try expectInt("a number") }
            let kinds: [String: PathShow] = ["channels": .channel, "events": .event, "stages": .stage, "kinds": .kind,
                                             "touchpoints": .event, "campaigns": .event]
            guard peek.kind == .word, let what = kinds[peek.text.lowercased()] else {
                let s = peek.kind == .word ? suggestion(for: peek.text, among: Array(kinds.keys)) : nil
                throw Diagnostic(.expected, peek.kind == .end ? "expected channels, events, stages, kinds or campaigns after 'top', but the statement ended"
                                 : "expected channels, events, stages, kinds or campaigns after 'top', found '\(peek.text)'",
                                 at: peek.range, help: s.map { "did you mean '\($0)'?" })
            }
            let campaign = advance().text.lowercased() == "campaigns"
            if peek.kind == .number { n = try expectInt("a number") }
            return .top(what: what, n: n, filter: try parseWhere(), campaign: campaign)
        case "pauses":
            _ = advance()
            try expectWord("longer", after: "'pauses'")
            try expectWord("than", after: "'longer'")
            let d = try parseDuration()
            var which: String?, filter: Expr?, limit: Int?
            while true {
                if which == nil && (isWord("resumed") || isWord("open")) { which = advance().text.lowercased(); continue }
                if let w = try parseWhere() { filter = w; continue }
                if accept("limit") { limit = try expectInt("a number after 'limit'"); continue }
                break
            }
            return .pauses(longer: d, which: which, filter: filter, limit: limit)
        case "customers" where peek(1).text.lowercased() == "matching":
            _ = advance(); _ = advance()
            return .matching(try parseMatchQuery(count: false))
        case "customers" where peek(1).text.lowercased() == "by" && peek(2).text.lowercased() == "value":
            _ = advance(); _ = advance(); _ = advance()
            var q = try parseValue(allowGroups: false)
            q.list = true
            return .value(q)
        case "customers": _ = advance(); return .customers(try parseCustomers())
        case "accounts" where peek(1).text.lowercased() == "who": _ = advance(); return .accounts(.customers(try parseCustomers()))
        case "attribution": _ = advance(); return .attribution(try parseAttribution())
        case "touchpoints": _ = advance(); return .touchpoints(try parseRelevance(allowBy: true))
        case "gaps": _ = advance(); return .gaps(try parseRelevance(allowBy: false))
        case "retention": _ = advance(); return .retention(try parseRetention())
        case "explain":
            _ = advance()
            if peek.kind == .end { throw error("a statement to explain") }
            if isWord("sql") && peek(1).kind != .end && peek(1).text != ";" { _ = advance(); return .explainSQL(try parseStatement()) }
            return .explain(try parseStatement())
        case "set":
            _ = advance()
            guard peek.kind == .word else { throw error("a parameter name after 'set'") }
            let name = advance().text
            guard acceptSymbol("=") else { throw error("'=' after the parameter name") }
            return .set(name: name, value: try parseLiteral())
        default:
            let s = suggestion(for: t.text, among: Self.statementKeywords)
            throw Diagnostic(.unknownStatement, "unknown statement '\(t.text)'", at: t.range,
                             help: s.map { "did you mean '\($0)'?" } ?? "statements: \(Self.statementKeywords.joined(separator: ", "))")
        }
    }
}
