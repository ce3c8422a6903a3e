import Testing
import JourneyPlanner
@testable import JourneyLanguage

@Suite struct ParserTests {
    func error(_ s: String) -> String {
        do { _ = try Parser.parse(s); return "no error" } catch let d as Diagnostic { return d.render(source: s) } catch { return "\(error)" }
    }

    @Test func parsesFunnelWithClauses() throws {
        guard case .funnel(let q) = try Parser.parse("funnel awareness > consideration > intent > conversion within 30d by channel at step 2 entry best") else {
            Issue.record("not a funnel"); return
        }
        #expect(q.steps.count == 4 && q.within?.milliseconds == 30 * 86_400_000 && q.by?.atStep == 2 && q.entry == .best)
        #expect(q.ties == .together)
        for (text, rule) in [("funnel a > b strictly later", TieRule.strictlyLater), ("funnel a > b ties in import order", .importOrder),
                             ("funnel a > b ties in import order within 3d", .importOrder)] {
            guard case .funnel(let f) = try Parser.parse(text) else { Issue.record("not a funnel"); continue }
            #expect(f.ties == rule, "\(text)")
        }
    }

    @Test func perStepWindowsAndQualifiedNames() throws {
        guard case .funnel(let q) = try Parser.parse("funnel stage:a > event:\"W_Completeren aanvraag\" within 1d > c") else { Issue.record("no"); return }
        #expect(q.steps[1].within?.milliseconds == 86_400_000)
        if case .name(let n) = q.steps[1].expr { #expect(n.qualifier == .event && n.text == "W_Completeren aanvraag") }
    }

    @Test func trailingWithinBelongsToTheLastStepOnlyAfterPerStepWindows() throws {
        guard case .funnel(let a) = try Parser.parse("funnel a > b within 1d > c within 20d"),
              case .funnel(let b) = try Parser.parse("funnel a > b > c within 20d") else { Issue.record("no"); return }
        #expect(a.steps.map { $0.within?.text } == [nil, "1d", "20d"] && a.within == nil)
        #expect(b.steps.map { $0.within?.text } == [nil, nil, nil] && b.within?.text == "20d")
    }

    @Test func customersAttributionRetentionGrammars() throws {
        guard case .customers(let c) = try Parser.parse("customers who reached intent and not reached conversion and no touch for 14d limit 20") else { Issue.record("no"); return }
        #expect(c.conditions.count == 3 && c.limit == 20)
        if case .reached(_, let negated) = c.conditions[1] { #expect(negated) } else { Issue.record("second condition") }
        if case .silentFor(let d) = c.conditions[2] { #expect(d.milliseconds == 14 * 86_400_000) } else { Issue.record("third condition") }
        guard case .attribution(let a) = try Parser.parse("attribution of conversion model position 40 20 40 by channel lookback 90d") else { Issue.record("no"); return }
        #expect(a.model == "position" && a.position == [40, 20, 40] && a.lookback?.text == "90d" && a.by?.field.name == "channel")
        guard case .retention(let r) = try Parser.parse("retention from conversion returning repeat_purchase every month periods 6") else { Issue.record("no"); return }
        #expect(r.period == "month" && r.periods == 6 && r.returning != nil)
        #expect(error("attribution model markov order 5").contains("a Markov order is 1, 2 or 3"))
        #expect(error("attribution model position 50 20 40").contains("must add up to 100"))
        #expect(error("customers who visited x").contains("expected 'reached STEP', 'not reached STEP' or 'no touch for D'"))
    }

    @Test func touchpointsAndGapsGrammars() throws {
        guard case .touchpoints(let t) = try Parser.parse("touchpoints for event:demo_request by kind top 5 where customer.segment = 'smb'") else { Issue.record("no"); return }
        #expect(t.by == .kind && t.top == 5 && t.conversion != nil && t.filter != nil)
        guard case .gaps(let g) = try Parser.parse("gaps top 3") else { Issue.record("no"); return }
        #expect(g.top == 3 && g.conversion == nil)
        #expect(error("touchpoints by segment") == """
        1:16: error: touchpoints are ranked by event, channel, kind or stage, not 'segment'
        1 | touchpoints by segment
          |                ^~~~~~~
        """)
        #expect(error("gaps by channel").contains("error:"))
    }

    @Test func errorTexts() {
        #expect(error("funnel awareness >") == """
        1:19: error: expected a step after '>', but the statement ended
        1 | funnel awareness >
          |                   ^
        """)
        #expect(error("funel a > b") == """
        1:1: error: unknown statement 'funel'
        1 | funel a > b
          | ^~~~~
        help: did you mean 'funnel'?
        """)
        #expect(error("paths from a to b whre channel = x").contains("help: did you mean 'where'?"))
        #expect(error("funnel a > b keep repeats").contains("help: 'keep' is not a clause of funnel; its clauses: within, where, by,"))
        // A misspelled clause keyword gets a suggestion among the statement's own clauses.
        #expect(error("paths form awareness").contains("help: did you mean 'from'?"))
        #expect(error("attribution modle markov").contains("help: did you mean 'model'?"))
        #expect(error("retention from a evry week").contains("help: did you mean 'every'?"))
        #expect(error("retention from a every quartr").contains("help: did you mean 'quarter'?"))
        #expect(error("count customers top 3").contains("'top N' keeps the largest groups of a 'by'"))
        #expect(error("funnel a > b within 30").contains("a duration needs a unit"))
        #expect(error("funnel a > b within 3y").contains("unknown duration unit 'y'"))
        #expect(error("count customers where x = $nope").contains("unknown parameter '$nope'"))
        #expect(error("paths from a to b next 3") == """
        1:19: error: 'next' and 'to' both end the path
        1 | paths from a to b next 3
          |                   ^~~~
        help: to shorten paths from A to B, use 'max K steps'
        """)
        #expect(error("funnel a > b strictly") == """
        1:22: error: expected 'later' after 'strictly', but the statement ended
        1 | funnel a > b strictly
          |                      ^
        """)
        #expect(error("funnel a > b strictly later ties in import order") == """
        1:29: error: 'strictly later' and 'ties in import order' are two rules for events at one time; a funnel takes one
        1 | funnel a > b strictly later ties in import order
          |                             ^~~~
        """)
        #expect(error("funnel a > b ties import order").contains("expected 'in' after 'ties'"))
        #expect(error("paths next 3").contains("'next' counts the steps after 'from A', and there is no 'from'"))
        #expect(error("paths from a previous 2").contains("'previous' counts the steps before 'to B', and there is no 'to'"))
        #expect(error("paths previous 2 from a to b").contains("'previous' and 'from' both start the path"))
    }

    @Test func continuationRule() {
        #expect(Parser.isComplete("funnel a > b") == true)
        #expect(Parser.isComplete("funnel a >") == false)
        #expect(Parser.isComplete("paths from a\n to") == false)
        #expect(Parser.isComplete("funnel a > b;") == true)
        #expect(Parser.isComplete("bogus words") == true)   // complete, so its error is shown
        #expect(Parser.isComplete("funnel a > ") == false)   // trailing space: still waiting for a step
        // A complete statement goes on when the next line is indented or starts with a clause keyword.
        for line in ["  within 90d", "\tby channel", "within 90d", "where channel = linkedin", "and stage != intent", "> conversion", "ties in import order"] {
            #expect(Parser.continues(line), "\(line)")
        }
        for line in ["count customers", "top 5 channels", "funnel a > b", "", "   ", "-- a comment", ".mode csv"] {
            #expect(!Parser.continues(line), "\(line)")
        }
    }

    @Test func mutatedValidQueriesNeverCrash() {
        let valid = ["funnel awareness > consideration > intent > conversion within 30d by channel at step 2",
                     "paths from awareness to conversion where channel = linkedin and customer.segment = 'enterprise' top 10",
                     "customers who reached intent and not reached conversion and no touch for 14d limit 5",
                     "attribution of conversion model time_decay half_life 7d by channel lookback 90d",
                     "touchpoints for stage:conversion by channel top 5 where channel != website",
                     "customers matching awareness any* (webinar | \"white paper\")+ then conversion within 7d limit 5",
                     "count matching (a b){2,3} c? within 30d by customer.segment",
                     "retention from stage:conversion returning stage:retention every week periods 6 by channel",
                     "time from stage:awareness to event:\"W_Completeren aanvraag\" by month(first_contact)",
                     "explain funnel a > (b or c) > not d excluding x between 1 and 2 order any entry best count accounts"]
        var seed: UInt64 = 11
        func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(max(n, 1))) }
        for _ in 0..<5000 {
            var chars = Array(valid[next(valid.count)])
            for _ in 0..<(1 + next(4)) {
                let i = next(chars.count)
                switch next(4) {
                case 0: chars.remove(at: i)                                       // drop a character
                case 1: chars.insert(chars[i], at: i)                             // double one
                case 2: if i + 1 < chars.count { chars.swapAt(i, i + 1) }         // swap two
                default: let punct = Array("()>'\";:$?,=~ä"); chars.insert(punct[next(punct.count)], at: i)   // insert punctuation
                }
                if chars.isEmpty { break }
            }
            let s = String(chars)
            do { _ = try Parser.parse(s) } catch let d as Diagnostic {
                #expect(d.range.line >= 1 && d.range.column >= 1, "\(s)")
                _ = d.render(source: s)
            } catch { Issue.record("non-diagnostic error for \(s)") }
            _ = Parser.isComplete(s)
        }
    }

    /// Found by `make fuzz` (language): `within 22222222222222d` overflowed Int64 and crashed the parser. A
    /// duration beyond a thousand years is now an error with its place, in every clause that takes one.
    @Test func hugeDurationsAreErrorsNotCrashes() {
        for text in ["customers matching pricing_page_view then sales_call within 22222222222222d limit 10",
                     "funnel awareness > conversion within 99999999999999999999999w", "pauses longer than 400000d",
                     "attribution model time_decay half_life 1e300d", "score within 9999999999mo", "value horizon 365001d"] {
            do { _ = try Parser.parse(text); Issue.record("\(text) parsed") } catch let d as Diagnostic {
                #expect(d.message.contains("at most 1000 years") || text.contains("1e300"), "\(text): \(d.message)")
            } catch { Issue.record("\(text): \(error)") }
        }
        #expect((try? Parser.parse("funnel awareness > conversion within 365000d")) != nil)
    }

    @Test func namesThatStartWithDigitsAreWords() throws {
        // Campaign names like 2024_q4_display are words; 30d stays a duration and 3y an error.
        let stmt = try Parser.parse("pauses longer than 30d where touched campaign = 2024_q4_display")
        #expect("\(stmt)".contains("2024_q4_display"))
        #expect(error("count customers where campaign = 2024_q4_display") == "no error")
        #expect(error("funnel a > b within 3y").contains("unknown duration unit 'y'"))
        #expect(error("funnel a > b within 2.5_x").contains("unknown duration unit '_x'"))
    }

    @Test func randomTokenSoupsNeverCrash() {
        let words = ["funnel", "paths", ">", "from", "to", "within", "30d", "where", "channel", "=", "(", ")", "'x", "\"y\"", "and", "or",
                     "not", "by", "at", "step", "top", "5", "$p", "in", ",", "is", "null", "explain", "set", "?", "~", "ä", "2024-01-01", ";", "--c\n"]
        var seed: UInt64 = 7
        for _ in 0..<5000 {
            var s = ""
            seed = seed &* 6364136223846793005 &+ 1
            for _ in 0..<Int(seed >> 60) + 1 {
                seed = seed &* 6364136223846793005 &+ 1
                s += words[Int((seed >> 33) % UInt64(words.count))] + " "
            }
            do { _ = try Parser.parse(s, params: ["p": .number(1)]) } catch is Diagnostic {} catch { Issue.record("non-diagnostic error for \(s)") }
            _ = Parser.isComplete(s)
        }
    }
}

@Suite struct DiagnosticIDTests {
    /// Ids are the contract tools match on: unique, in their family's range, and each kind comes from the place
    /// that finds it (the parser for syntax, the binder for names, the planner for options).
    @Test func idsAreUniqueAndStable() throws {
        let codes = DiagnosticID.allCases.map(\.code)
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { $0.count == 4 && $0.hasPrefix("J") && Int($0.dropFirst()) != nil })
        var cat = Catalog(); cat.stages = ["awareness", "conversion"]; cat.events = ["", "signup"]; cat.channels = ["", "email"]
        func id(_ text: String) -> DiagnosticID? {
            do { _ = try Planner.plan(try Parser.parse(text), catalog: cat); return nil } catch let d as Diagnostic { return d.id } catch { return nil }
        }
        #expect(id("funnel awareness >") == .expected)
        #expect(id("funnle awareness") == .unknownStatement)
        #expect(id("paths from awareness nxt 3") == .unexpectedAfterStatement)
        #expect(id("funnel awareness > conversoin") == .unknownName)
        #expect(id("count customers by chanel") == .unknownField)
        #expect(id("count customers where channel = emial") == .unknownValue)
        #expect(id("funnel awareness > touched email") == .journeyLevelInStep)
        #expect(id("funnel awareness? > conversion") == .optionalEntry)
        #expect(id("funnel awareness > conversion same colour") == .sameField)
        #expect(id("dropoff after signup") == .dropoffNeedsTarget)
        #expect(id("funnel awareness > conversion order any strictly later") == .strictlyLaterAnyOrder)
        #expect(id("attribution by customer.segment") == .breakdownNotAllowed)
        #expect(id("time from awareness to conversion by channel, stage") == .oneBreakdown)
        #expect(id("funnel awareness > conversion") == nil)
    }

    /// The parser reads on after an error: every statement of a script is checked in one pass.
    @Test func parserRecoversAtTheNextStatement() {
        var p = Parser("funnel awareness >; count customers; paths from awareness nxt 3; stats")
        let (statements, errors) = p.parseScriptRecovering()
        #expect(errors.map(\.id) == [.expected, .unexpectedAfterStatement])
        #expect(statements.count == 2)
    }
}
