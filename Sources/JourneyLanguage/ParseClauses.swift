/// What statements share: `where`, `by`, fields, durations, step expressions and literals.
extension Parser {
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
        let t: Token, text: String
        if peek.kind == .param, case .duration(let s)? = params[peek.text] {
            t = advance(); text = s
        } else {
            guard peek.kind == .duration else {
                if peek.kind == .number { throw Diagnostic(.durationUnit, "a duration needs a unit: \(peek.text)d, \(peek.text)h, …", at: peek.range, help: "units: s, m, h, d, w, mo (30 days)") }
                throw error("a duration such as 30d")
            }
            t = advance(); text = t.text
        }
        // Durations are added to times (UTC milliseconds): a thousand years keeps every sum far inside Int64.
        guard let ms = Self.milliseconds(text), ms <= Self.longestDuration else {
            throw Diagnostic(.expected, "a duration of at most 1000 years (365000d), found \(text)", at: t.range)
        }
        return TimeSpan(text: text, milliseconds: ms, range: t.range)
    }

    static let longestDuration: Int64 = 365_000 * 86_400_000

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
        let ms = v * scale
        return ms.isFinite && ms < 9.0e18 ? Int64(ms) : nil
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
