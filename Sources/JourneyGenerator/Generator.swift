import Foundation
import JourneyCore

/// Makes realistic customer journeys from a seed (same seed, same files). See datasets/README.md for the model.
public struct Generator {
    public enum Profile: String, Sendable { case b2b, b2c }

    public struct Summary: Sendable {
        public var customers = 0, accounts = 0, events = 0, conversions = 0
        public var files: [String] = []
    }

    public let profile: Profile
    public let customers: Int
    public let seed: UInt64
    /// Rows of dirt to include (duplicates, spellings, bad rows); off for clean benchmark data.
    public var dirt = true
    /// The campaign that drives pauses (`pausingCampaign`); off for data whose rules never change over time.
    public var pausingCampaignOn = true
    /// Journeys start between this day and 730 days later.
    public var startDay = UTC.daysFromCivil(2024, 1, 1)

    public init(profile: Profile, customers: Int, seed: UInt64) {
        self.profile = profile; self.customers = customers; self.seed = seed
    }

    struct Event { var customer: Int; var ts: Int64; var tp: Int; var value: Double?; var anonymous: String? }

    /// A paid touch's campaign: year, quarter and channel of the touch (2024_q4_display); other touches have none.
    static func campaign(of tp: Touchpoint, at ms: Int64) -> String {
        guard tp.kind == "paid" else { return "" }
        let (y, m, _) = UTC.civil(fromDays: Int(ms / UTC.msPerDay))
        return "\(y)_q\((m + 2) / 3)_\(tp.channel)"
    }

    /// The story of a campaign that drives pauses: the display campaign of the last quarter of 2024 announced the
    /// next year's prices, and the buying units that met it wait before each next stage six times in ten (others
    /// one in ten).
    public static let pausingCampaign = "2024_q4_display"

    /// Writes `events` and, beside it, customers/accounts/touchpoints files (names in `Summary.files`).
    public func write(to eventsPath: String) throws -> Summary {
        var rng = SeededRandom(seed: seed)
        let dir = (eventsPath as NSString).deletingLastPathComponent
        let stem = ((eventsPath as NSString).lastPathComponent as NSString).deletingPathExtension
        func sibling(_ name: String) -> String {
            let file = stem == "events" ? "\(name).csv" : "\(stem)-\(name).csv"
            return dir.isEmpty ? file : (dir as NSString).appendingPathComponent(file)
        }
        var summary = Summary()
        let out = try CSVWriter(path: eventsPath)
        out.row(["customer_id", "timestamp", "event", "channel", "stage", "kind", "account_id", "value", "source", "campaign", "device", "anonymous_id"])
        let custOut = try CSVWriter(path: sibling("customers"))
        custOut.row(["customer_id", "account_id", "segment", "status", "industry", "company_size", "country", "role"])
        let acctOut = profile == .b2b ? try CSVWriter(path: sibling("accounts")) : nil
        acctOut?.row(["account_id", "name", "industry", "size", "country"])
        let pool = touchpoints.enumerated().filter { profile == .b2b ? $0.element.b2b : $0.element.b2c }.map(\.offset)
        let byStage = (0..<7).map { s in pool.filter { touchpoints[$0].stage == s } }
        let channels = Array(Set(pool.map { touchpoints[$0].channel })).sorted()
        let industries = ["manufacturing", "software", "logistics", "healthcare", "retail", "finance", "energy"]
        let countries = ["DE", "AT", "CH", "NL", "FR", "UK", "US"]
        var nextCustomer = 1
        var nextAccount = 1
        let lastDay = Int64(startDay + 730 + 180) * UTC.msPerDay

        while nextCustomer <= customers {
            // One buying unit: an account with several stakeholders (b2b) or one person (b2c).
            let people = profile == .b2b ? min(1 + rng.count(mean: 2.3), 8, customers - nextCustomer + 1) : 1
            let ids = Array(nextCustomer..<(nextCustomer + people))
            nextCustomer += people
            let account = nextAccount
            nextAccount += 1
            let size = profile == .b2b ? Int(exp(2.5 + rng.unit() * 7.5)) : 0
            let segment = profile == .b2b ? (size >= 1000 ? "enterprise" : size >= 100 ? "mid_market" : "smb")
                                          : rng.pick(["young_urban", "family", "senior", "student"])
            let industry = rng.pick(industries)
            let country = rng.weighted(countries.enumerated().map { ($0.element, $0.offset < 3 ? 3.0 : 1.0) })
            if profile == .b2b {
                acctOut?.row([accountKey(account), "Company \(account)", industry, String(size), country])
                summary.accounts += 1
            }
            for (i, c) in ids.enumerated() {
                let role = profile == .b2b ? (i == 0 ? "champion" : rng.pick(["decision_maker", "user", "procurement", "it"])) : ""
                custOut.row([customerKey(c), profile == .b2b ? accountKey(account) : "", segment, rng.chance(0.8) ? "active" : "inactive",
                             profile == .b2b ? industry : "", profile == .b2b ? String(size) : "", country, role])
            }
            summary.customers += people

            // Preferred channels shape which touchpoints this unit meets.
            // b2b: website and sales plus one awareness channel; a few units also use a fourth channel.
            var preferred = Set<String>(profile == .b2b ? ["website", "sales"] : ["website"])
            preferred.insert(touchpoints[rng.pick(byStage[0])].channel)
            if rng.chance(0.25) { preferred.insert(rng.pick(channels)) }
            func touch(_ stage: Int) -> Int {
                let options = byStage[stage].map { ($0, preferred.contains(touchpoints[$0].channel) ? 150.0 : 1.0) }
                return rng.weighted(options)
            }
            let b2b = profile == .b2b
            let touchMean: [Double] = b2b ? [5.5, 7.0, 8.5, 7.0] : [1.6, 1.2, 1.6, 1.2]
            let gapMeanDays: Double = b2b ? 5.6 : 1.2
            let dropAfter: [Double] = b2b ? [0.40, 0.30, 0.28, 0.30] : [0.45, 0.35, 0.35, 0.40]
            var t = Int64(startDay + rng.int(730)) * UTC.msPerDay + Int64(rng.int(86_400_000))
            var events: [Event] = []
            func add(_ tp: Int, value: Double? = nil, person: Int? = nil) {
                let who = person ?? (people == 1 || rng.chance(0.45) ? ids[0] : rng.pick(ids))
                events.append(Event(customer: who, ts: t, tp: tp, value: value, anonymous: nil))
            }
            func advance(_ meanDays: Double) { t += Int64(rng.exponential(mean: meanDays) * 86_400_000) + 60_000 }

            var stage = 0
            var converted = false
            var visits = 0
            var waiting = false   // met the campaign that announced next year's prices (see pausingCampaign)
            while stage < 4 && visits < 12 {
                visits += 1
                let n = rng.count(mean: touchMean[stage], min: 1)
                for _ in 0..<n {
                    add(touch(stage))
                    if Generator.campaign(of: touchpoints[events[events.count - 1].tp], at: t) == Generator.pausingCampaign { waiting = pausingCampaignOn }
                    advance(gapMeanDays)
                }
                if rng.chance(dropAfter[stage]) { break }
                if rng.chance(waiting ? 0.85 : 0.10) { t += Int64((20 + rng.int(90)) + (waiting ? 30 : 0)) * UTC.msPerDay }   // a pause, then resumption
                if stage >= 2 && rng.chance(0.12) { stage -= 1; continue }                // back to an earlier stage
                stage += 1
                if stage == 4 { converted = true }
            }
            if converted {
                // b2b order size follows company size: small firms buy small and cost as much to serve (the
                // 15 EUR part that costs 100 EUR to handle), enterprises buy big.
                let (base, mean): (Double, Double) = segment == "enterprise" ? (15_000, 90_000) : segment == "mid_market" ? (4_000, 20_000) : (500, 1_500)
                let value = b2b ? (base + rng.exponential(mean: mean)).rounded() : (15 + rng.exponential(mean: 90)) * 100 / 100
                add(byStage[4][0], value: (value * 100).rounded() / 100, person: ids[0])
                summary.conversions += 1
                if rng.chance(0.7) {
                    let n = rng.count(mean: b2b ? 6 : 3, min: 1)
                    for _ in 0..<n {
                        advance(b2b ? 30 : 20)
                        let tp = touch(5)
                        let repeatBase = segment == "enterprise" ? 4_000.0 : segment == "mid_market" ? 1_000 : 150
                        let v: Double? = touchpoints[tp].event == "repeat_purchase" ? ((b2b ? repeatBase + rng.exponential(mean: repeatBase * 7) : 10 + rng.exponential(mean: 60)) * 100).rounded() / 100 : nil
                        add(tp, value: v)
                    }
                    if rng.chance(0.35) { advance(b2b ? 20 : 10); add(touch(6)) }
                }
            }
            // b2c: early web touches are often anonymous until the person identifies (sign-up or purchase).
            if !b2b, events.count > 1, rng.chance(0.35) {
                let anon = String(format: "anon-%08x", UInt32(truncatingIfNeeded: rng.next()))
                let k = 1 + rng.int(min(3, events.count - 1))
                for i in 0..<k where touchpoints[events[i].tp].online { events[i].anonymous = anon; events[i].customer = 0 }
                events[k].anonymous = anon
            }
            events.sort { ($0.customer, $0.ts) < ($1.customer, $1.ts) }
            for e in events where e.ts < lastDay {
                let tp = touchpoints[e.tp]
                var channel = tp.channel
                var source = tp.online ? "web_analytics" : "crm"
                let ts = UTC.format(ms: e.ts)
                let stageName = rng.chance(0.2) ? "" : ["awareness", "favorability", "consideration", "intent", "conversion", "retention", "advocacy"][tp.stage]
                if dirt && rng.chance(0.03) { channel = dirtySpelling(channel, &rng) }
                let campaign = Generator.campaign(of: tp, at: e.ts)
                let device = tp.online ? (b2b ? rng.weighted([("desktop", 7.0), ("mobile", 2.5), ("tablet", 0.5)]) : rng.weighted([("mobile", 6.0), ("desktop", 3.5), ("tablet", 0.5)])) : ""
                let value = e.value.map { String(format: "%.2f", $0) } ?? ""
                let cust = e.customer == 0 ? "" : customerKey(e.customer)
                let acct = b2b ? accountKey(account) : ""
                var fields = [cust, ts, tp.event, channel, stageName, tp.kind, acct, value, source, campaign, device, e.anonymous ?? ""]
                if dirt && rng.chance(1.0 / 4000) {
                    // A bad row: no customer, or a timestamp no parser accepts.
                    if rng.chance(0.5) { fields[0] = ""; fields[11] = "" } else { fields[1] = rng.pick(["2024-02-30T10:00:00Z", "yesterday", "31/12/2024"]) }
                }
                out.row(fields)
                summary.events += 1
                if dirt && rng.chance(0.004) { out.row(fields) }   // an exact duplicate
                if dirt && tp.online && rng.chance(0.03) {
                    // The same touchpoint recorded by a second system a few seconds later.
                    source = "crm"
                    fields[1] = UTC.format(ms: e.ts + Int64(1 + rng.int(40)) * 1000)
                    fields[8] = source
                    out.row(fields)
                }
            }
        }
        try out.close(); try custOut.close(); try acctOut?.close()
        summary.files = [eventsPath, sibling("customers")] + (profile == .b2b ? [sibling("accounts")] : [])
        // The touchpoint catalog: fills stage, channel and kind where rows leave them empty.
        let tpOut = try CSVWriter(path: sibling("touchpoints"))
        tpOut.row(["event", "stage", "channel", "kind", "online", "cost"])
        for i in pool {
            let tp = touchpoints[i]
            tpOut.row([tp.event, ["awareness", "favorability", "consideration", "intent", "conversion", "retention", "advocacy"][tp.stage],
                       tp.channel, tp.kind, tp.online ? "online" : "offline", String(tp.cost)])
        }
        try tpOut.close()
        summary.files.append(sibling("touchpoints"))
        return summary
    }

    private func customerKey(_ n: Int) -> String { String(format: profile == .b2b ? "C%07d" : "U%07d", n) }
    private func accountKey(_ n: Int) -> String { String(format: "A%06d", n) }

    private func dirtySpelling(_ channel: String, _ rng: inout SeededRandom) -> String {
        switch channel {
        case "linkedin": return rng.pick(["LinkedIn", "linkedin ", "Linked In", "LINKEDIN"])
        case "google_ads": return rng.pick(["Google Ads", "google-ads", "AdWords"])
        case "email": return rng.pick(["E-Mail", "Email", " email"])
        case "website": return rng.pick(["Website", "website ", "Web"])
        default: return channel.uppercased()
        }
    }
}

/// Buffered CSV output with RFC 4180 quoting.
final class CSVWriter {
    private let handle: FileHandle
    private var buffer: [UInt8] = []

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        handle = h
        buffer.reserveCapacity(1 << 20)
    }

    func row(_ fields: [String]) {
        for (i, f) in fields.enumerated() {
            if i > 0 { buffer.append(44) }
            if f.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
                buffer.append(34)
                for b in f.utf8 { if b == 34 { buffer.append(34) }; buffer.append(b) }
                buffer.append(34)
            } else {
                buffer.append(contentsOf: f.utf8)
            }
        }
        buffer.append(10)
        if buffer.count > 1 << 20 { flush() }
    }

    private func flush() { handle.write(Data(buffer)); buffer.removeAll(keepingCapacity: true) }

    func close() throws { flush(); try handle.close() }
}
