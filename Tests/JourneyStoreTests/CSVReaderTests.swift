import JourneyTestSupport
import Testing
@testable import JourneyStore

@Suite struct CSVReaderTests {
    func records(_ text: String) throws -> [[String]] {
        let d = tempDir(), p = d + "/f.csv"
        write(text, to: p)
        let r = try CSVReader(path: p, blockSize: 7)   // tiny blocks exercise every boundary
        var rec = RecordBuffer(), out: [[String]] = []
        while try r.next(into: &rec) { out.append((0..<rec.count).map { rec.string($0) }) }
        return out
    }

    @Test func quotingAndLineEndings() throws {
        let rows = try records("\u{FEFF}a,b,c\r\n\"x, y\",\"he said \"\"hi\"\"\",\"multi\nline\"\r\n1,,3\n\n4,5,6")
        #expect(rows == [["a", "b", "c"], ["x, y", "he said \"hi\"", "multi\nline"], ["1", "", "3"], ["4", "5", "6"]])
    }

    @Test func lineNumbersCountNewlinesInsideQuotes() throws {
        let d = tempDir(), p = d + "/f.csv"
        write("h\n\"a\nb\"\nc\n", to: p)
        let r = try CSVReader(path: p)
        var rec = RecordBuffer(), lines: [Int] = []
        while try r.next(into: &rec) { lines.append(rec.line) }
        #expect(lines == [1, 2, 4])
    }

    @Test func unterminatedQuoteNamesItsLine() throws {
        let d = tempDir(), p = d + "/f.csv"
        write("a,b\n1,2\n3,\"oops\n4,5\n", to: p)
        let r = try CSVReader(path: p)
        var rec = RecordBuffer()
        #expect(throws: InputError.self) { while try r.next(into: &rec) {} }
        do { while try r.next(into: &rec) {} } catch let e as InputError { #expect(e.line == 3) } catch {}
    }

    @Test func oversizeRecordIsFlaggedNotKept() throws {
        let d = tempDir(), p = d + "/f.csv"
        write("a,b\n" + String(repeating: "x", count: 3_000_000) + ",1\nc,d\n", to: p)
        let r = try CSVReader(path: p)
        var rec = RecordBuffer(), over: [Int] = []
        while try r.next(into: &rec) { over.append(rec.oversize) }
        #expect(over.count == 3 && over[1] > 0 && over[2] == 0)
    }
}
