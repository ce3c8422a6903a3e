import CSQLite
import Foundation
import JourneyCore

/// An error from SQLite, with the statement or action that caused it.
public struct SQLiteError: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String
    /// In words: what happened to the store and what to do (SQLite's own message in brackets).
    public var description: String {
        if isCorrupt { return "the store file is damaged (\(message)); restore it from a copy — journey wrote nothing to it" }
        if isFull { return "the disk is full (\(message)); free space and try again" }
        if code == SQLITE_BUSY || code == SQLITE_LOCKED { return "the store is busy: another process holds it (\(message)); try again" }
        if isIOError { return "the disk reported a read or write error (\(message))" }
        return message
    }
    public var isNotADatabase: Bool { code == SQLITE_NOTADB }
    public var isFull: Bool { code == SQLITE_FULL }
    public var isCorrupt: Bool { code == SQLITE_CORRUPT || code == SQLITE_NOTADB }
    public var isIOError: Bool { code == SQLITE_IOERR }
    public var isReadOnly: Bool { code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_PERM }
}

/// A thin wrapper over one `sqlite3` connection. The store is the only module that talks SQL.
final class Database {
    let handle: OpaquePointer

    /// `immutable`: open read-only without the WAL's shared-memory file — for a store in a directory we may not
    /// create files in (a WAL store's reader needs its `-shm` file otherwise); nothing may write it meanwhile.
    init(path: String, readOnly: Bool, immutable: Bool = false) throws {
        var db: OpaquePointer?
        var flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var name = path
        if immutable {
            let allowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#%"))
            name = "file:" + (path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path) + "?immutable=1"
            flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
        }
        let rc = sqlite3_open_v2(name, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close(db) }
            throw SQLiteError(code: rc, message: msg)
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
        sqlite3_extended_result_codes(db, 0)
    }

    deinit { sqlite3_close_v2(handle); cancelBox?.release() }

    /// `cancelled` is asked every few thousand SQLite instructions; true interrupts the statement running, which
    /// then throws `QueryCancelled` (Ctrl-C during a long SQL statement of the quality report, say).
    func interruptWhen(_ cancelled: @escaping () -> Bool) {
        let box = Unmanaged.passRetained(CancelBox(cancelled))
        cancelBox?.release()
        cancelBox = box
        sqlite3_progress_handler(handle, 20_000, { ctx in
            guard let ctx else { return 0 }
            return Unmanaged<CancelBox>.fromOpaque(ctx).takeUnretainedValue().cancelled() ? 1 : 0
        }, box.toOpaque())
    }
    private var cancelBox: Unmanaged<CancelBox>?
    final class CancelBox { let cancelled: () -> Bool; init(_ c: @escaping () -> Bool) { cancelled = c } }

    var lastError: SQLiteError {
        SQLiteError(code: sqlite3_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }

    func execute(_ sql: String) throws {
        CrashPoints.hit()
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc == SQLITE_INTERRUPT { sqlite3_free(err); throw QueryCancelled() }
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "error \(rc)"
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: msg)
        }
    }

    func prepare(_ sql: String) throws -> Statement { try Statement(db: self, sql: sql) }

    /// Runs `sql` with `args` and returns the first column of the first row as an integer (0 when no row).
    func scalarInt(_ sql: String, _ args: [SQLValue] = []) throws -> Int64 {
        let st = try prepare(sql)
        try st.bind(args)
        return try st.step() ? st.int(0) : 0
    }

    func scalarText(_ sql: String, _ args: [SQLValue] = []) throws -> String? {
        let st = try prepare(sql)
        try st.bind(args)
        return try st.step() ? st.text(0) : nil
    }

    var changes: Int32 { sqlite3_changes(handle) }

    /// A write transaction. Each one also advances the store's generation (meta 'generation'), so readers on
    /// several connections can tell whether they all see the same committed state (`Store.readSnapshot`).
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("INSERT INTO meta(key, value) VALUES('generation', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

extension Database {
    /// True inside a transaction on this connection.
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// A read transaction: every read in `body` on this connection sees one committed state, whatever another
    /// process commits meanwhile (WAL). Nested calls join the outer one.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        if inTransaction { return try body() }
        try execute("BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The committed state's generation (advanced by every write transaction; 0 for a store never written since).
    func generation() throws -> Int64 {
        Int64(try scalarText("SELECT value FROM meta WHERE key='generation'") ?? "0") ?? 0
    }
}

/// A value bound to a statement parameter.
enum SQLValue {
    case int(Int64), real(Double), text(String), blob([UInt8]), null
}

/// A prepared statement; `step()` returns true while rows remain.
final class Statement {
    let handle: OpaquePointer
    unowned let db: Database

    init(db: Database, sql: String) throws {
        var st: OpaquePointer?
        let rc = sqlite3_prepare_v2(db.handle, sql, -1, &st, nil)
        guard rc == SQLITE_OK, let st else { throw db.lastError }
        handle = st
        self.db = db
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bind(_ args: [SQLValue]) throws {
        for (i, a) in args.enumerated() { try bind(a, at: Int32(i + 1)) }
    }

    func bind(_ value: SQLValue, at index: Int32) throws {
        let rc: Int32
        switch value {
        case .int(let v): rc = sqlite3_bind_int64(handle, index, v)
        case .real(let v): rc = sqlite3_bind_double(handle, index, v)
        case .text(let s): rc = sqlite3_bind_text(handle, index, s, -1, csqlite_transient())
        case .blob(let b):
            rc = b.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), csqlite_transient()) }
        case .null: rc = sqlite3_bind_null(handle, index)
        }
        if rc != SQLITE_OK { throw db.lastError }
    }

    @inline(__always) func bindInt(_ v: Int64, at index: Int32) { sqlite3_bind_int64(handle, index, v) }
    @inline(__always) func bindDouble(_ v: Double, at index: Int32) { sqlite3_bind_double(handle, index, v) }
    @inline(__always) func bindNull(at index: Int32) { sqlite3_bind_null(handle, index) }
    func bindText(_ s: String, at index: Int32) {
        // Native strings hand over their UTF-8 without the C-string copy Swift's bridging makes.
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { p in
            sqlite3_bind_text(handle, index, UnsafeRawPointer(p.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self),
                              Int32(p.count), csqlite_transient())
        }
        if done == nil { sqlite3_bind_text(handle, index, s, -1, csqlite_transient()) }
    }
    func bindBytes(_ p: UnsafeRawBufferPointer, at index: Int32) {
        sqlite3_bind_blob(handle, index, p.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(p.count), csqlite_transient())
    }

    /// Advances; true when a row is available.
    @discardableResult
    func step() throws -> Bool {
        if CrashPoints.armed && sqlite3_stmt_readonly(handle) == 0 { CrashPoints.hit() }
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        if rc == SQLITE_INTERRUPT { throw QueryCancelled() }
        throw db.lastError
    }

    /// Runs to completion and resets, for INSERT/UPDATE statements reused in loops.
    func run() throws {
        if CrashPoints.armed && sqlite3_stmt_readonly(handle) == 0 { CrashPoints.hit() }
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        if rc != SQLITE_DONE && rc != SQLITE_ROW { throw db.lastError }
    }

    @inline(__always) func int(_ col: Int32) -> Int64 { sqlite3_column_int64(handle, col) }
    @inline(__always) func double(_ col: Int32) -> Double { sqlite3_column_double(handle, col) }
    @inline(__always) func isNull(_ col: Int32) -> Bool { sqlite3_column_type(handle, col) == SQLITE_NULL }
    func text(_ col: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, col) else { return nil }
        return String(cString: p)
    }
    func blob(_ col: Int32) -> UnsafeRawBufferPointer {
        let n = Int(sqlite3_column_bytes(handle, col))
        guard n > 0, let p = sqlite3_column_blob(handle, col) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: n)
    }
}
