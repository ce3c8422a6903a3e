import JourneyTestSupport
import Foundation
import Testing
@testable import JourneyStore
import JourneyCore
import JourneyGenerator

@Suite struct ImportTests {
    func store(_ dir: String) throws -> Store { try Store(path: dir + "/s.journey") }

    /// A load reads one committed state even when another connection commits an import in the middle of it
    /// (between the chunk list and the chunks): it notices and reads again, never copying chunks that no longer
    /// match the list (which wrote past the columns before the loader checked).
    @Test func aLoadNeverMixesTwoStates() throws {
        let d = tempDir()
        var g = Generator(profile: .b2c, customers: 600, seed: 4)
        g.dirt = false
        _ = try g.write(to: d + "/a.csv")
        var h = Generator(profile: .b2c, customers: 600, seed: 5)
        h.dirt = false
        _ = try h.write(to: d + "/b.csv")
        let reader = try store(d)
        _ = try reader.importFile(d + "/a.csv")
        let before = try reader.loadSequences()
        var writes = 0
        reader.afterChunkList = {
            guard writes == 0 else { return }
            writes += 1
            // Another connection (as another process would) commits a second file now.
            do { _ = try Store(path: d + "/s.journey").importFile(d + "/b.csv") } catch { Issue.record("\(error)") }
        }
        let (during, catalog, _) = try reader.loadJourneys()
        reader.afterChunkList = nil
        let after = try Store(path: d + "/s.journey").loadSequences()
        #expect(writes == 1 && during.eventCount > before.eventCount)
        #expect(during.eventCount == after.eventCount && during.times == after.times && during.events == after.events
                && during.offsets == after.offsets && during.customerIDs == after.customerIDs)
        #expect(catalog.events.count > Int(during.events.max() ?? 0), "the catalog names every code of the journeys it came with")
    }

    /// A property is read from the state the journeys in memory came from, or not at all: after another
    /// connection's import its events would not line up with theirs.
    @Test func aPropertyComesFromTheJourneysState() throws {
        let d = tempDir()
        write("customer_id,timestamp,event,plan\nc1,2024-01-01T00:00:00Z,ad,pro\nc2,2024-01-02T00:00:00Z,visit,free\n", to: d + "/a.csv")
        write("customer_id,timestamp,event,plan\nc0,2023-01-01T00:00:00Z,ad,team\n", to: d + "/b.csv")
        let s = try store(d)
        _ = try s.importFile(d + "/a.csv")
        let loaded = try s.loadJourneys()
        #expect(try s.loadProperty("plan", at: loaded.generation).codes.count == loaded.sequences.eventCount)
        _ = try Store(path: d + "/s.journey").importFile(d + "/b.csv")
        #expect(throws: Store.StoreChanged.self) { try s.loadProperty("plan", at: loaded.generation) }
        let again = try s.loadJourneys()
        #expect(try s.loadProperty("plan", at: again.generation).codes.count == again.sequences.eventCount)
    }

    @Test func reimportAddsNothing() throws {
        let d = tempDir()
        write("customer_id,timestamp,event,channel\nc1,2024-01-01T00:00:00Z,ad,linkedin\nc1,2024-01-02T00:00:00Z,visit,website\n", to: d + "/e.csv")
        let s = try store(d)
        let first = try s.importFile(d + "/e.csv")
        let second = try s.importFile(d + "/e.csv")
        #expect(first.stored == 2 && second.stored == 0 && second.alreadyStored == 2)
        #expect(try s.summary().events == 2)
    }

    @Test func exactAndCrossSourceDuplicatesAreMergedAndCounted() throws {
        let d = tempDir()
        write("""
        customer_id,timestamp,event,channel,source
        c1,2024-01-01T10:00:00Z,webinar,webinar,web
        c1,2024-01-01T10:00:00Z,webinar,webinar,web
        c1,2024-01-01T10:00:30Z,webinar,webinar,crm
        c1,2024-01-01T10:05:00Z,webinar,webinar,crm
        c2,2024-01-01T10:00:00Z,webinar,webinar,web
        """, to: d + "/e.csv")
        let s = try store(d)
        let r = try s.importFile(d + "/e.csv")
        #expect(r.duplicates == 1)        // row 2 repeats row 1
        #expect(r.crossSource == 1)       // row 3: same touchpoint from crm 30 s later; row 4 is 5 min later: kept
        let seq = try s.loadSequences()
        #expect(seq.eventCount == 3)
        #expect(Array(seq.offsets) == [0, 2, 3])
    }

    @Test func deviceAndSourceColumnsStayAlignedAcrossMergedEvents() throws {
        let d = tempDir()
        write("""
        customer_id,timestamp,event,channel,source,device
        c1,2024-01-01T10:00:00Z,webinar,webinar,web,Desktop
        c1,2024-01-01T10:00:20Z,webinar,webinar,crm,desktop
        c1,2024-01-02T10:00:00Z,visit,website,web,Mobile
        c2,2024-01-03T10:00:00Z,visit,website,crm,tablet
        """, to: d + "/e.csv")
        let s = try Store(path: d + "/s.journey")
        _ = try s.importFile(d + "/e.csv")
        let seq = try s.loadSequences(columns: Set(PackedColumn.allCases)), cat = try s.catalog()
        #expect(seq.eventCount == 3)   // the crm copy of the webinar is merged
        #expect(seq.devices.map { cat.devices[Int($0)] } == ["desktop", "mobile", "tablet"])
        #expect(seq.sources.map { cat.sources[Int($0)] } == ["web", "web", "crm"])
        #expect(try s.loadSequences().devices.isEmpty)
    }

    @Test func loadingOnTwoThreadsEqualsOne() throws {
        let d = tempDir()
        var g = Generator(profile: .b2c, customers: 20_000, seed: 8)   // more than one chunk, with merged duplicates
        g.dirt = true
        _ = try g.write(to: d + "/events.csv")
        let s = try Store(path: d + "/s.journey")
        let r = try s.importFile(d + "/events.csv")
        #expect(r.crossSource > 0)
        let one = try s.loadSequences(columns: Set(PackedColumn.allCases), threads: 1)
        let two = try s.loadSequences(columns: Set(PackedColumn.allCases), threads: 2)
        #expect(one.customerCount > Int(Store.chunkSize))
        #expect(one.customerIDs == two.customerIDs && one.offsets == two.offsets && one.times == two.times)
        #expect(one.events == two.events && one.channels == two.channels && one.stages == two.stages && one.kinds == two.kinds)
        #expect(one.campaigns == two.campaigns && one.devices == two.devices && one.sources == two.sources)
        #expect(zip(one.values, two.values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        #expect(one.eventCount == r.stored - r.crossSource)
    }

    @Test func channelSpellingsBecomeOne() throws {
        let d = tempDir()
        write("customer_id,timestamp,event,channel\na,2024-01-01,x,LinkedIn\nb,2024-01-01,x,linkedin \nc,2024-01-01,x,Linked In\nd,2024-01-01,x,Google Ads\n", to: d + "/e.csv")
        let s = try store(d)
        _ = try s.importFile(d + "/e.csv")
        #expect(try s.catalog().channels.filter { !$0.isEmpty }.sorted() == ["google_ads", "linkedin"])
    }

    @Test func badRowsAreQuarantinedWithLineAndReason() throws {
        let d = tempDir()
        var bytes = Array("customer_id,timestamp,event\nc1,2024-01-01,a\n,2024-01-01,b\nc2,yesterday,c\nc3,2024-01-01\nc4,2024-01-02,".utf8)
        bytes += [0xFF, 0x62] + Array("\nc5,2024-01-03,ok\n".utf8)
        _ = FileManager.default.createFile(atPath: d + "/e.csv", contents: Data(bytes))
        let s = try store(d)
        let r = try s.importFile(d + "/e.csv")
        #expect(r.stored == 2)
        #expect(r.quarantined == ["no customer": 1, "bad timestamp": 1, "wrong column count": 1, "invalid UTF-8": 1])
        #expect(r.problems.map(\.line) == [3, 4, 5, 6])
        #expect(r.rowsRead == r.stored + r.quarantinedTotal)
    }

    @Test func identityStitchingJoinsAnonymousEvents() throws {
        let d = tempDir()
        write("customer_id,anonymous_id,timestamp,event\n,a1,2024-01-01,ad\n,a1,2024-01-02,visit\nc9,a1,2024-01-03,signup\n,a1,2024-01-04,visit2\n", to: d + "/e.csv")
        let s = try store(d)
        let r = try s.importFile(d + "/e.csv")
        #expect(r.identitiesStitched == 1)
        let seq = try s.loadSequences()
        #expect(seq.customerCount == 1 && seq.eventCount == 4)
        #expect(try s.customerKeys(for: seq.customerIDs) == ["c9"])
    }

    @Test func identityMappingFileJoinsEarlierAnonymousEvents() throws {
        let d = tempDir()
        write("anonymous_id,timestamp,event\nx7,2024-01-01,ad\nx7,2024-01-02,visit\n", to: d + "/e.csv")
        write("customer_id,timestamp,event\nk1,2024-01-03,buy\n", to: d + "/k.csv")
        write("anonymous_id,customer_id\nx7,k1\n", to: d + "/ids.csv")
        let s = try Store(path: d + "/s.journey")
        _ = try s.importFile(d + "/e.csv")
        _ = try s.importFile(d + "/k.csv")
        #expect(try s.loadSequences().customerCount == 2)
        let r = try s.importFile(d + "/ids.csv")
        #expect(r.table == .identities && r.identitiesStitched == 1)
        let seq = try s.loadSequences()
        #expect(try s.customerKeys(for: seq.customerIDs) == ["k1"] && seq.eventCount == 3)
    }

    @Test func customerAndAccountMasterData() throws {
        let d = tempDir()
        write("customer_id,timestamp,event,account_id\nc1,2024-01-01,a,A1\nc2,2024-02-01,a,A1\nc3,2024-03-01,a,\n", to: d + "/e.csv")
        write("customer_id,segment,Status,first_contact,favourite\nc1,Enterprise,active,2023-12-01,blue\nc3,SMB,inactive,,red\n", to: d + "/c.csv")
        write("account_id,name,size\nA1,Acme,1200\n", to: d + "/a.csv")
        let s = try Store(path: d + "/s.journey")
        _ = try s.importFile(d + "/e.csv")
        #expect(try s.importFile(d + "/c.csv").table == .customers)
        #expect(try s.importFile(d + "/a.csv").table == .accounts)
        let ids = try s.loadSequences().customerIDs
        #expect(try s.customerAttribute("segment", for: ids) == ["enterprise", nil, "smb"])
        #expect(try s.customerAttribute("first_contact", for: ids) == ["2023-12-01", "2024-02-01", "2024-03-01"])
        #expect(try s.customerAttribute("favourite", for: ids) == ["blue", nil, "red"])
        #expect(try s.accountAttribute("size", for: ids) == ["1200", "1200", nil])
        let accounts = try s.accounts(for: ids)
        #expect(accounts[0] == accounts[1] && accounts[0] != 0 && accounts[2] == 0)
    }

    @Test func stageCatalogIsConfigurable() throws {
        let d = tempDir()
        write("stage\nLead\nMQL\nSQL\nWon\n", to: d + "/stages.csv")
        write("customer_id,timestamp,event,stage\nc1,2024-01-01,form,MQL\nc1,2024-01-05,deal,won\n", to: d + "/e.csv")
        let s = try Store(path: d + "/s.journey")
        #expect(try s.importFile(d + "/stages.csv").table == .stages)
        #expect(try s.catalog().stages == ["lead", "mql", "sql", "won"])
        _ = try s.importFile(d + "/e.csv")
        #expect(try s.loadSequences().stages == [2, 4])
        // With events stored, the catalog may grow at the end but not reorder.
        write("stage\nlead\nmql\nsql\nwon\nrenewal\n", to: d + "/more.csv")
        _ = try s.importFile(d + "/more.csv")
        #expect(try s.catalog().stages.last == "renewal")
        write("stage\nwon\nlead\n", to: d + "/bad.csv")
        #expect(throws: StoreError.self) { try s.importFile(d + "/bad.csv") }
        #expect(try s.catalog().stages.count == 5)
    }

    @Test func touchpointCatalogFillsStages() throws {
        let d = tempDir()
        write("customer_id,timestamp,event\nc1,2024-01-01,linkedin_ad\nc1,2024-01-05,demo\n", to: d + "/e.csv")
        write("event,stage,channel,kind\nlinkedin_ad,awareness,linkedin,paid\ndemo,intent,sales,owned\n", to: d + "/t.csv")
        let s = try store(d)
        _ = try s.importFile(d + "/e.csv")
        _ = try s.importFile(d + "/t.csv")
        let seq = try s.loadSequences(), cat = try s.catalog()
        #expect(seq.stages.map { cat.stages[Int($0) - 1] } == ["awareness", "intent"])
        #expect(seq.kinds == [1, 2])
        #expect(seq.channels.map { cat.channels[Int($0)] } == ["linkedin", "sales"])
    }

    @Test func ndjsonImport() throws {
        let d = tempDir()
        write("{\"user_id\":\"u1\",\"ts\":1709251200,\"event_name\":\"ad\",\"utm_source\":\"Email\",\"plan\":\"pro\"}\nnot json\n{\"user_id\":\"u1\",\"ts\":1709251300,\"event_name\":\"buy\",\"revenue\":12.5}\n", to: d + "/e.ndjson")
        let s = try store(d)
        let r = try s.importFile(d + "/e.ndjson")
        #expect(r.stored == 2 && r.quarantined == ["not a JSON object": 1])
        let seq = try s.loadSequences()
        #expect(seq.values[1] == 12.5 && seq.channels[0] != 0)
    }

    @Test func tiesKeepImportOrder() throws {
        let d = tempDir()
        write("customer_id,timestamp,event\nc,2024-01-01,z\nc,2024-01-01,a\nc,2024-01-01,m\nc,2023-12-31,first\n", to: d + "/e.csv")
        let s = try store(d)
        _ = try s.importFile(d + "/e.csv")
        let seq = try s.loadSequences(), cat = try s.catalog()
        #expect(seq.events.map { cat.events[Int($0)] } == ["first", "z", "a", "m"])
    }

    @Test func generatedDataRoundTripsAgainstAPlainReading() throws {
        let d = tempDir()
        var g = Generator(profile: .b2c, customers: 400, seed: 3)
        g.dirt = false
        _ = try g.write(to: d + "/events.csv")
        let s = try store(d)
        let r = try s.importFile(d + "/events.csv")
        // Reference: count rows per customer (anonymous rows join their identified customer).
        let lines = try String(contentsOfFile: d + "/events.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        var anonOwner: [String: String] = [:]
        for l in lines { let f = l.split(separator: ",", omittingEmptySubsequences: false); if !f[0].isEmpty && !f[11].isEmpty { anonOwner[String(f[11])] = String(f[0]) } }
        var perCustomer: [String: Int] = [:]
        for l in lines { let f = l.split(separator: ",", omittingEmptySubsequences: false); perCustomer[f[0].isEmpty ? anonOwner[String(f[11])] ?? "anon:\(f[11])" : String(f[0]), default: 0] += 1 }
        let seq = try s.loadSequences()
        let keys = try s.customerKeys(for: seq.customerIDs)
        var got: [String: Int] = [:]
        for (i, k) in keys.enumerated() { got[k] = Int(seq.offsets[i + 1] - seq.offsets[i]) }
        #expect(r.rowsRead == lines.count)
        #expect(got == perCustomer)
        for c in 0..<seq.customerCount { for i in (Int(seq.offsets[c]) + 1)..<max(Int(seq.offsets[c]) + 1, Int(seq.offsets[c + 1])) { #expect(seq.times[i - 1] <= seq.times[i]) } }
    }
}

@Suite struct BadInputTests {
    @Test func emptyFileAndMissingFile() throws {
        let d = tempDir()
        write("", to: d + "/empty.csv")
        let s = try Store(path: d + "/s.journey")
        #expect(throws: StoreError.self) { try s.importFile(d + "/empty.csv") }
        do { _ = try s.importFile(d + "/nope.csv") } catch let e as StoreError { #expect(e.message.contains("nope.csv") && e.message.contains("no such file")) }
    }

    @Test func headerOnlyImportsNothingAndSaysSo() throws {
        let d = tempDir()
        write("customer_id,timestamp,event\n", to: d + "/h.csv")
        let r = try Store(path: d + "/s.journey").importFile(d + "/h.csv")
        #expect(r.stored == 0 && r.problems.first?.reason == "no data rows")
    }

    @Test func missingRequiredColumnSuggestsMap() throws {
        let d = tempDir()
        write("customer_id,timestmp,event\nc,2024-01-01,a\n", to: d + "/e.csv")
        do { _ = try Store(path: d + "/s.journey").importFile(d + "/e.csv", options: { var o = ImportOptions(); o.table = .events; return o }()); Issue.record("no error") }
        catch let e as StoreError { #expect(e.message.contains("did you mean 'timestmp'") && e.message.contains("--map")) }
    }

    @Test func unterminatedQuoteKeepsEarlierBatches() throws {
        let d = tempDir()
        write("customer_id,timestamp,event\nc,2024-01-01,a\nc,2024-01-02,\"b\nc,2024-01-03,c\n", to: d + "/e.csv")
        let s = try Store(path: d + "/s.journey")
        do { _ = try s.importFile(d + "/e.csv"); Issue.record("no error") }
        catch let e as StoreError { #expect(e.message.contains("e.csv:3") && e.message.contains("unterminated")) }
        #expect(try Store(path: d + "/s.journey").summary().events == 0)   // the open batch rolled back, nothing half-written
    }

    @Test func notSQLiteAndNewerVersionAreRefused() throws {
        let d = tempDir()
        write("hello, I am a text file", to: d + "/text.journey")
        do { _ = try Store(path: d + "/text.journey"); Issue.record("opened") } catch let e as StoreError { #expect(e.message.contains("not an SQLite database")) }
        let s = try Store(path: d + "/new.journey")
        try s.setMeta("schema_version", "99")
        do { _ = try Store(path: d + "/new.journey"); Issue.record("opened") } catch let e as StoreError { #expect(e.message.contains("newer journey")) }
    }

    @Test func readOnlyStoreRefusesImportAndKeepsData() throws {
        let d = tempDir()
        write("customer_id,timestamp,event\nc,2024-01-01,a\n", to: d + "/e.csv")
        _ = try Store(path: d + "/s.journey").importFile(d + "/e.csv")
        chmod(d + "/s.journey", 0o444)
        defer { chmod(d + "/s.journey", 0o644) }
        let ro = try Store(path: d + "/s.journey")
        #expect(throws: StoreError.self) { try ro.importFile(d + "/e.csv") }
        #expect(try ro.summary().events == 1)
    }

    @Test func tenMegabyteLineIsQuarantined() throws {
        let d = tempDir()
        write("customer_id,timestamp,event\nc,2024-01-01," + String(repeating: "x", count: 10_000_000) + "\nc,2024-01-02,ok\n", to: d + "/e.csv")
        let r = try Store(path: d + "/s.journey").importFile(d + "/e.csv")
        #expect(r.stored == 1 && r.quarantined == ["row too long": 1])
    }
}

@Suite struct RealDatasetTests {
    @Test(arguments: ["olist-marketing-funnel", "cdnow-purchases", "helpdesk-tickets"])
    func importsEveryRow(_ name: String) throws {
        guard let root = sharedDatasets() else { return }
        let d = tempDir()
        let s = try Store(path: d + "/s.journey")
        let r = try s.importFile(root + "/\(name)/events.csv")
        let rows = try String(contentsOfFile: root + "/\(name)/events.csv", encoding: .utf8).split(separator: "\n").count - 1
        #expect(r.rowsRead == rows)
        #expect(r.quarantinedTotal == 0)
        #expect(r.stored + r.duplicates == rows)
        let expectedCustomers = ["olist-marketing-funnel": 8000, "cdnow-purchases": 23570, "helpdesk-tickets": 4580][name]!
        #expect(try s.loadSequences().customerCount == expectedCustomers)
    }
}
