import Foundation

/// One writer at a time per store: an import holds an exclusive `flock` on `STORE-lock` (beside the store file)
/// from start to end. The importer keeps the next customer id, account id and dictionary codes in memory while
/// it runs, so two imports interleaving their batches would hand out the same ids; with the lock the second
/// waits (saying so on standard error) or, with `wait` off, fails with a message. The kernel drops the lock when
/// the process ends, however it ends (a SIGKILL too), so a killed import never leaves the store locked.
/// Readers take no lock: each read sees one committed state (`Store.consistently`).
final class WriteLock {
    private let fd: Int32

    init(store path: String, wait: Bool) throws {
        let lockPath = path + "-lock"
        fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        // A directory we cannot create files in: the store's own checks decide whether it may be written at all.
        guard fd >= 0 else { return }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return }
        guard errno == EWOULDBLOCK else { return }
        guard wait else {
            close(fd)
            throw StoreError("\(path): another import into this store is running; nothing was changed (try again when it has finished)")
        }
        FileHandle.standardError.write(Data("waiting for another import into \(path) to finish…\n".utf8))
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
    }

    deinit { if fd >= 0 { close(fd) } }
}
