/// Recursive-descent parser: one function per node kind. Throws the first `Diagnostic`.
public struct Parser {
    public static let statementKeywords = ["funnel", "paths", "time", "dropoff", "stats", "quality", "count", "top",
                                           "pauses", "customers", "accounts", "attribution", "touchpoints", "gaps", "retention", "explain", "set"]
    /// Words that end a step or filter expression inside a statement.
    static let clauseWords: Set<String> = ["within", "where", "by", "order", "entry", "excluding", "same", "count", "top", "strictly", "ties",
                                          "show", "max", "keep", "to", "from", "next", "previous", "at", "limit", "then",
                                          "resumed", "open", "limit", "lookback", "model", "returning", "every", "periods", "of", "for", "matching"]

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

    /// A statement, and its unit: `… count accounts` after time, paths, dropoff, pauses, retention, attribution,
    /// touchpoints, gaps or a pattern runs it at account level (the funnel keeps its own `count` clause).
    mutating func parseStatement() throws -> Statement {
        // `count accounts|customers` may stand anywhere among these statements' clauses: taken out of the
        // tokens before the statement is parsed.
        var unit: String?
        let countMatching = peek.text.lowercased() == "count" && peek(1).text.lowercased() == "matching"
        if countMatching || ["time", "paths", "dropoff", "pauses", "retention", "attribution", "touchpoints", "gaps", "customers"].contains(peek.text.lowercased()) {
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
            var by: Breakdown?, filter: Expr?, top: Int?
            while true {
                if let w = try parseWhere() { filter = w; continue }
                if isWord("by") { by = try parseBy(after: by); continue }
                if isWord("top") && peek(1).kind != .word {
                    let at = advance().range
                    guard by != nil else { throw Diagnostic(.topWithoutGroups, "'top N' keeps the largest groups of a 'by'; this count has none", at: at, help: "add 'by FIELD', or use 'top N channels|events|…'") }
                    top = try expectInt("a number after 'top'"); continue
                }
                break
            }
            return .count(unit: unit, by: by, filter: filter, top: top)
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
        case "customers": _ = advance(); return .customers(try parseCustomers())
        case "accounts" where peek(1).text.lowercased() == "who": _ = advance(); return .accounts(.customers(try parseCustomers()))
        case "attribution": _ = advance(); return .attribution(try parseAttribution())
        case "touchpoints": _ = advance(); return .touchpoints(try parseRelevance(allowBy: true))
        case "gaps": _ = advance(); return .gaps(try parseRelevance(allowBy: false))
        case "retention": _ = advance(); return .retention(try parseRetention())
        case "explain":
            _ = advance()
            if peek.kind == .end { throw error("a statement to explain") }
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

    mutating func parseCustomers() throws -> CustomersQuery {
        try expectWord("who", after: "'customers'")
        var q = CustomersQuery(conditions: [])
        repeat {
            if accept("no") {
                try expectWord("touch", after: "'no'")
                try expectWord("for", after: "'no touch'")
                q.conditions.append(.silentFor(try parseDuration()))
            } else {
                let negated = accept("not")
                guard accept("reached") || accept("touched") else { throw error("'reached STEP', 'not reached STEP' or 'no touch for D'") }
                q.conditions.append(.reached(try parseStepExpr(), negated: negated))
            }
        } while accept("and")
        while true {
            if let w = try parseWhere() { q.filter = w; continue }
            if accept("limit") { q.limit = max(1, try expectInt("a number after 'limit'")); continue }
            break
        }
        return q
    }

    mutating func parseAttribution() throws -> AttributionQuery {
        var q = AttributionQuery()
        while true {
            if accept("of") { q.conversion = try parseStepExpr(); continue }
            if accept("model") {
                guard peek.kind == .word, AttributionQuery.models.contains(peek.text.lowercased()) else {
                    let s = peek.kind == .word ? suggestion(for: peek.text, among: AttributionQuery.models) : nil
                    throw Diagnostic(.unknownModel, peek.kind == .end ? "expected a model after 'model', but the statement ended" : "unknown attribution model '\(peek.text)'",
                                     at: peek.range, help: s.map { "did you mean '\($0)'?" } ?? "models: \(AttributionQuery.models.joined(separator: ", "))")
                }
                q.model = advance().text.lowercased()
                if q.model == "time_decay" && accept("half_life") { q.halfLife = try parseDuration() }
                if q.model == "markov" && accept("order") {
                    let t = peek
                    let n = try expectInt("an order from 1 to 3")
                    guard (1...3).contains(n) else { throw Diagnostic(.markovOrder, "a Markov order is 1, 2 or 3", at: t.range) }
                    q.order = n
                }
                if q.model == "position" && peek.kind == .number {
                    let t = peek
                    let parts = [try expectInt("a first-touch share"), try expectInt("a middle share"), try expectInt("a last-touch share")]
                    guard parts.reduce(0, +) == 100 else { throw Diagnostic(.positionShares, "position shares must add up to 100 (e.g. 40 20 40)", at: t.range) }
                    q.position = parts
                }
                continue
            }
            if isWord("by") { q.by = try parseBy(after: q.by); continue }
            if accept("lookback") { q.lookback = try parseDuration(); continue }
            if let w = try parseWhere() { q.filter = w; continue }
            break
        }
        return q
    }

    // MARK: Patterns

    mutating func parseMatchQuery(count: Bool) throws -> MatchQuery {
        if peek.kind == .end { throw error("a pattern after 'matching' (e.g. awareness any* webinar+ any* conversion)") }
        var q = MatchQuery(pattern: try parsePattern(), count: count)
        while true {
            if accept("within") { q.within = try parseDuration(); continue }
            if let w = try parseWhere() { q.filter = w; continue }
            if count && isWord("by") { q.by = try parseBy(after: q.by); continue }
            if !count && accept("limit") { q.limit = max(1, try expectInt("a number after 'limit'")); continue }
            break
        }
        return q
    }

    /// pattern = alternatives { "then" alternatives [ "within" DURATION ] }
    mutating func parsePattern() throws -> Pattern {
        var p = try parseAlternatives()
        while accept("then") {
            let q = try parseAlternatives()
            var w: TimeSpan?
            // `within` right after a `then` part bounds that gap; put the whole pattern in ( ) to bound all of it.
            if accept("within") { w = try parseDuration() }
            p = .then(p, q, within: w)
        }
        return p
    }

    mutating func parseAlternatives() throws -> Pattern {
        var parts = [try parseSequence()]
        while acceptSymbol("|") { parts.append(try parseSequence()) }
        return parts.count == 1 ? parts[0] : .alternation(parts)
    }

    func startsPatternItem() -> Bool {
        let t = peek
        if t.kind == .string { return true }
        if t.kind == .symbol { return t.text == "(" }
        guard t.kind == .word else { return false }
        let w = t.text.lowercased()
        return !(Self.clauseWords.contains(w) || ["and", "or", "then", "limit"].contains(w))
    }

    mutating func parseSequence() throws -> Pattern {
        var items = [try parsePatternItem()]
        while startsPatternItem() { items.append(try parsePatternItem()) }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    mutating func parsePatternItem() throws -> Pattern {
        var atom: Pattern
        let t = peek
        if acceptSymbol("(") {
            atom = try parsePattern()
            guard acceptSymbol(")") else { throw error("')' to close the '(' at \(t.range.line):\(t.range.column)") }
        } else {
            if !startsPatternItem() { throw error("a step of the pattern (a stage, event or channel name, any, or '(')") }
            // One event: a predicate; `and` / `or` combine predicates on that same event.
            var e = try parseNot(inFunnel: false)
            while isWord("and") || isWord("or") {
                let or = advance().text.lowercased() == "or"
                let rhs = try parseNot(inFunnel: false)
                e = or ? .or(e, rhs) : .and(e, rhs)
            }
            atom = .step(e)
        }
        while true {
            if acceptSymbol("?") { atom = .repetition(atom, min: 0, max: 1); continue }
            if acceptSymbol("*") { atom = .repetition(atom, min: 0, max: nil); continue }
            if acceptSymbol("+") { atom = .repetition(atom, min: 1, max: nil); continue }
            if isSymbol("{") {
                let open = advance()
                let m = try expectInt("a count after '{'")
                var n: Int? = m
                if acceptSymbol(",") { n = peek.kind == .number ? try expectInt("a count") : nil }
                guard acceptSymbol("}") else { throw error("'}' to close the '{' at \(open.range.line):\(open.range.column)") }
                if let n, n < m { throw Diagnostic(.repetitionBounds, "a repetition {m,n} needs m ≤ n", at: open.range) }
                if m > 100 || (n ?? 0) > 100 { throw Diagnostic(.repetitionBounds, "a repetition count is at most 100", at: open.range) }
                atom = .repetition(atom, min: m, max: n)
                continue
            }
            break
        }
        return atom
    }

    mutating func parseRelevance(allowBy: Bool) throws -> RelevanceQuery {
        var q = RelevanceQuery()
        while true {
            if accept("for") { q.conversion = try parseStepExpr(); continue }
            if allowBy && accept("by") {
                let dims: [String: PathShow] = ["event": .event, "touchpoint": .event, "channel": .channel, "kind": .kind, "stage": .stage]
                guard peek.kind == .word, let d = dims[peek.text.lowercased()] else {
                    let s = peek.kind == .word ? suggestion(for: peek.text, among: Array(dims.keys)) : nil
                    throw Diagnostic(.expected, peek.kind == .end ? "expected event, channel, kind or stage after 'by', but the statement ended"
                                     : "touchpoints are ranked by event, channel, kind or stage, not '\(peek.text)'",
                                     at: peek.range, help: s.map { "did you mean '\($0)'?" })
                }
                _ = advance(); q.by = d; continue
            }
            if accept("top") { q.top = max(1, try expectInt("a number after 'top'")); continue }
            if let w = try parseWhere() { q.filter = w; continue }
            break
        }
        return q
    }

    mutating func parseRetention() throws -> RetentionQuery {
        try expectWord("from", after: "'retention'")
        var q = RetentionQuery(start: try parseStepExpr())
        while true {
            if accept("returning") { q.returning = try parseStepExpr(); continue }
            if accept("every") {
                guard peek.kind == .word, ["day", "week", "month", "quarter"].contains(peek.text.lowercased()) else {
                    let s = peek.kind == .word ? suggestion(for: peek.text, among: ["day", "week", "month", "quarter"]) : nil
                    throw Diagnostic(.expected, peek.kind == .end ? "expected day, week, month or quarter after 'every', but the statement ended"
                                     : "expected day, week, month or quarter after 'every', found '\(peek.text)'", at: peek.range, help: s.map { "did you mean '\($0)'?" })
                }
                q.period = advance().text.lowercased(); continue
            }
            if accept("periods") { q.periods = max(1, try expectInt("a number after 'periods'")); continue }
            if isWord("by") { q.by = try parseBy(after: q.by); continue }
            if let w = try parseWhere() { q.filter = w; continue }
            break
        }
        return q
    }

    mutating func parseFunnel() throws -> FunnelQuery {
        var steps: [FunnelStep] = []
        repeat {
            if peek.kind == .end || isSymbol(";") { throw error("a step after '>'") }
            let e = try parseStepExpr(inFunnel: true)
            var optional = false
            if acceptSymbol("?") { optional = true }
            var within: TimeSpan?
            // `b within 1d >`: a window on step b (from the previous step). After the last step, `within` is
            // the step's own only when an earlier step already had one (`a > b within 1d > c within 20d`).
            let perStepSoFar = steps.contains { $0.within != nil }
            if !steps.isEmpty && isWord("within") && (peek(2).text == ">" || perStepSoFar) {
                _ = advance(); within = try parseDuration()
            }
            steps.append(FunnelStep(expr: e, within: within, optional: optional))
        } while acceptSymbol(">")
        var q = FunnelQuery(steps: steps)
        while true {
            if accept("within") { q.within = try parseDuration(); continue }
            if let w = try parseWhere() { q.filter = w; continue }
            if isWord("by") { q.by = try parseBy(after: q.by); continue }
            if accept("order") {
                guard peek.kind == .word, let o = FunnelOrder(rawValue: peek.text.lowercased()) else { throw error("sequential, strict or any after 'order'") }
                _ = advance(); q.order = o; continue
            }
            if accept("entry") {
                guard peek.kind == .word, let e = FunnelEntry(rawValue: peek.text.lowercased()) else { throw error("first or best after 'entry'") }
                _ = advance(); q.entry = e; continue
            }
            if accept("excluding") {
                let x = try parseStepExpr()
                var from: Int?, to: Int?
                if accept("between") {
                    from = try expectInt("a step number after 'between'")
                    try expectWord("and", after: "the first step number")
                    to = try expectInt("a step number after 'and'")
                }
                q.exclusions.append((x, from, to)); continue
            }
            if accept("same") { q.same = try parseField(); continue }
            if isWord("strictly") || isWord("ties") {
                let at = peek.range
                let rule: TieRule
                if accept("strictly") { try expectWord("later", after: "'strictly'"); rule = .strictlyLater }
                else {
                    _ = advance()
                    try expectWord("in", after: "'ties'"); try expectWord("import", after: "'ties in'"); try expectWord("order", after: "'ties in import'")
                    rule = .importOrder
                }
                if q.ties != .together && q.ties != rule {
                    throw Diagnostic(.conflictingClauses, "'\(q.ties.rawValue)' and '\(rule.rawValue)' are two rules for events at one time; a funnel takes one", at: at)
                }
                q.ties = rule; continue
            }
            if accept("count") {
                guard peek.kind == .word, let u = CountUnit(rawValue: peek.text.lowercased()) else { throw error("customers or accounts after 'count'") }
                _ = advance(); q.unit = u; continue
            }
            if accept("top") { q.top = try expectInt("a number after 'top'"); continue }
            break
        }
        return q
    }

    mutating func parsePaths() throws -> PathsQuery {
        var q = PathsQuery()
        var nextAt: SourceRange?, previousAt: SourceRange?
        while true {
            if accept("from") { q.from = try parseStepExpr(); continue }
            if accept("to") { q.to = try parseStepExpr(); continue }
            if accept("within") { q.within = try parseDuration(); continue }
            if let w = try parseWhere() { q.filter = w; continue }
            if accept("show") {
                guard peek.kind == .word, let s = PathShow(rawValue: peek.text.lowercased()) else { throw error("event, channel, stage or kind after 'show'") }
                _ = advance(); q.show = s; continue
            }
            if accept("top") { q.top = max(1, try expectInt("a number after 'top'")); continue }
            if accept("max") {
                q.maxSteps = max(1, try expectInt("a number after 'max'"))
                _ = accept("steps") || accept("step"); continue
            }
            if accept("keep") { try expectWord("repeats", after: "'keep'"); q.keepRepeats = true; continue }
            if isWord("next") { nextAt = advance().range; q.next = max(1, try expectInt("a number after 'next'")); continue }
            if isWord("previous") { previousAt = advance().range; q.previous = max(1, try expectInt("a number after 'previous'")); continue }
            break
        }
        // `next` and `previous` each replace one end of the path: the other end must be there, this one not.
        if let r = nextAt {
            if q.from == nil { throw Diagnostic(.conflictingClauses, "'next' counts the steps after 'from A', and there is no 'from'", at: r, help: "paths from awareness next 3") }
            if q.to != nil { throw Diagnostic(.conflictingClauses, "'next' and 'to' both end the path", at: r, help: "to shorten paths from A to B, use 'max K steps'") }
        }
        if let r = previousAt {
            if q.to == nil { throw Diagnostic(.conflictingClauses, "'previous' counts the steps before 'to B', and there is no 'to'", at: r, help: "paths to conversion previous 3") }
            if q.from != nil { throw Diagnostic(.conflictingClauses, "'previous' and 'from' both start the path", at: r, help: "to shorten paths from A to B, use 'max K steps'") }
        }
        return q
    }

    mutating func parseWhere() throws -> Expr? {
        guard accept("where") else { return nil }
        if peek.kind == .end { throw error("a condition after 'where'") }
        return try parseOr(inFunnel: false)
    }

    /// `by FIELD | month(FIELD) [at step N]`; a second `by` is an error (it would silently replace the first).
    mutating func parseBy(after earlier: Breakdown?) throws -> Breakdown {
        if let earlier {
            throw Diagnostic(.secondBreakdown, "a second 'by': this statement already breaks down by \(earlier.display)", at: peek.range,
                             help: "keep one 'by'")
        }
        _ = advance()  // by
        var b = try parseByField()
        if acceptSymbol(",") { b.also = [try parseByField()] }
        if accept("at") {
            try expectWord("step", after: "'at'")
            b.atStep = try expectInt("a step number after 'at step'")
        }
        return b
    }

    /// One field of a `by`: `FIELD` or `month(FIELD)`.
    mutating func parseByField() throws -> Breakdown {
        var month = false
        let field: FieldRef
        if isWord("month") && peek(1).text == "(" {
            _ = advance(); _ = advance()
            field = try parseField()
            guard acceptSymbol(")") else { throw error("')' after the field") }
            month = true
        } else {
            field = try parseField()
        }
        return Breakdown(field: field, month: month)
    }

    mutating func parseField() throws -> FieldRef {
        guard peek.kind == .word else { throw error("a field name") }
        let t = advance()
        if isSymbol("."), peek(1).kind == .word {
            _ = advance()
            let n = advance()
            let r = SourceRange(start: t.range.start, end: n.range.end, line: t.range.line, column: t.range.column)
            return FieldRef(scope: t.text.lowercased(), name: n.text, range: r)
        }
        return FieldRef(scope: nil, name: t.text, range: t.range)
    }

    mutating func parseDuration() throws -> TimeSpan {
        if peek.kind == .param, case .duration(let s)? = params[peek.text] {
            let t = advance()
            return TimeSpan(text: s, milliseconds: Self.milliseconds(s) ?? 0, range: t.range)
        }
        guard peek.kind == .duration else {
            if peek.kind == .number { throw Diagnostic(.durationUnit, "a duration needs a unit: \(peek.text)d, \(peek.text)h, …", at: peek.range, help: "units: s, m, h, d, w, mo (30 days)") }
            throw error("a duration such as 30d")
        }
        let t = advance()
        return TimeSpan(text: t.text, milliseconds: Self.milliseconds(t.text) ?? 0, range: t.range)
    }

    static func milliseconds(_ s: String) -> Int64? {
        let digits = s.prefix { $0.isNumber || $0 == "." }
        guard let v = Double(digits) else { return nil }
        let unit = s.dropFirst(digits.count)
        let scale: Double
        switch unit {
        case "s": scale = 1000
        case "m": scale = 60_000
        case "h": scale = 3_600_000
        case "d": scale = 86_400_000
        case "w": scale = 7 * 86_400_000
        case "mo": scale = 30 * 86_400_000
        default: return nil
        }
        return Int64(v * scale)
    }

    // MARK: Expressions

    /// A step: a predicate, where `>` separates funnel steps (so comparisons with `>` need parentheses there).
    mutating func parseStepExpr(inFunnel: Bool = false) throws -> Expr {
        try parseOr(inFunnel: inFunnel)
    }

    mutating func parseOr(inFunnel: Bool) throws -> Expr {
        var e = try parseAnd(inFunnel: inFunnel)
        while accept("or") { e = .or(e, try parseAnd(inFunnel: inFunnel)) }
        return e
    }

    mutating func parseAnd(inFunnel: Bool) throws -> Expr {
        var e = try parseNot(inFunnel: inFunnel)
        // `customers who reached a and not reached b`: an `and` before a new condition ends the step.
        while isWord("and") && !startsCustomerCondition(1) {
            _ = advance()
            e = .and(e, try parseNot(inFunnel: inFunnel))
        }
        return e
    }

    func startsCustomerCondition(_ k: Int) -> Bool {
        let w = peek(k).text.lowercased()
        return w == "reached" || (w == "no" && peek(k + 1).text.lowercased() == "touch")
            || (w == "not" && ["reached", "touched"].contains(peek(k + 1).text.lowercased()))
    }

    mutating func parseNot(inFunnel: Bool) throws -> Expr {
        if isWord("not") {
            let t = advance()
            return .not(try parseNot(inFunnel: inFunnel), t.range)
        }
        return try parsePrimary(inFunnel: inFunnel)
    }

    mutating func parsePrimary(inFunnel: Bool) throws -> Expr {
        let t = peek
        if acceptSymbol("(") {
            let e = try parseOr(inFunnel: false)
            guard acceptSymbol(")") else { throw error("')' to close the '(' at \(t.range.line):\(t.range.column)") }
            return e
        }
        if t.kind == .illegal { throw Diagnostic(.illegalToken, t.text, at: t.range) }
        if t.kind == .string {
            _ = advance()
            return .name(Name(qualifier: nil, text: t.text, range: t.range))
        }
        guard t.kind == .word else {
            if t.kind == .end { throw error("a step (a stage, event or channel name)") }
            throw error("a step (a stage, event or channel name)")
        }
        let lower = t.text.lowercased()
        if Self.clauseWords.contains(lower) || lower == "and" || lower == "or" {
            throw error("a step (a stage, event or channel name)")
        }
        if lower == "any" { _ = advance(); return .any(t.range) }
        if lower == "touched" {
            _ = advance()
            let inner = try parsePrimary(inFunnel: inFunnel)
            return .touched(inner, SourceRange(start: t.range.start, end: inner.range.end, line: t.range.line, column: t.range.column))
        }
        // Qualified name: stage:x
        if peek(1).kind == .symbol && peek(1).text == ":" {
            guard let q = Name.Qualifier(rawValue: lower) else {
                throw Diagnostic(.unknownQualifier, "unknown qualifier '\(t.text):'", at: t.range, help: "use stage:, event:, channel:, kind: or campaign:")
            }
            _ = advance(); _ = advance()
            let n = peek
            guard n.kind == .word || n.kind == .string else { throw error("a name after '\(t.text):'") }
            _ = advance()
            let r = SourceRange(start: t.range.start, end: n.range.end, line: t.range.line, column: t.range.column)
            return .name(Name(qualifier: q, text: n.text, range: r))
        }
        // A comparison starts with a field: word[.word] followed by an operator, `in`, or `is`.
        let save = pos
        let field = try parseField()
        let op = peek
        let comparisonOps = inFunnel ? ["=", "!=", "<", "<=", "~"] : ["=", "!=", "<", "<=", ">", ">=", "~"]
        if op.kind == .symbol && comparisonOps.contains(op.text) {
            _ = advance()
            let lit = try parseLiteral()
            let r = SourceRange(start: field.range.start, end: tokens[pos - 1].range.end, line: field.range.line, column: field.range.column)
            return .compare(field, CompareOp(rawValue: op.text)!, lit, r)
        }
        if isWord("in") || (isWord("not") && peek(1).text.lowercased() == "in") {
            let negated = accept("not")
            _ = advance()
            guard acceptSymbol("(") else { throw error("'(' after 'in'") }
            var values = [try parseLiteral()]
            while acceptSymbol(",") { values.append(try parseLiteral()) }
            guard acceptSymbol(")") else { throw error("')' or ',' in the list") }
            let r = SourceRange(start: field.range.start, end: tokens[pos - 1].range.end, line: field.range.line, column: field.range.column)
            return .isIn(field, values, negated: negated, r)
        }
        if accept("is") {
            let negated = accept("not")
            try expectWord("null", after: "'is'")
            let r = SourceRange(start: field.range.start, end: tokens[pos - 1].range.end, line: field.range.line, column: field.range.column)
            return .isNull(field, negated: negated, r)
        }
        if field.scope != nil {
            throw error("a comparison after '\(field.display)' (=, !=, <, <=, >, >=, ~, in, is null)")
        }
        pos = save
        _ = advance()
        return .name(Name(qualifier: nil, text: t.text, range: t.range))
    }

    mutating func parseLiteral() throws -> Literal {
        let t = peek
        switch t.kind {
        case .string: _ = advance(); return .text(t.text)
        case .word: _ = advance(); return .text(t.text)
        case .number: _ = advance(); return .number(Double(t.text) ?? 0)
        case .date: _ = advance(); return .date(t.text)
        case .duration: _ = advance(); return .duration(t.text)
        case .param:
            _ = advance()
            guard let v = params[t.text] else {
                let s = suggestion(for: t.text, among: Array(params.keys))
                throw Diagnostic(.unknownParameter, "unknown parameter '$\(t.text)'", at: t.range,
                                 help: s.map { "did you mean '$\($0)'?" } ?? "define it with: set \(t.text) = VALUE (or --param \(t.text)=VALUE)")
            }
            return v
        case .symbol where t.text == "-":
            _ = advance()
            guard peek.kind == .number else { throw error("a number after '-'") }
            return .number(-(Double(advance().text) ?? 0))
        default: throw error("a value")
        }
    }
}
