/// The store's tables. Times are UTC milliseconds; names are dictionary codes (see `dictionary`).
/// Version 2 stores chunk columns encoded (`ColumnCodec`); version 1 stored them as raw arrays, and such a store
/// is read as it is and rewritten in version 2 by its next import (`ChunkWriter.upgrade`).
enum Schema {
    static let version: Int64 = 2

    static let defaultStages = ["awareness", "favorability", "consideration", "intent", "conversion", "retention", "advocacy"]

    /// Set on a new file before any table (page size cannot change later; WAL cannot change inside a transaction).
    static let pragmas = "PRAGMA page_size = 65536; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL"

    /// The tables, created in one transaction: a process killed while a store is created leaves no half schema.
    static let create = """
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
        online INTEGER, cost REAL);
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
    -- The events: CHUNK customers (by id range) per row, each stored field a column BLOB (see EventColumns).
    -- Per customer, events are time-ordered with ties in import order. merged = events flagged as the same
    -- touchpoint recorded by a second source (kept, left out of queries). The columns the engine loads come
    -- first: a row's BLOBs lie in one chain of overflow pages, so reading a column reads every page before it.
    CREATE TABLE IF NOT EXISTS chunks(
        chunk INTEGER PRIMARY KEY, customers INTEGER NOT NULL, events INTEGER NOT NULL, merged INTEGER NOT NULL,
        min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL,
        ids BLOB, offsets BLOB, times BLOB, codes BLOB, channels BLOB, stages BLOB, kinds BLOB, campaigns BLOB,
        vals BLOB, mflags BLOB, devices BLOB, sources BLOB, onlines BLOB, hashes BLOB, imports BLOB,
        prop_offsets BLOB, props BLOB, sums BLOB);
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
