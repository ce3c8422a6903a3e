import JourneyCore

/// The fields an import understands, and the column names that mean them.
public enum Field: String, CaseIterable, Sendable {
    case customer = "customer_id", timestamp, event, channel, stage, kind, account = "account_id", value, source,
         campaign, device, anonymous = "anonymous_id", online
    // Customer and account master data.
    case segment, status, industry, companySize = "company_size", country, firstContact = "first_contact",
         name, size
    // Touchpoint catalog: what one touch costs.
    case cost
}

extension Field {
    /// Position in `allCases`, for array-indexed lookups in the import loop.
    var position: Int {
        switch self {
        case .customer: return 0
        case .timestamp: return 1
        case .event: return 2
        case .channel: return 3
        case .stage: return 4
        case .kind: return 5
        case .account: return 6
        case .value: return 7
        case .source: return 8
        case .campaign: return 9
        case .device: return 10
        case .anonymous: return 11
        case .online: return 12
        case .segment: return 13
        case .status: return 14
        case .industry: return 15
        case .companySize: return 16
        case .country: return 17
        case .firstContact: return 18
        case .name: return 19
        case .size: return 20
        case .cost: return 21
        }
    }
}

/// What a file holds, by its header (or `--table`).
public enum ImportTable: String, Sendable, CaseIterable {
    case events, customers, accounts, identities, touchpoints, stages
}

/// Maps header columns to fields: canonical names first, then common aliases, then `--map`.
public struct ColumnMapping {
    public private(set) var fieldColumn: [Field: Int] = [:]
    /// Columns kept as free properties (events) or attributes (customers/accounts): index and name.
    public private(set) var extraColumns: [(Int, String)] = []
    public let header: [String]

    static let aliases: [String: Field] = [
        "customer_id": .customer, "customer": .customer, "user_id": .customer, "userid": .customer, "user": .customer,
        "person_id": .customer, "distinct_id": .customer, "lead_id": .customer, "contact_id": .customer,
        "client_id": .customer, "customerid": .customer,
        "timestamp": .timestamp, "time": .timestamp, "ts": .timestamp, "event_time": .timestamp, "datetime": .timestamp,
        "date": .timestamp, "created_at": .timestamp, "occurred_at": .timestamp, "event_timestamp": .timestamp,
        "event": .event, "event_name": .event, "action": .event, "activity": .event, "touchpoint": .event,
        "event_type": .event,
        "channel": .channel, "utm_source": .channel, "medium": .channel, "channel_name": .channel,
        "stage": .stage, "phase": .stage, "funnel_stage": .stage,
        "kind": .kind, "touchpoint_kind": .kind, "media_type": .kind,
        "account_id": .account, "account": .account, "company_id": .account, "group_id": .account,
        "value": .value, "revenue": .value, "amount": .value, "price": .value,
        "source": .source, "source_system": .source,
        "campaign": .campaign, "utm_campaign": .campaign, "campaign_name": .campaign,
        "device": .device, "device_type": .device, "platform": .device,
        "anonymous_id": .anonymous, "anon_id": .anonymous, "cookie_id": .anonymous, "visitor_id": .anonymous,
        "online": .online, "cost": .cost, "cost_per_touch": .cost, "unit_cost": .cost,
        "segment": .segment, "status": .status, "industry": .industry, "company_size": .companySize,
        "employees": .companySize, "country": .country, "first_contact": .firstContact, "name": .name, "size": .size,
    ]

    /// Fields each table reads; other columns become properties / attributes.
    static func fields(for table: ImportTable) -> Set<Field> {
        switch table {
        case .events: return [.customer, .timestamp, .event, .channel, .stage, .kind, .account, .value, .source,
                              .campaign, .device, .anonymous, .online]
        case .customers: return [.customer, .account, .segment, .status, .industry, .companySize, .country, .firstContact]
        case .accounts: return [.account, .name, .industry, .size, .country]
        case .identities: return [.anonymous, .customer]
        case .touchpoints: return [.event, .stage, .channel, .kind, .online, .cost]
        case .stages: return [.stage]
        }
    }

    static func normalize(_ column: String) -> String {
        ValueNormalizer.key(column)
    }

    /// Guesses the table from the header's fields.
    public static func detectTable(header: [String], overrides: [String: String]) -> ImportTable? {
        var found = Set<Field>()
        for h in header {
            let n = normalize(h)
            if let o = overrides[n] ?? overrides[h], let f = Field(rawValue: o) { found.insert(f) } else if let f = aliases[n] { found.insert(f) }
        }
        if found.contains(.timestamp) && found.contains(.event) { return .events }
        if found == [.stage] { return .stages }
        if found == [.anonymous, .customer] { return .identities }
        if found.contains(.event) && !found.contains(.customer) && !found.isDisjoint(with: [.stage, .channel, .kind]) { return .touchpoints }
        if found.contains(.customer) { return .customers }
        if found.contains(.account) { return .accounts }
        return nil
    }

    /// Builds the mapping; `overrides` are `--map column=field` pairs (column as written or normalized).
    public init(header: [String], table: ImportTable, overrides: [String: String]) throws {
        self.header = header
        // NDJSON discovers its columns with the first row: nothing to check yet.
        if header.isEmpty { return }
        let wanted = Self.fields(for: table)
        for (col, f) in overrides {
            guard let field = Field(rawValue: f), wanted.contains(field) else {
                let names = wanted.map(\.rawValue).sorted().joined(separator: ", ")
                throw StoreError("--map \(col)=\(f): '\(f)' is not a field of \(table.rawValue) (fields: \(names))")
            }
            guard header.contains(col) || header.map(Self.normalize).contains(Self.normalize(col)) else {
                let hint = suggestion(for: col, among: header).map { " — did you mean '\($0)'?" } ?? ""
                throw StoreError("--map \(col)=\(f): the file has no column '\(col)'\(hint) (columns: \(header.joined(separator: ", ")))")
            }
        }
        // Pass 1: explicit maps; pass 2: exact canonical names; pass 3: aliases.
        var taken = Set<Int>()
        for (i, h) in header.enumerated() {
            if let f = overrides[h] ?? overrides[Self.normalize(h)], let field = Field(rawValue: f) {
                fieldColumn[field] = i; taken.insert(i)
            }
        }
        for (i, h) in header.enumerated() where !taken.contains(i) {
            if let field = Field(rawValue: Self.normalize(h)), wanted.contains(field), fieldColumn[field] == nil {
                fieldColumn[field] = i; taken.insert(i)
            }
        }
        for (i, h) in header.enumerated() where !taken.contains(i) {
            if let field = Self.aliases[Self.normalize(h)], wanted.contains(field), fieldColumn[field] == nil {
                fieldColumn[field] = i; taken.insert(i)
            }
        }
        for (i, h) in header.enumerated() where !taken.contains(i) {
            let name = Self.normalize(h)
            extraColumns.append((i, name.isEmpty ? "column_\(i + 1)" : name))
        }
        let required: [Field]
        switch table {
        case .events: required = fieldColumn[.anonymous] != nil ? [.timestamp, .event] : [.customer, .timestamp, .event]
        case .customers: required = [.customer]
        case .accounts: required = [.account]
        case .identities: required = [.anonymous, .customer]
        case .touchpoints: required = [.event]
        case .stages: required = [.stage]
        }
        for f in required where fieldColumn[f] == nil {
            let hint = suggestion(for: f.rawValue, among: header).map { " — did you mean '\($0)'? (use --map \($0)=\(f.rawValue))" }
                ?? " (use --map COLUMN=\(f.rawValue))"
            throw StoreError("no column for '\(f.rawValue)' in the header (\(header.joined(separator: ", ")))\(hint)")
        }
    }
}

