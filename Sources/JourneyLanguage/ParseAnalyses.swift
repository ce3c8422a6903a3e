/// The analyses: customers who, attribution, touchpoints and gaps, retention.
extension Parser {
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
}

/// What customers are worth: value, score, forecast.
extension Parser {
    /// `value [by DIM [top N]] [horizon D] [where ...]`; after `customers by value`: `[horizon D] [limit N] [where ...]`.
    mutating func parseValue(allowGroups: Bool) throws -> ValueQuery {
        var q = ValueQuery()
        while true {
            if let w = try parseWhere() { q.filter = w; continue }
            if allowGroups && isWord("by") { q.by = try parseBy(after: q.by); continue }
            if allowGroups && isWord("top") && peek(1).kind != .word {
                let at = advance().range
                guard q.by != nil else { throw Diagnostic(.topWithoutGroups, "'top N' keeps the largest groups of a 'by'; this value has none", at: at, help: "add 'by FIELD'") }
                q.top = try expectInt("a number after 'top'"); continue
            }
            if accept("horizon") { q.horizon = try parseDuration(); continue }
            if !allowGroups && accept("limit") { q.limit = max(1, try expectInt("a number after 'limit'")); continue }
            break
        }
        return q
    }

    /// `score [won STAGE] [within D] [limit N] [for KEY] [where ...]`.
    mutating func parseScore() throws -> ScoreQuery {
        var q = ScoreQuery()
        _ = accept("leads")
        while true {
            if let w = try parseWhere() { q.filter = w; continue }
            if accept("won") {
                guard peek.kind == .word || peek.kind == .string else { throw error("a stage after 'won'") }
                q.won = advance(); continue
            }
            if accept("within") { q.within = try parseDuration(); continue }
            if accept("limit") { q.limit = max(1, try expectInt("a number after 'limit'")); continue }
            if accept("for") {
                guard [.word, .string, .number].contains(peek.kind) else { throw error("a customer or account key after 'for'") }
                q.customer = advance(); continue
            }
            break
        }
        return q
    }

    /// `forecast [months N] [won STAGE] [as of DATE] [where ...]`.
    mutating func parseForecast() throws -> ForecastQuery {
        var q = ForecastQuery()
        while true {
            if let w = try parseWhere() { q.filter = w; continue }
            if accept("won") {
                guard peek.kind == .word || peek.kind == .string else { throw error("a stage after 'won'") }
                q.won = advance(); continue
            }
            if accept("months") {
                let t = peek
                let n = try expectInt("a number of 30-day months (1 to 36)")
                guard (1...36).contains(n) else { throw Diagnostic(.expected, "a forecast runs 1 to 36 months ahead", at: t.range) }
                q.months = n; continue
            }
            if accept("as") {
                try expectWord("of", after: "'as'")
                let t = peek
                guard case .date(let d) = try parseLiteral() else { throw Diagnostic(.expected, "expected a date after 'as of', such as 2025-06-30", at: t.range) }
                q.asOf = d; q.asOfRange = t.range; continue
            }
            break
        }
        return q
    }
}
