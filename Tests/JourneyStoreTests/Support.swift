import Foundation


/// All of one test process's temporary files live under one directory, removed when the process exits.
let testRoot: String = {
    let root = NSTemporaryDirectory() + "journey-tests-\(getpid())"
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    atexit {
        let root = NSTemporaryDirectory() + "journey-tests-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
    }
    return root
}()

/// A fresh temporary directory per test.
func tempDir() -> String {
    let d = testRoot + "/" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func write(_ text: String, to path: String) { _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) }

/// ../shared/datasets, found from this source file.
func sharedDatasets() -> String? {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    let p = url.deletingLastPathComponent().appendingPathComponent("shared/datasets").path
    return FileManager.default.fileExists(atPath: p) ? p : nil
}
