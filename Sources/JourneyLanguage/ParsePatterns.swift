/// `customers matching` and `count matching`: regular patterns over events.
extension Parser {
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
}
