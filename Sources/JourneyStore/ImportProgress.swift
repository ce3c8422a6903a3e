import Foundation
import JourneyCore

/// A one-line progress bar on standard error: percent, rows, rows/s, ETA. Only used on a terminal.
final class ImportProgress {
    let file: String
    let total: Int
    let start = Date()
    var lastDraw = Date.distantPast
    var drawn = false

    init(file: String, total: Int) {
        self.file = (file as NSString).lastPathComponent
        self.total = max(total, 1)
    }

    func update(rows: Int, bytes: Int) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let frac = min(1, Double(bytes) / Double(total))
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(rows) / max(elapsed, 1e-6)
        let eta = frac > 0 ? elapsed * (1 - frac) / frac : 0
        let width = 24
        let filled = Int(frac * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let line = String(format: "\r%@ %3.0f%% %@ %@ rows  %@ rows/s  ETA %@ ", file, frac * 100, bar,
                          rows.grouped, Int(rate).grouped, etaText(eta))
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func etaText(_ s: Double) -> String {
        s < 60 ? "\(Int(s))s" : "\(Int(s) / 60)m \(Int(s) % 60)s"
    }
}
