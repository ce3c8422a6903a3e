import Foundation

import JourneyTestSupport

func write(_ text: String, to path: String) { _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) }

/// ../shared/datasets, found from this source file.
func sharedDatasets() -> String? {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    let p = url.deletingLastPathComponent().appendingPathComponent("shared/datasets").path
    return FileManager.default.fileExists(atPath: p) ? p : nil
}
