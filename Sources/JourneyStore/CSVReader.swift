import Foundation

/// One parsed record. Field `i` is `start(i) ..< ends[i]` in `withBytes`' buffer: either the unescaped field bytes
/// laid end to end in `bytes` (`gap` 0), or — for a plain line with no quotes — the line itself inside the reader's
/// block (`gap` 1, the delimiters between the fields), valid until the next read. Reused from record to record, so
/// reading allocates nothing per row.
public struct RecordBuffer {
    public var bytes: [UInt8] = []
    public var ends: [Int] = []
    /// 1-based line where the record starts.
    public var line: Int = 0
    /// Set when the record was longer than the reader's limit; its bytes were not kept.
    public var oversize: Int = 0
    /// Bytes between one field's end and the next one's start.
    var gap = 0
    var view: UnsafeRawBufferPointer? = nil

    public init() { bytes.reserveCapacity(4096); ends.reserveCapacity(32) }

    public var count: Int { ends.count }
    @inline(__always) public func start(_ i: Int) -> Int { i == 0 ? 0 : ends[i - 1] + gap }
    /// The record's length in bytes, counting what was cut off.
    public var byteCount: Int { (view?.count ?? bytes.count) + oversize }

    @inline(__always) public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let view { return try body(view) }
        return try bytes.withUnsafeBytes(body)
    }

    public func string(_ i: Int) -> String {
        withBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[start(i)..<ends[i]]), as: UTF8.self) }
    }

    /// Field `i` without leading and trailing spaces and tabs (as `trimmingCharacters(in: .whitespaces)`, which
    /// it calls only when a non-ASCII byte is at either end), cut at the byte level: no Foundation per field.
    public func trimmedString(_ i: Int) -> String {
        withBytes { b in
            var lo = start(i), hi = ends[i]
            while lo < hi && (b[lo] == 0x20 || b[lo] == 0x09) { lo += 1 }
            while hi > lo && (b[hi - 1] == 0x20 || b[hi - 1] == 0x09) { hi -= 1 }
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: b[lo..<hi]), as: UTF8.self)
            return lo < hi && (b[lo] >= 0x80 || b[hi - 1] >= 0x80) ? s.trimmingCharacters(in: .whitespaces) : s
        }
    }

    /// The record's text for a quarantine entry (at most `limit` bytes; fields joined by commas when unescaped).
    public func rawText(limit: Int = 2000) -> String {
        if let view { return String(decoding: view.prefix(limit), as: UTF8.self) }
        return (0..<count).map(string).joined(separator: ",").prefix(limit).description
    }

    public var isValidText: Bool { withBytes { isValidUTF8(UnsafeBufferPointer(start: $0.baseAddress?.assumingMemoryBound(to: UInt8.self), count: $0.count)) } }

    mutating func clear() { bytes.removeAll(keepingCapacity: true); ends.removeAll(keepingCapacity: true); oversize = 0; gap = 0; view = nil }
}

/// Errors that stop reading a file; each names the line.
public struct InputError: Error, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let message: String
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// Streaming RFC 4180 reader: quoted fields, `""` escapes, newlines inside quotes, CRLF or LF, a UTF-8 BOM.
/// Memory is one read block plus the current record (capped at `maxRecordBytes`).
public final class CSVReader {
    public let path: String
    private let fd: Int32
    private let block: UnsafeMutableBufferPointer<UInt8>
    private var blockLen = 0
    private var pos = 0
    private var eof = false
    private var line = 1
    public private(set) var delimiter: UInt8 = UInt8(ascii: ",")
    public let maxRecordBytes: Int
    /// Bytes consumed so far (for progress).
    public private(set) var bytesRead: Int = 0
    public let fileSize: Int

    public init(path: String, blockSize: Int = 1 << 20, maxRecordBytes: Int = 1 << 20) throws {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw InputError(file: path, line: nil, message: "no such file")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw InputError(file: path, line: nil, message: "is a directory, not a file") }
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw InputError(file: path, line: nil, message: String(cString: strerror(errno))) }
        fileSize = Int(st.st_size)
        block = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: blockSize)
        self.maxRecordBytes = maxRecordBytes
        try refill()
        // Skip a UTF-8 byte order mark.
        if blockLen >= 3 && block[0] == 0xEF && block[1] == 0xBB && block[2] == 0xBF { pos = 3 }
    }

    deinit { close(fd); block.deallocate() }

    private func refill() throws {
        if eof { blockLen = 0; pos = 0; return }
        let n = read(fd, block.baseAddress, block.count)
        if n < 0 { throw InputError(file: path, line: line, message: String(cString: strerror(errno))) }
        if n == 0 { eof = true }
        bytesRead += max(n, 0)
        blockLen = max(n, 0)
        pos = 0
    }

    /// Looks at the first line to pick the delimiter: `,` unless the line has none and has tabs or semicolons.
    public func detectDelimiter() {
        var commas = 0, tabs = 0, semis = 0
        var i = pos
        while i < blockLen, block[i] != 10 {
            switch block[i] { case 44: commas += 1; case 9: tabs += 1; case 59: semis += 1; default: break }
            i += 1
        }
        if commas == 0 { if tabs > 0 { delimiter = 9 } else if semis > 0 { delimiter = 59 } }
    }

    /// Reads the next record; false at end of file. Blank lines are skipped.
    public func next(into rec: inout RecordBuffer) throws -> Bool {
        record: while true {
            rec.clear()
            rec.line = line
            var inQuotes = false
            var quoteLine = line
            var fieldHasData = false
            var sawAny = false
            let delim = delimiter
            outer: while true {
                if pos >= blockLen {
                    try refill()
                    if blockLen == 0 {
                        if inQuotes {
                            throw InputError(file: path, line: quoteLine, message: "unterminated quoted field (the quote opened here is never closed)")
                        }
                        if !sawAny { return false }
                        rec.ends.append(rec.bytes.count)
                        return true
                    }
                }
                // Fast path: a whole line inside the block with no quote in it is copied at once and split.
                if !inQuotes && !sawAny, let fast = fastLine(into: &rec) {
                    if fast { return true }
                    continue record
                }
                let done: Bool = inBlock { buf -> Bool in
                    var i = pos
                    let n = blockLen
                    while i < n {
                        let c = buf[i]
                        if inQuotes {
                            if c == 34 { // quote: closing, or the first half of ""
                                if i + 1 < n {
                                    if buf[i + 1] == 34 { append(&rec, 34); i += 2; continue }
                                    inQuotes = false; i += 1; continue
                                } else {
                                    // Need the next byte to decide; stop here and let the caller refill.
                                    pos = i
                                    return false
                                }
                            }
                            if c == 10 { line += 1 }
                            append(&rec, c)
                            i += 1
                            continue
                        }
                        sawAny = true
                        if c == delim {
                            rec.ends.append(rec.bytes.count); fieldHasData = false
                        } else if c == 10 {
                            line += 1
                            // Drop a CR before LF.
                            if let last = rec.bytes.last, last == 13, rec.bytes.count > rec.start(rec.ends.count) { rec.bytes.removeLast() }
                            pos = i + 1
                            return true
                        } else if c == 34 && !fieldHasData && rec.bytes.count == rec.start(rec.ends.count) {
                            inQuotes = true; quoteLine = line; fieldHasData = true
                        } else {
                            // A run of ordinary bytes: copy it at once.
                            var j = i + 1
                            while j < n {
                                let d = buf[j]
                                if d == delim || d == 10 || d == 34 { break }
                                j += 1
                            }
                            if rec.bytes.count + (j - i) <= maxRecordBytes {
                                rec.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<j]))
                            } else {
                                for k in i..<j { append(&rec, buf[k]) }
                            }
                            fieldHasData = true
                            i = j
                            continue
                        }
                        i += 1
                    }
                    pos = i
                    return false
                }
                if done { break outer }
                // A quote at the very end of a block inside quotes: look at the next block's first byte.
                if inQuotes && pos < blockLen && block[pos] == 34 {
                    try refill()
                    if blockLen > 0 && block[0] == 34 { append(&rec, 34); pos = 1 } else { inQuotes = false }
                }
            }
            // A line holding nothing at all is skipped; a line with delimiters is a record of empty fields.
            if rec.ends.isEmpty && rec.bytes.isEmpty && rec.oversize == 0 { continue }
            rec.ends.append(rec.bytes.count)
            return true
        }
    }

    /// The record at `pos` when its line ends inside the block and holds no quote: true when read, false for a
    /// blank line (skipped), nil when the slow path must handle it.
    @inline(__always) private func fastLine(into rec: inout RecordBuffer) -> Bool? {
        let delim = delimiter
        return inBlock { buf -> Bool? in
            guard let base = buf.baseAddress, pos < blockLen else { return nil }
            let start = base + pos
            guard let nlRaw = memchr(start, 10, blockLen - pos) else { return nil }
            let nl = UnsafePointer(nlRaw.assumingMemoryBound(to: UInt8.self))
            var len = nl - start
            if memchr(start, 34, len) != nil { return nil }
            if len > maxRecordBytes { return nil }
            line += 1
            pos += len + 1
            if len > 0 && start[len - 1] == 13 { len -= 1 }
            if len == 0 { return false }
            // Fields are read in place: the record points into the block (see RecordBuffer).
            rec.view = UnsafeRawBufferPointer(start: start, count: len)
            rec.gap = 1
            var k = 0
            while k < len {
                if start[k] == delim { rec.ends.append(k) }
                k += 1
            }
            rec.ends.append(len)
            return true
        }
    }

    @inline(__always) private func inBlock<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(block))
    }

    @inline(__always) private func append(_ rec: inout RecordBuffer, _ c: UInt8) {
        if rec.bytes.count < maxRecordBytes { rec.bytes.append(c) } else { rec.oversize += 1 }
    }
}
