import Foundation
import JourneyTestSupport
import Testing
@testable import JourneyStore
@testable import JourneyGenerator
import JourneyCore

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

    /// Random files of plain and quoted fields, LF and CRLF, blank lines: every block size (the in-place fast path
    /// for whole plain lines and the byte-wise path across block ends) reads back the fields and lines written.
    @Test func randomFilesReadBackAtEveryBlockSize() throws {
        var rng = SeededRandom(seed: 7)
        for round in 0..<60 {
            var text = "", expected: [[String]] = [], lines: [Int] = [], line = 1
            for _ in 0..<Int(rng.next() % 12) + 1 {
                if rng.next() % 6 == 0 { text += "\n"; line += 1 }   // a blank line is skipped
                var fields: [String] = [], written: [String] = []
                for _ in 0..<Int(rng.next() % 4) + 1 {
                    let plain = ["", "a", "xyz", "Zoë", "12.5", "2024-01-02T03:04:05Z"][Int(rng.next() % 6)]
                    if rng.next() % 4 == 0 {
                        let q = plain + ["", ",", "\"", "\n"][Int(rng.next() % 4)]
                        fields.append(q); written.append("\"" + q.replacingOccurrences(of: "\"", with: "\"\"") + "\"")
                    } else { fields.append(plain); written.append(plain) }
                }
                if fields == [""] { continue }   // a line holding nothing is a blank line
                expected.append(fields); lines.append(line)
                line += 1 + fields.reduce(0) { $0 + $1.filter { $0 == "\n" }.count }
                text += written.joined(separator: ",") + (rng.next() % 3 == 0 ? "\r\n" : "\n")
            }
            let d = tempDir(), p = d + "/r\(round).csv"
            write(text, to: p)
            for block in [3, 7, 16, 64, 1 << 20] {
                let r = try CSVReader(path: p, blockSize: block)
                var rec = RecordBuffer(), got: [[String]] = [], gotLines: [Int] = []
                while try r.next(into: &rec) { got.append((0..<rec.count).map { rec.string($0) }); gotLines.append(rec.line) }
                #expect(got == expected, "round \(round), block \(block)")
                #expect(gotLines == lines, "round \(round), block \(block)")
            }
        }
    }
}

@Suite struct TrimmedFieldTests {
    /// Trimming at the byte level gives what Foundation's `.whitespaces` trimming gives, non-ASCII spaces included.
    @Test func sameAsFoundationTrimming() {
        var seed: UInt64 = 3
        func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(n)) }
        let pieces = [" ", "\t", "a", "é", "\u{00A0}", "x y", "\u{3000}", "東", "", "\u{2003}b"]
        for _ in 0..<2000 {
            var rec = RecordBuffer()
            var fields: [String] = []
            for _ in 0..<(1 + next(5)) {
                let f = (0..<next(6)).map { _ in pieces[next(pieces.count)] }.joined()
                fields.append(f)
                rec.bytes += Array(f.utf8); rec.ends.append(rec.bytes.count)
            }
            for (i, f) in fields.enumerated() {
                #expect(rec.trimmedString(i) == f.trimmingCharacters(in: .whitespaces), "\(Array(f.unicodeScalars))")
            }
        }
    }
}
