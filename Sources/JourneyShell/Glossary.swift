/// `.help glossary [TERM]`: the words of journey analysis in plain language, with the German terms of the
/// articles behind journey (Abbruch, Wiederaufnahme, Touchpoint, …) and the statement that shows each.
struct GlossaryEntry {
    let term: String, german: String, meaning: String, statement: String

    static let all: [GlossaryEntry] = [
        .init(term: "customer journey", german: "Customer Journey, Kundenreise",
              meaning: "everything a customer meets of a brand, from first contact to purchase and after, in time order; not a line: people leave, pause, come back and switch channels",
              statement: "paths"),
        .init(term: "touchpoint", german: "Touchpoint, Kontaktpunkt",
              meaning: "one contact between customer and brand (an ad click, a webinar, a sales call); each has a channel, a stage and a kind (paid, owned, earned)",
              statement: "touchpoints by channel"),
        .init(term: "stage", german: "Phase",
              meaning: "where in the journey a touchpoint belongs: awareness, favorability, consideration, intent, conversion, retention, advocacy",
              statement: ".stages"),
        .init(term: "funnel", german: "Trichter, Funnel",
              meaning: "steps in order; per step how many customers got there from the one before, within the conversion window",
              statement: "funnel awareness > consideration > intent > conversion within 180d"),
        .init(term: "conversion window", german: "Konversionsfenster",
              meaning: "how long after entering the funnel a later step still counts (within 30d); later steps count as not reached",
              statement: "funnel … within 30d"),
        .init(term: "entry first / entry best", german: "Einstieg",
              meaning: "which entry a customer's funnel counts from: the first step-1 event (Mixpanel, Amplitude), or the one that gets furthest (ClickHouse windowFunnel)",
              statement: "funnel … entry best"),
        .init(term: "drop-off", german: "Abbruch",
              meaning: "a customer who reached a step or stage and never a later one: where journeys end",
              statement: "dropoff after consideration"),
        .init(term: "pause and resumption", german: "Pause, Wiederaufnahme",
              meaning: "a gap between touches longer than a threshold; a resumption is the touch that ends it — the customer came back",
              statement: "pauses longer than 30d"),
        .init(term: "conversion rate", german: "Konversionsrate",
              meaning: "the share of customers who reached the conversion (a purchase, a signed contract, a sign-up)",
              statement: "compare A with B"),
        .init(term: "attribution", german: "Attribution",
              meaning: "how each conversion's credit is shared among the touchpoints before it: first touch, last touch, linear, time decay, position-based, or data-driven (Markov, Shapley)",
              statement: "attribution model all by channel"),
        .init(term: "removal effect", german: "Removal-Effekt",
              meaning: "Markov attribution: how much the chance of converting falls when a channel is taken out of every journey; credit follows it",
              statement: "attribution model markov by channel"),
        .init(term: "Shapley value", german: "Shapley-Wert",
              meaning: "each channel's average extra conversions when it joins the others, over every order of joining: a fair share of a joint result",
              statement: "attribution model shapley by channel"),
        .init(term: "lift", german: "Lift",
              meaning: "how much more often something appears among converting customers than among all (2 = twice as often); above 1 over-represented",
              statement: "touchpoints by channel, profile"),
        .init(term: "retention", german: "Kundenbindung, Retention",
              meaning: "of the customers who started in a period, the share who come back in each later period",
              statement: "retention from stage:conversion returning stage:retention every month"),
        .init(term: "cohort", german: "Kohorte",
              meaning: "the customers who did something first in the same period (the same month's buyers), followed together",
              statement: "retention …, value by month(timestamp)"),
        .init(term: "account", german: "Unternehmen, Buying Center",
              meaning: "a B2B company whose several people buy together; count accounts runs a statement over each account's merged journey",
              statement: "funnel … count accounts"),
        .init(term: "MQL / SQL", german: "Marketing- / Sales-Qualified Lead",
              meaning: "a lead marketing judges ready for sales (MQL) and one sales accepts (SQL); here: reached a stage you name",
              statement: "leads by channel"),
        .init(term: "cost to serve, margin", german: "Betreuungskosten, Deckungsbeitrag",
              meaning: "what all the touches of a customer cost (the touchpoint catalog's cost per touch), and revenue minus it",
              statement: "margin by customer.segment"),
        .init(term: "customer lifetime value", german: "Kundenwert, Customer Lifetime Value",
              meaning: "revenue so far plus what a customer is expected to bring; here the projection follows past buyers' repeat purchases",
              statement: "value by customer.segment"),
        .init(term: "lead scoring", german: "Lead-Scoring",
              meaning: "each open lead's chance to convert soon, from its journey so far, by a model fitted on past journeys",
              statement: "score"),
        .init(term: "AUC", german: "AUC (Fläche unter der ROC-Kurve)",
              meaning: "how well scores rank: the chance a converting customer scores above one who did not (0.5 a coin, 1 perfect)",
              statement: "score"),
        .init(term: "calibration", german: "Kalibrierung",
              meaning: "whether predicted chances come true: of the leads given 20%, do about 20% convert?",
              statement: "score"),
        .init(term: "pipeline forecast, back-test", german: "Pipeline-Prognose, Backtest",
              meaning: "the revenue the open leads should bring month by month; a back-test asks as of a past date and compares with what happened",
              statement: "forecast as of 2025-09-30"),
        .init(term: "ideal customer profile", german: "Idealkundenprofil (ICP)",
              meaning: "the attributes over-represented among converting accounts: whom to look for",
              statement: "profile count accounts"),
        .init(term: "paid, owned, earned", german: "bezahlte, eigene, verdiente Medien",
              meaning: "a touchpoint bought (ads), run by the brand (website, sales), or given by others (reviews, recommendations)",
              statement: "attribution by kind"),
    ]

    static func text(_ topic: String?) -> String? {
        if let topic {
            let t = topic.lowercased()
            guard let e = all.first(where: { $0.term.lowercased().contains(t) || $0.german.lowercased().contains(t) }) else { return nil }
            return "\(e.term) (\(e.german))\n  \(e.meaning)\n  try: \(e.statement)"
        }
        return (["Glossary (.help glossary TERM for one; German terms in brackets):"]
                + all.map { "  \($0.term) (\($0.german)): \($0.meaning)" }).joined(separator: "\n")
    }
}
