/// `.help STATEMENT`: the syntax, what it computes, and examples, one entry per statement.
struct StatementHelp {
    let name: String, syntax: String, summary: String, examples: [String]

    static let all: [StatementHelp] = [
        .init(name: "funnel", syntax: "funnel S1 > S2 [within D] > ... [within D] [where ...] [by DIM [at step N]] [order sequential|strict|any] [entry first|best] [excluding X [between i and j]] [same FIELD] [strictly later | ties in import order] [count customers|accounts] [top N]",
              summary: "how many customers (or accounts) reach each step in order, % of first and previous, drop-off, time between steps",
              examples: ["funnel awareness > consideration > intent > conversion within 30d by channel",
                         "funnel awareness > webinar? > intent within 14d > conversion count accounts"]),
        .init(name: "paths", syntax: "paths [from A [next K]] [to B [previous K]] [within D] [where ...] [show event|channel|stage|kind] [top N] [max K steps] [keep repeats] [count accounts]",
              summary: "the most frequent sequences from the first A to the first B after it, with customers, share and median duration",
              examples: ["paths from awareness to conversion show channel top 10", "paths from awareness to conversion within 90d",
                         "paths from webinar next 3", "paths to conversion previous 3"]),
        .init(name: "time", syntax: "time from A to B [by DIM] [where ...] [count accounts]", summary: "the distribution of durations from the first A to the first B after it, with a histogram",
              examples: ["time from awareness to conversion by customer.segment"]),
        .init(name: "dropoff", syntax: "dropoff after S [to STEP] [where ...]", summary: "customers who reached S and never moved on: their last touchpoint, channel, stage, time since",
              examples: ["dropoff after consideration"]),
        .init(name: "revenue", syntax: "revenue [by DIM [top N]] [where ...] [count accounts]",
              summary: "orders (events with a value), revenue, share, average order value, revenue per customer and per buyer",
              examples: ["revenue by channel", "revenue by customer.segment count accounts", "revenue by month(timestamp) where stage = conversion"]),
        .init(name: "compare", syntax: "compare A with B [won STAGE] [where ...] [count accounts]",
              summary: "two segments side by side: customers, conversion (with a test of the difference), time to convert, revenue, touches, top touchpoint",
              examples: ["compare customer.segment = smb with customer.segment = enterprise", "compare touched channel:linkedin with not touched channel:linkedin"]),
        .init(name: "leads", syntax: "leads [by DIM] [mql STAGE] [sql STAGE] [won STAGE] [where ...] [count accounts]",
              summary: "lead quality: leads, MQL, SQL and won (reached that stage or a later one), the rates between them and revenue, by first-touch channel or any field",
              examples: ["leads by channel", "leads by customer.segment mql consideration sql intent won conversion", "leads by campaign count accounts"]),
        .init(name: "pauses", syntax: "pauses longer than D [resumed|open] [where ...] [limit N]", summary: "gaps between touches longer than D: where journeys resumed, and who is still silent",
              examples: ["pauses longer than 30d", "pauses longer than 60d open"]),
        .init(name: "customers", syntax: "customers|accounts who [not] reached STEP [and ...] [and no touch for D] [where ...] [limit N]",
              summary: "the customers matching a journey pattern, most recently active first", examples: ["customers who reached intent and not reached conversion and no touch for 14d"]),
        .init(name: "matching", syntax: "customers matching PATTERN [within D] [where ...] [limit N]  |  count matching PATTERN [within D] [by DIM] [where ...]",
              summary: "customers whose events match a regular pattern: X Y consecutive, X then Y [within D] later, | ? * + {m,n}, ( )",
              examples: ["customers matching awareness any* (webinar | whitepaper_download)+ any* conversion within 90d",
                         "count matching case_study_view then demo_request within 14d by channel"]),
        .init(name: "count", syntax: "count [customers|accounts|events] [by DIM[, DIM] [top N]] [where ...]", summary: "sizes, optionally broken down", examples: ["count customers by customer.segment"]),
        .init(name: "top", syntax: "top [N] channels|events|stages|kinds|campaigns [where ...]", summary: "the most frequent values, by events and customers", examples: ["top 5 channels"]),
        .init(name: "stats", syntax: "stats [where ...]", summary: "customers, accounts, events; touches, channels and days per journey", examples: ["stats"]),
        .init(name: "quality", syntax: "quality", summary: "nulls, duplicates, quarantined rows, unknown values, events per customer", examples: ["quality"]),
        .init(name: "attribution", syntax: "attribution [of STEP] [model first|last|linear|time_decay [half_life D]|position [A B C]|markov [order 1..3]|shapley|all] [by channel|event|kind|stage] [lookback D] [where ...]",
              summary: "credit for each conversion (count and value) split over the touchpoints before it, by the chosen model",
              examples: ["attribution model linear by channel", "attribution model markov order 2", "attribution model all lookback 180d"]),
        .init(name: "touchpoints", syntax: "touchpoints [for STEP] [by event|channel|kind|stage] [top N] [where ...]",
              summary: "which touchpoints go with converting journeys: conversion rate, lift, position, time to conversion, verdict",
              examples: ["touchpoints by channel", "touchpoints for event:demo_request by kind"]),
        .init(name: "gaps", syntax: "gaps [for STEP] [top N] [where ...]", summary: "decision-stage touchpoints (consideration, intent) where journeys end without converting",
              examples: ["gaps"]),
        .init(name: "retention", syntax: "retention from STEP [returning STEP] [every day|week|month|quarter] [periods N] [by DIM] [where ...]",
              summary: "cohorts by their first STEP and the share returning in each later period, as a shaded grid",
              examples: ["retention from stage:awareness every month periods 8", "retention from stage:conversion returning stage:retention every month by customer.segment"]),
        .init(name: "explain", syntax: "explain STATEMENT", summary: "the plan in plain words: how names were read, which filters are event- or journey-level",
              examples: ["explain funnel awareness > conversion within 30d"]),
        .init(name: "set", syntax: "set NAME = VALUE", summary: "a parameter for later statements ($NAME); --param NAME=VALUE in batch wins over a script's own set",
              examples: ["set since = 2024-01-01"]),
    ]

    var text: String {
        (["\(name): \(summary)", "  \(syntax)"] + examples.map { "  e.g. \($0)" }).joined(separator: "\n")
    }
}
