import Foundation

/// All of one test process's temporary files live under one directory, removed when the process exits.
public let testRoot: String = {
    let root = NSTemporaryDirectory() + "journey-tests-\(getpid())"
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    atexit {
        try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "journey-tests-\(getpid())")
    }
    return root
}()

/// A fresh temporary directory for one test.
public func tempDir() -> String {
    let d = testRoot + "/" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}
