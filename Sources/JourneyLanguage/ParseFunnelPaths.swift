/// `funnel` and `paths`: the statements over ordered steps.
extension Parser {
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
}
