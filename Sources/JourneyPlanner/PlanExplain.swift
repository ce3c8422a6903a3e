import JourneyCore
import JourneyLanguage

extension QueryPlan {
    /// The logical plan in plain words (explain's first part): what is computed, the steps, the window, the tie
    /// rule, the filters split into event- and journey-level, the breakdown. Any backend runs this.
    public var logicalRows: [(String, String)] {
        var rows: [(String, String)] = []
        func add(_ k: String, _ v: String) { rows.append((k, v)) }
        func filters(_ f: BoundFilter, _ suffix: (String) -> String = { _ in "" }) { for d in f.description { add("filter", d + suffix(d)) } }
        switch self {
        case .accounts(let inner):
            add("level", "accounts: each account's journey is all its people's events merged in time order (people without an account count alone); the statement runs over those journeys and counts accounts")
            return rows + inner.logicalRows
        case .explain(let inner), .explainSQL(let inner): return inner.logicalRows
        case .quality: add("statement", "quality: the store's data-quality report")
        case .set(let name, let value): add("statement", "set the parameter $\(name) to \(value.display)")
        case .funnel(let q):
            add("statement", "funnel of \(q.steps.count) steps, order \(q.order.rawValue), entry \(q.entry.rawValue), counting \(q.unit.rawValue)")
            if q.unit == .accounts { add("level", "accounts: each account's journey is all its people's events merged in time order (people without an account count alone)") }
            for (i, s) in q.steps.enumerated() {
                add("step \(i + 1)", s.text + (s.optional ? " (optional)" : "") + (s.within.map { " within \($0.text) of step \(i)" } ?? ""))
            }
            for x in q.exclusions { add("excluding", "\(x.step.text) between step \(x.from + 1) and step \(x.to + 1): such entries are dropped") }
            if let same = q.same { add("same", "every step's event has the entry event's \(same.rawValue)") }
            add("window", q.within.map { "\($0.text) from the entry step" } ?? "none: any time after the entry")
            add("ties", Self.tieWords(q.ties))
            let first = q.steps[0].text
            let entryWords = q.entry == .first ? "take the first \(first)"
                : "try every \(first) as the entry (the furthest step any reaches counts, with the times of the latest entry that got that far)"
            let tieClause = q.ties == .strictlyLater ? " (at a later time: events at the previous step's time are passed over)"
                : q.ties == .importOrder ? " (it may share the previous step's time, being later in the store's order)"
                : " (it may share the previous step's time, wherever it stands among the events of that time)"
            add("in plain words", "for each customer, \(entryWords); then the first matching event of each later step after the previous one\(tieClause)\(q.within.map { ", no later than \($0.text) after the entry" } ?? ""); count how many reach each step")
            filters(q.filter)
            if let by = q.by {
                add("breakdown", "\(by.display)\(by.isEventField ? " of the event matching step \(q.groupStep + 1)" : " (customer attribute)")")
            }
        case .paths(let q):
            add("statement", "paths" + (q.from.map { " from \($0.text)" } ?? "") + (q.to.map { " to \($0.text)" } ?? "")
                + (q.next.map { " next \($0)" } ?? "") + (q.previous.map { " previous \($0)" } ?? "") + (q.within.map { " within \($0.text)" } ?? ""))
            let start = q.from.map { "the first \($0.text)" } ?? "the first event"
            var end = q.to.map { "the first \($0.text)" + (q.from == nil ? "" : " after it") } ?? "the last event"
            if let w = q.within {
                if q.from != nil && q.to != nil { end += ", if it came at most \(w.text) later (else: never reached)" }
                else if q.to != nil { end += ", starting at most \(w.text) before it" } else { end += " at most \(w.text) after the start" }
            }
            let steps = q.next.map { "; only the start and the \($0) steps after it" } ?? q.previous.map { "; only the \($0) steps before the end and the end" }
                ?? "; more than \(q.maxSteps) steps shown as the first \(q.maxSteps - 1), … and the last"
            add("in plain words", "for each customer, the sequence of \(q.show.rawValue)s from \(start) to \(end); a step is \(q.show == .event ? "an" : "a") \(q.show.rawValue) with repeats \(q.keepRepeats ? "kept" : "collapsed")\(steps); the top \(q.top) sequences with their customers, share and median duration")
            filters(q.filter)
        case .attribution(let q):
            add("statement", "attribution of \(q.conversion.text), model \(q.model.rawValue), by \(q.by.rawValue), lookback \(q.lookback?.text ?? "90d")")
            add("in plain words", "every event matching \(q.conversion.text) is a conversion; its journey is the customer's touchpoints since the previous conversion and at most \(q.lookback?.text ?? "90d") before it; "
                + Self.modelWords(q) + "; credits and the conversion's value are added up per \(q.by.rawValue)")
            filters(q.filter) { $0.hasPrefix("event-level") ? " (which events count as touchpoints; conversions are found among all events)" : "" }
        case .matching(let q):
            add("statement", "\(q.count ? "count" : "customers") matching \(q.pattern.text)\(q.within.map { " within \($0.text)" } ?? "")")
            add("in plain words", "each customer's events are read once, left to right, by an automaton of the pattern (juxtaposed steps are consecutive events; 'then' allows other events between; ? * + {m,n} repeat; | is either); matches do not overlap, each is the earliest-ending one after the previous" + (q.within.map { "; a match lasts at most \($0.text) from its first event to its last" } ?? ""))
            filters(q.filter)
            if let by = q.by { add("breakdown", by.isEventField ? "\(by.display) of each customer's first match's first event" : "\(by.display) (customer attribute)") }
        case .retention(let q):
            let period = q.period.rawValue
            add("statement", "retention from \(q.start.text)\(q.returning.map { " returning \($0.text)" } ?? "") every \(period), \(q.periods) periods")
            add("in plain words", "each customer's first \(q.start.text) puts them in a cohort (its \(period)\(q.by.map { ", or their \($0.display)" } ?? "")); for k = 1 … \(q.periods - 1), the share of the cohort with \(q.returning?.text ?? "any event") after it in the calendar \(period) k \(period)s later (\"on\" retention, as Mixpanel and Amplitude)")
            filters(q.filter)
        case .touchpoints(let q):
            add("statement", "touchpoints for \(q.conversion.text) by \(q.by.rawValue)")
            add("in plain words", "for every \(q.by.rawValue): the customers whose touchpoints before their first \(q.conversion.text) include it, how many of them converted, and the lift over the base conversion rate; verdicts: drives (lift ≥ +10%), neutral, appears in losing journeys (≤ −10%), too few journeys (< 30)")
            filters(q.filter)
        case .gaps(let q):
            add("statement", "gaps for \(q.conversion.text)")
            add("in plain words", "touchpoints at the consideration and intent stages: how many journeys touch each, and how many end there without ever reaching \(q.conversion.text); a gap ends at least 1.5× the average share")
            filters(q.filter)
        case .value(let q):
            add("statement", (q.list ? "customers by value limit \(q.limit)" : "value" + (q.by.map { " by \($0.display)" } ?? "") + (q.top.map { " top \($0)" } ?? "")) + " horizon \(q.horizon * 30)d")
            add("in plain words", "lifetime value = historic revenue (the values of a customer's events passing the filter) + projected revenue over the next \(q.horizon) periods of 30 days. The projection is a cohort repeat curve: for each period k after a buyer's first order, the revenue of period k per unit of first-order value, among the buyers whose period k is wholly in the data; a buyer whose current period is a expects its first-order value × the curve summed over periods a+1 to a+\(q.horizon) (periods no buyer has reached yet count 0). Customers without an order project nothing (see score)"
                + (q.list ? "; customers ranked by lifetime value with their journey summary" : q.by.map { $0.isEventField ? "; grouped by the \($0.display) of each customer's first event (its first touch)" : "; grouped by \($0.display)" } ?? ""))
            filters(q.filter)
        case .score(let q):
            add("statement", "score won \(q.wonName) within \(q.window / 86_400_000)d" + (q.customer.map { " for \($0)" } ?? ""))
            add("in plain words", "a logistic regression of converting (reaching \(q.wonName) or a later stage) within \(q.window / 86_400_000) days. Trained on a snapshot: the customers not converted by the cutoff (the data's end minus \(q.window / 86_400_000) days), described by their events up to the cutoff (touches, channels, highest stage, days since the first and the last touch, recent touches, paid and earned shares, segment), labelled by whether they converted after it. 30% of them (by a hash of the id) are held back to measure the model (AUC, calibration by deciles). The open leads (not converted by the data's end) are then scored on their whole journey so far")
            filters(q.filter)
        case .forecast(let q):
            add("statement", "forecast \(q.months) months won \(q.wonName)" + (q.asOfText.map { " as of \($0)" } ?? ""))
            add("in plain words", "the open pipeline at \(q.asOfText ?? "the data's end") (customers with events, not yet at \(q.wonName)), each by its highest stage and the 30-day periods since it reached that stage. From the history before that date, a life table per stage and elapsed period gives the chance of converting in each coming period (conversions ÷ customers still open and observed through that period); expected revenue = that chance × the mean value of a conversion. The band (10th–90th percentile) comes from 400 simulations drawing each lead's outcome and a conversion value from the history." + (q.asOfText == nil ? "" : " Since the date is in the past, what then happened is shown beside it (back-test)"))
            filters(q.filter)
        case .profile(let q):
            add("statement", "profile won \(q.wonName)")
            add("in plain words", "the customers with an event passing the filter, and those among them with an event at \(q.wonName) or a later stage (converted); for every value of \(q.attributes.map { "\($0.scope.rawValue).\($0.name)" }.joined(separator: ", ")): its share among the converted against its share among all (lift), values with at least \(QueryPlan.Profile.minimumConverted) converted")
            filters(q.filter)
        case .compare(let q):
            add("statement", "compare \(q.texts[0]) with \(q.texts[1]) won \(q.wonName)")
            add("in plain words", "the customers of each side (a customer may be on both), side by side: how many converted (an event at \(q.wonName) or a later stage), their conversion rate with a two-sided test of the difference (Fisher's exact test when an expected count is under 5, else the two-proportion z-test), the median time from first event to conversion, revenue and touches per customer, and each side's most common touchpoint")
            filters(q.filter)
        case .leads(let q):
            add("statement", "leads" + (q.by.map { " by \($0.display)" } ?? "") + " mql \(q.stageNames[0]) sql \(q.stageNames[1]) won \(q.stageNames[2])")
            add("in plain words", "a lead is a customer with an event passing the filter; it is marketing-qualified (MQL) when it has an event at \(q.stageNames[0]) or a later stage, sales-qualified (SQL) at \(q.stageNames[1]) or later, won at \(q.stageNames[2]) or later; revenue = the sum of its events' values"
                + (q.by.map { $0.isEventField ? "; grouped by the \($0.display) of each lead's first event (its first touch)" : "; grouped by \($0.display) (a customer attribute)" } ?? ""))
            filters(q.filter)
        case .revenue(let q):
            add("statement", (q.margin ? "margin" : "revenue") + (q.by.map { " by \($0.display)" } ?? "") + (q.top.map { " top \($0)" } ?? ""))
            add("in plain words", "an order is an event with a value (passing the filter); revenue = the sum of their values; per group \(q.margin ? "the customers with any event there, the buyers, the revenue, the cost to serve (the touchpoint catalog's cost of every touch counted), the margin (revenue minus cost), the margin rate, and cost and margin per customer" : "the orders, the revenue, the average order value, the customers with any event there and those with an order (buyers), and the revenue per customer and per buyer")"
                + (q.by.map { $0.isEventField ? "; grouped by \($0.display) (an event field: an order under its own value, a customer under every value it has an event with)" : "; grouped by \($0.display) (a customer attribute: each customer under its value)" } ?? ""))
            filters(q.filter)
        case .count(let q):
            let unit = q.unit.rawValue
            let fields = q.by.map { [$0] + ($0.also.map { [$0] } ?? []) } ?? []
            add("statement", "count \(unit)" + (fields.isEmpty ? "" : " by " + fields.map(\.display).joined(separator: ", ")) + (q.top.map { " top \($0)" } ?? ""))
            let what = q.unit == .events ? "the events passing the filter" : "the \(unit) with at least one event passing the filter"
            var how = ""
            if let by = q.by {
                let kinds = fields.map { b -> String in
                    b.isEventField ? "\(b.display) (an event field: \(q.unit == .events ? "each event under its value" : "counted under every value they have an event with"))"
                        : "\(b.display) (a customer attribute: each under its value)"
                }
                how = "; grouped by " + kinds.joined(separator: " and ") + (by.also == nil ? "" : ", each group a pair")
                    + (by.isMonths ? "; months in time order, empty ones shown" : "; largest groups first")
            }
            add("in plain words", what + how + "; share = of the counted \(unit)" + (q.by == nil && q.filtered ? " (without groups: of all \(unit) in the store)" : ""))
            filters(q.filter)
        case .time(let q):
            add("statement", "time from \(q.from.text) to \(q.to.text)" + (q.by.map { " by \($0.display)" } ?? ""))
            add("in plain words", "for each customer, the first \(q.from.text), then the first \(q.to.text) at its time or later (one at the same time counts wherever it stands in the file, as the funnel's ties); the durations' min, quartiles, p90 and max, and a histogram in day buckets")
            filters(q.filter)
        case .dropoff(let q):
            add("statement", "dropoff after \(q.after.text)" + (q.explicitNext.map { " to \($0)" } ?? ""))
            let on = q.explicitNext.map { "\($0) event (or, for a stage, any later stage)" } ?? "event of a later stage"
            add("in plain words", "the customers with an event \(q.after.text) and no \(on) at its time or later: how many, and where they stopped (their last touchpoint), how long ago, and whether they came back after a pause over 30 days")
            filters(q.filter)
        case .pauses(let q):
            add("statement", "pauses longer than \(q.longer.text)" + (q.which == .both ? "" : " \(q.which.rawValue)") + (q.limit.map { " limit \($0)" } ?? ""))
            add("in plain words", "gaps of more than \(q.longer.text) between a customer's consecutive touches: resumed ones by the stages before and after, and open ones (no touch since, to the store's last event), the longest silent first")
            filters(q.filter)
        case .top(let q):
            let name = q.campaigns ? "campaigns" : q.what.rawValue + "s"
            add("statement", "top \(q.n) \(name)")
            add("in plain words", "the \(q.n) \(name) with the most events: events, share of events, customers, and events per month over the last 12 months")
            filters(q.filter)
        case .customers(let q):
            let conditions = q.conditions.map { c -> String in
                switch c {
                case .reached(let s, let negated): return "\(negated ? "never reached" : "reached") \(s.text)"
                case .silentFor(let d): return "no touch for \(d.text)"
                }
            }
            add("statement", "customers who " + conditions.joined(separator: " and ") + " limit \(q.limit)")
            add("in plain words", "the customers for whom every condition holds (reached: any event of it, at any time; silence measured to the store's last event), the most recently active first, with their first and last touch")
            filters(q.filter)
        case .stats(let q):
            add("statement", "stats")
            add("in plain words", "per customer and per account (people without one alone): touches, distinct channels and days from first to last touch; for converting accounts up to their first conversion-stage event")
            filters(q.filter)
        }
        return rows
    }

    static func modelWords(_ q: Attribution) -> String {
        let by = q.by.rawValue
        switch q.model {
        case .first: return "the first touchpoint gets the whole conversion"
        case .last: return "the last touchpoint before the conversion gets it all"
        case .linear: return "each touchpoint gets an equal share"
        case .timeDecay: return "each touchpoint's share halves for every \(q.halfLife?.text ?? "7d") it lies before the conversion"
        case .position:
            let p = q.position
            return "the first touchpoint gets \(p[0])%, the last \(p[2])%, the ones between share \(p[1])%"
        case .markov: return "a Markov chain of order \(q.markovOrder) over all journeys (converting or not); each \(by) is credited by how much the conversion probability drops when it is removed"
        case .shapley: return "Shapley values: each \(by) gets its average marginal contribution to the conversions over all orders in which the \(by)s could join"
        case .all: return "first, last, linear, time_decay, position, markov and shapley side by side"
        }
    }

    /// Which tie rule runs, in words.
    static func tieWords(_ t: TieRule) -> String {
        switch t {
        case .together: return "ties together (the default, as ClickHouse's windowFunnel): events at one time are taken in step order, wherever they stand in the file; an event matches one step at most"
        case .importOrder: return "ties in import order: a step's event at the previous step's time counts only when it comes later in the store"
        case .strictlyLater: return "strictly later (as windowFunnel's strict_increase): each step's event comes at a later time than the previous step's"
        }
    }
}
