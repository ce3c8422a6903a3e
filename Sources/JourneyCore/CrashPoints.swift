import Foundation
import Synchronization

/// A test hook for crash-safety trials (docs/RELIABILITY.md). Every place where journey is about to change
/// something durable — each SQLite statement step or exec, each request that writes to ClickHouse — is a crash
/// point. With `JOURNEY_CRASH_AT=K` the process sends itself SIGKILL at the K-th crash point: a real kill, at a
/// point chosen by the trial's seed, inside transactions as well as between them. `JOURNEY_CRASH_AT=count`
/// prints the number of crash points the run passed (`crash points: N`) on standard error at exit, so a trial
/// can draw K from 1…N. Unset, a crash point costs one load of a constant.
public enum CrashPoints {
    private static let target: Int = {
        guard let v = ProcessInfo.processInfo.environment["JOURNEY_CRASH_AT"] else { return 0 }
        if v == "count" {
            atexit { FileHandle.standardError.write(Data("crash points: \(CrashPoints.passed.load(ordering: .relaxed))\n".utf8)) }
            return -1
        }
        return Int(v) ?? 0
    }()
    private static let passed = Atomic<Int>(0)

    /// True when a trial is running (a caller may skip working out whether it is at a crash point).
    public static var armed: Bool { target != 0 }

    /// Called where a durable change is about to happen.
    @inline(__always) public static func hit() {
        let t = target
        guard t != 0 else { return }
        let n = passed.add(1, ordering: .relaxed).newValue
        if n == t { kill(getpid(), SIGKILL) }
    }
}
