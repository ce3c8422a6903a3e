import Foundation

/// Writes a file whole or not at all: the text goes to a temporary file beside it, is flushed to disk, and is
/// renamed over the old one (a rename within a directory is atomic). A process killed at any point leaves the
/// old file or the new one, never half of either; a killed write can leave the temporary file, nothing else.
/// Crash points (`CrashPoints`) sit between the steps, for the kill trials.
public enum AtomicFile {
    public static func write(_ text: String, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "" : dir + "/") + ".\((path as NSString).lastPathComponent).\(getpid()).tmp"
        CrashPoints.hit()
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        var ok = true
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; ok = false; break }
            off += n
            if off < bytes.count { CrashPoints.hit() }
        }
        if ok && fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok else {
            unlink(tmp)
            throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: path])
        }
        CrashPoints.hit()
        // Keep the old file's permissions.
        var st = stat()
        if stat(path, &st) == 0 { chmod(tmp, st.st_mode & 0o7777) }
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
