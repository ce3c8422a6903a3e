/// Every customer's journey as time-ordered, dictionary-encoded columns — what the engine scans.
///
/// Customer `i` (a dense index, not the store's id) owns events `offsets[i] ..< offsets[i+1]`.
/// Within a customer, events are ordered by time, ties in import order. Codes index the `Catalog`'s name
/// lists; code 0 means "none" for channel, stage, kind and campaign.
public struct PackedSequences: Sendable {
    public var customerIDs: [Int64] = []      // store id of each customer index
    public var offsets: [Int32] = [0]         // count + 1
    public var times: [Int64] = []            // ms since the epoch, UTC
    public var events: [UInt32] = []
    public var channels: [UInt16] = []
    public var stages: [UInt8] = []           // stage ordinal + 1 (0 = no stage)
    public var kinds: [UInt8] = []            // 0 none, 1 paid, 2 owned, 3 earned
    public var campaigns: [UInt32] = []
    public var values = SparseDoubles()       // NaN = no value; stored sparsely (few events have one)
    /// Loaded only for statements that read them (`loaded`; `QueryPlan.columns`); empty otherwise.
    public var devices: [UInt16] = []
    public var sources: [UInt16] = []
    /// Free event properties loaded for the statements that name them: name → (values by code, code per event;
    /// code 0 = the event has no such property).
    public var properties: [String: (values: [String], codes: [UInt32])] = [:]

    /// The optional columns that hold every event's value (the others are empty).
    public var loaded: Set<PackedColumn> = Set(PackedColumn.allCases)

    public init() {}

    public var customerCount: Int { customerIDs.count }
    public var eventCount: Int { times.count }

    public mutating func reserve(events n: Int, customers c: Int) {
        times.reserveCapacity(n); events.reserveCapacity(n); channels.reserveCapacity(n)
        stages.reserveCapacity(n); kinds.reserveCapacity(n); campaigns.reserveCapacity(n); values.reserveCapacity(n)
        customerIDs.reserveCapacity(c); offsets.reserveCapacity(c + 1)
    }

    /// Bytes held by the columns (for `explain` and the memory figures in bench/).
    public var byteSize: Int {
        times.count * 8 + events.count * 4 + channels.count * 2 + stages.count + kinds.count
            + campaigns.count * 4 + values.byteSize + customerIDs.count * 8 + offsets.count * 4
            + devices.count * 2 + sources.count * 2
    }
}

/// The event columns a load may leave out when a statement does not read them (time, event, stage and value
/// are always there): a 4-step stage funnel then holds 15 bytes per event instead of 23.
public enum PackedColumn: String, CaseIterable, Sendable {
    case channel, kind, campaign, device, source
    /// What statements read unless they say otherwise (device and source only when named).
    public static let usual: Set<PackedColumn> = [.channel, .kind, .campaign]
}

/// Names behind the codes, and the per-customer attributes journey-level filters read.
public struct Catalog: Sendable {
    /// Stage names in their configured order (awareness first); a packed stage code is ordinal + 1.
    public var stages: [String] = []
    /// Indexed by code; index 0 is "" (none).
    public var events: [String] = [""]
    public var channels: [String] = [""]
    public var campaigns: [String] = [""]
    public var devices: [String] = [""]
    public var sources: [String] = [""]
    public static let kinds = ["", "paid", "owned", "earned"]
    /// Customer attribute names (segment, status, industry, ...), for binding `customer.X`.
    public var customerAttributes: [String] = []
    /// Event property names seen on import.
    public var properties: [String] = []
    /// Cost of one touch, by event code, from the touchpoint catalog's `cost` column (0 where none is given).
    public var eventCosts: [Double] = []
    /// Whether the touchpoint catalog gives any touchpoint a cost (cost and margin columns appear only then).
    public var hasCosts: Bool { eventCosts.contains { $0 != 0 } }
    /// The cost of one touch of event `code`.
    @inline(__always) public func cost(ofEvent code: Int) -> Double { code < eventCosts.count ? eventCosts[code] : 0 }

    public init() {}

    public func stageCode(_ name: String) -> UInt8? {
        stages.firstIndex(of: name).map { UInt8($0 + 1) }
    }
}
