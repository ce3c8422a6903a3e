import Foundation

/// Writes a file whole or not at all: the text goes to a temporary file beside it, is flushed to disk, and is
/// renamed over the old one (a rename within a directory is atomic). A process killed at any point leaves the
/// old file or the new one, never half of either; a killed write can leave the temporary file, nothing else.
/// Crash points (`CrashPoints`) sit between the steps, for the kill trials.
public enum AtomicFile {
    public static func write(_ text: String, to path: String) throws {
        let w = try AtomicFileWriter(path: path)
        try w.append(text)
        try w.commit()
    }
}

/// The streaming form of `AtomicFile`: append in pieces (buffered), then `commit`; dropped without a commit,
/// the temporary file is removed and the old file stays.
public final class AtomicFileWriter {
    let path: String, tmp: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false

    public init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        tmp = (dir.isEmpty ? "" : dir + "/") + ".\((path as NSString).lastPathComponent).\(getpid()).tmp"
        CrashPoints.hit()
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        buffer.reserveCapacity(1 << 20)
    }

    public func append(_ s: String) throws {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        var off = 0
        while off < buffer.count {
            let n = buffer[off...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: path])
            }
            off += n
        }
        buffer.removeAll(keepingCapacity: true)
        CrashPoints.hit()
    }

    public func commit() throws {
        try flush()
        guard fsync(fd) == 0 else { throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: path]) }
        close(fd); fd = -1
        CrashPoints.hit()
        // Keep the old file's permissions.
        var st = stat()
        if stat(path, &st) == 0 { chmod(tmp, st.st_mode & 0o7777) }
        guard rename(tmp, path) == 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        committed = true
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(tmp) }
    }
}
