/// The store's tables. Version 1. Times are UTC milliseconds; names are dictionary codes (see `dictionary`).
enum Schema {
    static let version: Int64 = 1

    static let defaultStages = ["awareness", "favorability", "consideration", "intent", "conversion", "retention", "advocacy"]

    static let create = """
    PRAGMA journal_mode = WAL;
    CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- Every name the events use, by domain: event, channel, source, campaign, device, property.
    CREATE TABLE IF NOT EXISTS dictionary(
        domain TEXT NOT NULL, code INTEGER NOT NULL, name TEXT NOT NULL,
        PRIMARY KEY(domain, code), UNIQUE(domain, name));
    -- The ordered stage catalog (configurable): ord 0 is the first stage.
    CREATE TABLE IF NOT EXISTS stages(ord INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    -- Touchpoint catalog: fills stage, channel and kind for events whose rows do not carry them.
    CREATE TABLE IF NOT EXISTS touchpoints(
        event TEXT PRIMARY KEY, stage TEXT, channel TEXT, kind TEXT CHECK(kind IN ('paid','owned','earned')),
        online INTEGER);
    -- Value standardization: a normalized spelling and what it means (domain: channel, source, device, ...).
    CREATE TABLE IF NOT EXISTS aliases(domain TEXT NOT NULL, alias TEXT NOT NULL, canonical TEXT NOT NULL,
        PRIMARY KEY(domain, alias));
    CREATE TABLE IF NOT EXISTS accounts(
        id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT, industry TEXT, size INTEGER,
        country TEXT, attrs TEXT);
    CREATE TABLE IF NOT EXISTS customers(
        id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, account INTEGER REFERENCES accounts(id),
        segment TEXT, status TEXT, industry TEXT, company_size INTEGER, country TEXT, first_contact INTEGER,
        anonymous INTEGER NOT NULL DEFAULT 0, merged_into INTEGER, attrs TEXT);
    -- An anonymous id and the customer it was identified as.
    CREATE TABLE IF NOT EXISTS identities(anonymous_id TEXT PRIMARY KEY, customer INTEGER NOT NULL);
    -- One row per touchpoint. Clustered by (customer, ts): a customer's journey is one range read.
    -- rowhash fingerprints the whole row, so an exact duplicate (or a re-import) hits the primary key.
    -- merged = 1: the same touchpoint recorded by another source within the tolerance; kept for audit,
    -- left out of the packed sequences.
    CREATE TABLE IF NOT EXISTS events(
        customer INTEGER NOT NULL, ts INTEGER NOT NULL, rowhash INTEGER NOT NULL, seq INTEGER NOT NULL,
        event INTEGER NOT NULL, channel INTEGER NOT NULL DEFAULT 0, stage INTEGER NOT NULL DEFAULT 0,
        kind INTEGER NOT NULL DEFAULT 0, online INTEGER, campaign INTEGER NOT NULL DEFAULT 0,
        device INTEGER NOT NULL DEFAULT 0, source INTEGER NOT NULL DEFAULT 0, value REAL, props TEXT,
        merged INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY(customer, ts, rowhash)) WITHOUT ROWID;
    -- Rows that could not be stored, with where they came from and why. Never silently dropped.
    CREATE TABLE IF NOT EXISTS quarantine(
        id INTEGER PRIMARY KEY, file TEXT NOT NULL, line INTEGER NOT NULL, reason TEXT NOT NULL, detail TEXT, raw TEXT,
        UNIQUE(file, line, reason));
    -- One row per import run.
    CREATE TABLE IF NOT EXISTS imports(
        id INTEGER PRIMARY KEY, file TEXT NOT NULL, started INTEGER NOT NULL, finished INTEGER,
        rows_read INTEGER NOT NULL DEFAULT 0, stored INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0, already_stored INTEGER NOT NULL DEFAULT 0,
        cross_source INTEGER NOT NULL DEFAULT 0, quarantined INTEGER NOT NULL DEFAULT 0);
    -- The packed per-customer sequences, CHUNK customers (by id range) per row, rebuilt when dirty.
    CREATE TABLE IF NOT EXISTS chunks(
        chunk INTEGER PRIMARY KEY, customers INTEGER NOT NULL, events INTEGER NOT NULL,
        ids BLOB, offsets BLOB, times BLOB, codes BLOB, channels BLOB, stages BLOB, kinds BLOB,
        campaigns BLOB, vals BLOB);
    -- Chunks whose events changed since they were packed (written in the same transaction as the events).
    CREATE TABLE IF NOT EXISTS dirty_chunks(chunk INTEGER PRIMARY KEY);
    -- Which customers (by id) have a given code: the engine's candidate pruning. domain: event|channel|stage.
    CREATE TABLE IF NOT EXISTS postings(domain TEXT NOT NULL, code INTEGER NOT NULL, chunk INTEGER NOT NULL,
        ids BLOB NOT NULL, PRIMARY KEY(domain, code, chunk)) WITHOUT ROWID;
    -- Readable view for sqlite3 users.
    CREATE VIEW IF NOT EXISTS event_log AS
        SELECT c.key AS customer_id, a.key AS account_id,
               strftime('%Y-%m-%dT%H:%M:%fZ', e.ts / 1000.0, 'unixepoch') AS timestamp,
               ev.name AS event, ch.name AS channel, st.name AS stage,
               CASE e.kind WHEN 1 THEN 'paid' WHEN 2 THEN 'owned' WHEN 3 THEN 'earned' END AS kind,
               cp.name AS campaign, dv.name AS device, so.name AS source, e.value, e.props, e.merged
        FROM events e JOIN customers c ON c.id = e.customer
        LEFT JOIN accounts a ON a.id = c.account
        LEFT JOIN dictionary ev ON ev.domain = 'event' AND ev.code = e.event
        LEFT JOIN dictionary ch ON ch.domain = 'channel' AND ch.code = e.channel
        LEFT JOIN stages st ON st.ord + 1 = e.stage
        LEFT JOIN dictionary cp ON cp.domain = 'campaign' AND cp.code = e.campaign
        LEFT JOIN dictionary dv ON dv.domain = 'device' AND dv.code = e.device
        LEFT JOIN dictionary so ON so.domain = 'source' AND so.code = e.source;
    """

    /// Channel spellings that normalization alone does not unify (normalized form → canonical).
    static let defaultAliases: [(String, String, String)] = [
        ("channel", "linked_in", "linkedin"), ("channel", "li", "linkedin"),
        ("channel", "google", "google_ads"), ("channel", "adwords", "google_ads"), ("channel", "googleads", "google_ads"),
        ("channel", "fb", "facebook"), ("channel", "meta", "facebook"),
        ("channel", "e_mail", "email"), ("channel", "mail", "email"), ("channel", "newsletter", "email"),
        ("channel", "yt", "youtube"), ("channel", "you_tube", "youtube"),
        ("channel", "web", "website"), ("channel", "site", "website"),
        ("channel", "tradefair", "events"), ("channel", "trade_fair", "events"),
        ("device", "phone", "mobile"), ("device", "smartphone", "mobile"), ("device", "pc", "desktop"),
    ]
}
