/// A touchpoint the generator can emit: its event name, stage, channel, kind and whether it is online.
struct Touchpoint {
    let event: String
    let stage: Int          // index into the default stage list
    let channel: String
    let kind: String        // paid | owned | earned
    let online: Bool
    let b2b: Bool
    let b2c: Bool
    /// What one touch costs the seller (EUR): media per click or view, people's time for calls and visits.
    let cost: Double
}

enum Stage: Int { case awareness = 0, favorability, consideration, intent, conversion, retention, advocacy }

/// The catalog of touchpoints, by stage. Channels follow CONTEXT.md's examples.
let touchpoints: [Touchpoint] = [
    // awareness
    Touchpoint(event: "linkedin_ad", stage: 0, channel: "linkedin", kind: "paid", online: true, b2b: true, b2c: false, cost: 6),
    Touchpoint(event: "google_ad_click", stage: 0, channel: "google_ads", kind: "paid", online: true, b2b: true, b2c: true, cost: 3.5),
    Touchpoint(event: "display_banner", stage: 0, channel: "display", kind: "paid", online: true, b2b: true, b2c: true, cost: 0.8),
    Touchpoint(event: "trade_fair_visit", stage: 0, channel: "events", kind: "owned", online: false, b2b: true, b2c: false, cost: 350),
    Touchpoint(event: "podcast_mention", stage: 0, channel: "podcast", kind: "earned", online: true, b2b: true, b2c: true, cost: 15),
    Touchpoint(event: "instagram_ad", stage: 0, channel: "instagram", kind: "paid", online: true, b2b: false, b2c: true, cost: 1.2),
    Touchpoint(event: "influencer_post", stage: 0, channel: "instagram", kind: "earned", online: true, b2b: false, b2c: true, cost: 4),
    Touchpoint(event: "radio_spot", stage: 0, channel: "radio", kind: "paid", online: false, b2b: false, b2c: true, cost: 2),
    Touchpoint(event: "poster", stage: 0, channel: "outdoor", kind: "paid", online: false, b2b: false, b2c: true, cost: 0.5),
    // favorability
    Touchpoint(event: "landing_page_view", stage: 1, channel: "website", kind: "owned", online: true, b2b: true, b2c: true, cost: 0.3),
    Touchpoint(event: "blog_post_view", stage: 1, channel: "website", kind: "owned", online: true, b2b: true, b2c: true, cost: 0.2),
    Touchpoint(event: "linkedin_post", stage: 1, channel: "linkedin", kind: "earned", online: true, b2b: true, b2c: false, cost: 0.5),
    Touchpoint(event: "newsletter_signup", stage: 1, channel: "email", kind: "owned", online: true, b2b: true, b2c: true, cost: 1),
    Touchpoint(event: "review_read", stage: 1, channel: "review_sites", kind: "earned", online: true, b2b: true, b2c: true, cost: 0),
    Touchpoint(event: "word_of_mouth", stage: 1, channel: "word_of_mouth", kind: "earned", online: false, b2b: true, b2c: true, cost: 0),
    // consideration
    Touchpoint(event: "whitepaper_download", stage: 2, channel: "website", kind: "owned", online: true, b2b: true, b2c: false, cost: 2),
    Touchpoint(event: "webinar", stage: 2, channel: "webinar", kind: "owned", online: true, b2b: true, b2c: false, cost: 40),
    Touchpoint(event: "case_study_view", stage: 2, channel: "website", kind: "owned", online: true, b2b: true, b2c: false, cost: 0.5),
    Touchpoint(event: "newsletter_click", stage: 2, channel: "email", kind: "owned", online: true, b2b: true, b2c: true, cost: 0.2),
    Touchpoint(event: "brochure", stage: 2, channel: "print", kind: "owned", online: false, b2b: true, b2c: true, cost: 12),
    Touchpoint(event: "product_page_view", stage: 2, channel: "website", kind: "owned", online: true, b2b: false, b2c: true, cost: 0.2),
    Touchpoint(event: "comparison_site", stage: 2, channel: "review_sites", kind: "earned", online: true, b2b: false, b2c: true, cost: 1.5),
    // intent
    Touchpoint(event: "pricing_page_view", stage: 3, channel: "website", kind: "owned", online: true, b2b: true, b2c: true, cost: 0.3),
    Touchpoint(event: "demo_request", stage: 3, channel: "website", kind: "owned", online: true, b2b: true, b2c: false, cost: 60),
    Touchpoint(event: "sales_call", stage: 3, channel: "sales", kind: "owned", online: false, b2b: true, b2c: false, cost: 180),
    Touchpoint(event: "consultation", stage: 3, channel: "sales", kind: "owned", online: false, b2b: true, b2c: true, cost: 320),
    Touchpoint(event: "add_to_cart", stage: 3, channel: "website", kind: "owned", online: true, b2b: false, b2c: true, cost: 0),
    Touchpoint(event: "live_chat", stage: 3, channel: "chat", kind: "owned", online: true, b2b: true, b2c: true, cost: 15),
    // conversion
    Touchpoint(event: "contract_signed", stage: 4, channel: "sales", kind: "owned", online: false, b2b: true, b2c: false, cost: 400),
    Touchpoint(event: "purchase", stage: 4, channel: "website", kind: "owned", online: true, b2b: false, b2c: true, cost: 2),
    // retention
    Touchpoint(event: "onboarding_session", stage: 5, channel: "sales", kind: "owned", online: false, b2b: true, b2c: false, cost: 600),
    Touchpoint(event: "support_call", stage: 5, channel: "support", kind: "owned", online: false, b2b: true, b2c: true, cost: 90),
    Touchpoint(event: "newsletter_open", stage: 5, channel: "email", kind: "owned", online: true, b2b: true, b2c: true, cost: 0.1),
    Touchpoint(event: "repeat_purchase", stage: 5, channel: "website", kind: "owned", online: true, b2b: true, b2c: true, cost: 25),
    // advocacy
    Touchpoint(event: "review_written", stage: 6, channel: "review_sites", kind: "earned", online: true, b2b: true, b2c: true, cost: 0),
    Touchpoint(event: "referral", stage: 6, channel: "word_of_mouth", kind: "earned", online: false, b2b: true, b2c: true, cost: 50),
    Touchpoint(event: "social_share", stage: 6, channel: "linkedin", kind: "earned", online: true, b2b: true, b2c: false, cost: 0),
]
