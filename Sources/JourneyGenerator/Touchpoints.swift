/// A touchpoint the generator can emit: its event name, stage, channel, kind and whether it is online.
struct Touchpoint {
    let event: String
    let stage: Int          // index into the default stage list
    let channel: String
    let kind: String        // paid | owned | earned
    let online: Bool
    let b2b: Bool
    let b2c: Bool
}

enum Stage: Int { case awareness = 0, favorability, consideration, intent, conversion, retention, advocacy }

/// The catalog of touchpoints, by stage. Channels follow CONTEXT.md's examples.
let touchpoints: [Touchpoint] = [
    // awareness
    Touchpoint(event: "linkedin_ad", stage: 0, channel: "linkedin", kind: "paid", online: true, b2b: true, b2c: false),
    Touchpoint(event: "google_ad_click", stage: 0, channel: "google_ads", kind: "paid", online: true, b2b: true, b2c: true),
    Touchpoint(event: "display_banner", stage: 0, channel: "display", kind: "paid", online: true, b2b: true, b2c: true),
    Touchpoint(event: "trade_fair_visit", stage: 0, channel: "events", kind: "owned", online: false, b2b: true, b2c: false),
    Touchpoint(event: "podcast_mention", stage: 0, channel: "podcast", kind: "earned", online: true, b2b: true, b2c: true),
    Touchpoint(event: "instagram_ad", stage: 0, channel: "instagram", kind: "paid", online: true, b2b: false, b2c: true),
    Touchpoint(event: "influencer_post", stage: 0, channel: "instagram", kind: "earned", online: true, b2b: false, b2c: true),
    Touchpoint(event: "radio_spot", stage: 0, channel: "radio", kind: "paid", online: false, b2b: false, b2c: true),
    Touchpoint(event: "poster", stage: 0, channel: "outdoor", kind: "paid", online: false, b2b: false, b2c: true),
    // favorability
    Touchpoint(event: "landing_page_view", stage: 1, channel: "website", kind: "owned", online: true, b2b: true, b2c: true),
    Touchpoint(event: "blog_post_view", stage: 1, channel: "website", kind: "owned", online: true, b2b: true, b2c: true),
    Touchpoint(event: "linkedin_post", stage: 1, channel: "linkedin", kind: "earned", online: true, b2b: true, b2c: false),
    Touchpoint(event: "newsletter_signup", stage: 1, channel: "email", kind: "owned", online: true, b2b: true, b2c: true),
    Touchpoint(event: "review_read", stage: 1, channel: "review_sites", kind: "earned", online: true, b2b: true, b2c: true),
    Touchpoint(event: "word_of_mouth", stage: 1, channel: "word_of_mouth", kind: "earned", online: false, b2b: true, b2c: true),
    // consideration
    Touchpoint(event: "whitepaper_download", stage: 2, channel: "website", kind: "owned", online: true, b2b: true, b2c: false),
    Touchpoint(event: "webinar", stage: 2, channel: "webinar", kind: "owned", online: true, b2b: true, b2c: false),
    Touchpoint(event: "case_study_view", stage: 2, channel: "website", kind: "owned", online: true, b2b: true, b2c: false),
    Touchpoint(event: "newsletter_click", stage: 2, channel: "email", kind: "owned", online: true, b2b: true, b2c: true),
    Touchpoint(event: "brochure", stage: 2, channel: "print", kind: "owned", online: false, b2b: true, b2c: true),
    Touchpoint(event: "product_page_view", stage: 2, channel: "website", kind: "owned", online: true, b2b: false, b2c: true),
    Touchpoint(event: "comparison_site", stage: 2, channel: "review_sites", kind: "earned", online: true, b2b: false, b2c: true),
    // intent
    Touchpoint(event: "pricing_page_view", stage: 3, channel: "website", kind: "owned", online: true, b2b: true, b2c: true),
    Touchpoint(event: "demo_request", stage: 3, channel: "website", kind: "owned", online: true, b2b: true, b2c: false),
    Touchpoint(event: "sales_call", stage: 3, channel: "sales", kind: "owned", online: false, b2b: true, b2c: false),
    Touchpoint(event: "consultation", stage: 3, channel: "sales", kind: "owned", online: false, b2b: true, b2c: true),
    Touchpoint(event: "add_to_cart", stage: 3, channel: "website", kind: "owned", online: true, b2b: false, b2c: true),
    Touchpoint(event: "live_chat", stage: 3, channel: "chat", kind: "owned", online: true, b2b: true, b2c: true),
    // conversion
    Touchpoint(event: "contract_signed", stage: 4, channel: "sales", kind: "owned", online: false, b2b: true, b2c: false),
    Touchpoint(event: "purchase", stage: 4, channel: "website", kind: "owned", online: true, b2b: false, b2c: true),
    // retention
    Touchpoint(event: "onboarding_session", stage: 5, channel: "sales", kind: "owned", online: false, b2b: true, b2c: false),
    Touchpoint(event: "support_call", stage: 5, channel: "support", kind: "owned", online: false, b2b: true, b2c: true),
    Touchpoint(event: "newsletter_open", stage: 5, channel: "email", kind: "owned", online: true, b2b: true, b2c: true),
    Touchpoint(event: "repeat_purchase", stage: 5, channel: "website", kind: "owned", online: true, b2b: true, b2c: true),
    // advocacy
    Touchpoint(event: "review_written", stage: 6, channel: "review_sites", kind: "earned", online: true, b2b: true, b2c: true),
    Touchpoint(event: "referral", stage: 6, channel: "word_of_mouth", kind: "earned", online: false, b2b: true, b2c: true),
    Touchpoint(event: "social_share", stage: 6, channel: "linkedin", kind: "earned", online: true, b2b: true, b2c: false),
]
