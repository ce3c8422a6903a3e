import Foundation

/// Where import rows come from: a header and records of fields (CSV, or NDJSON objects laid out as fields).
protocol RowSource: AnyObject {
    var path: String { get }
    /// Column names; NDJSON adds a column the first time a key appears.
    var header: [String] { get }
    var bytesRead: Int { get }
    var fileSize: Int { get }
    func next(into rec: inout RecordBuffer) throws -> Bool
}

public enum ImportFormat: String, Sendable { case csv, ndjson }

final class CSVRowSource: RowSource {
    let reader: CSVReader
    let header: [String]
    var path: String { reader.path }
    var bytesRead: Int { reader.bytesRead }
    var fileSize: Int { reader.fileSize }

    init(path: String) throws {
        reader = try CSVReader(path: path)
        reader.detectDelimiter()
        var rec = RecordBuffer()
        guard try reader.next(into: &rec) else {
            throw InputError(file: path, line: nil, message: "the file is empty (expected a header row such as customer_id,timestamp,event)")
        }
        guard rec.isValidText else { throw InputError(file: path, line: 1, message: "the header is not valid UTF-8") }
        header = (0..<rec.count).map { rec.string($0).trimmingCharacters(in: .whitespaces) }
    }

    func next(into rec: inout RecordBuffer) throws -> Bool { try reader.next(into: &rec) }
}

/// Newline-delimited JSON: one object per line; values that are objects or arrays are kept as JSON text.
final class NDJSONRowSource: RowSource {
    let path: String
    private(set) var header: [String] = []
    private var index: [String: Int] = [:]
    private let handle: FileHandle
    private var buffer = Data()
    private var line = 0
    private(set) var bytesRead = 0
    let fileSize: Int
    private var atEOF = false

    init(path: String) throws {
        self.path = path
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw InputError(file: path, line: nil, message: FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        handle = h
        fileSize = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        if fileSize == 0 { throw InputError(file: path, line: nil, message: "the file is empty") }
    }

    private func readLine() -> Data? {
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let lineData = buffer[buffer.startIndex..<nl]
                buffer = Data(buffer[(nl + 1)...])
                return Data(lineData)
            }
            if atEOF {
                if buffer.isEmpty { return nil }
                defer { buffer = Data() }
                return buffer
            }
            let chunk = handle.readData(ofLength: 1 << 20)
            bytesRead += chunk.count
            if chunk.isEmpty { atEOF = true } else { buffer.append(chunk) }
        }
    }

    func next(into rec: inout RecordBuffer) throws -> Bool {
        while let data = readLine() {
            line += 1
            rec.clear()
            rec.line = line
            if data.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: data), let dict = obj as? [String: Any] else {
                // Hand the importer a record it will quarantine: one field holding the raw line.
                rec.bytes.append(contentsOf: data.prefix(2000))
                rec.ends = [rec.bytes.count]
                rec.oversize = -1
                return true
            }
            for key in dict.keys.sorted() where index[key] == nil {
                index[key] = header.count
                header.append(key)
            }
            var values = [String](repeating: "", count: header.count)
            for (k, v) in dict {
                guard let i = index[k] else { continue }
                switch v {
                case let s as String: values[i] = s
                case is NSNull: values[i] = ""
                case let n as NSNumber: values[i] = n.stringValue
                default:
                    if let d = try? JSONSerialization.data(withJSONObject: v), let s = String(data: d, encoding: .utf8) { values[i] = s }
                }
            }
            for v in values { rec.bytes.append(contentsOf: Array(v.utf8)); rec.ends.append(rec.bytes.count) }
            return true
        }
        return false
    }
}

/// True when `bytes` is well-formed UTF-8 (ASCII fast path).
func isValidUTF8(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { isValidUTF8($0) }
}

func isValidUTF8(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    let n = p.count
    guard let base = p.baseAddress else { return true }
    let raw = UnsafeRawPointer(base)
    while i < n {
        // Eight ASCII bytes at a time.
        if i + 8 <= n && raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8; continue }
        let c = p[i]
        if c < 0x80 { i += 1; continue }
        let len: Int
        if c & 0xE0 == 0xC0 { len = 2; if c < 0xC2 { return false } }
        else if c & 0xF0 == 0xE0 { len = 3 }
        else if c & 0xF8 == 0xF0 { len = 4; if c > 0xF4 { return false } }
        else { return false }
        if i + len > n { return false }
        for k in 1..<len where p[i + k] & 0xC0 != 0x80 { return false }
        if len == 3 {
            let cp = (Int(c & 0x0F) << 12) | (Int(p[i + 1] & 0x3F) << 6)
            if cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF) { return false }
        }
        if len == 4 {
            let cp = (Int(c & 0x07) << 18) | (Int(p[i + 1] & 0x3F) << 12)
            if cp < 0x10000 || cp > 0x10FFFF { return false }
        }
        i += len
    }
    return true
}
