import Foundation
import JourneyCore

/// A lesson of `.tutorial`: a `.jql` file in `queries/teaching/` (a teacher can add more) whose `--` lines carry
/// the parts by keyword; the rest of the comment text is the lesson's explanation:
///
///     -- # Lesson 1: What is a funnel?
///     -- A funnel counts how many customers get from one step to the next …
///     -- type: funnel awareness > consideration > intent > conversion within 180d count accounts
///     -- look for: the step where the share going on falls most
///     -- question: How many accounts reached intent?
///     -- answer: funnel awareness > consideration > intent > conversion within 180d count accounts | 3. intent | accounts
///
/// The answer names a statement, a row (the text of its first cell, or `#N` for the Nth row) and a column: the
/// shell works the right
/// answer out on the open store, so a lesson stays right on other data and a teacher never types a number.
struct Lesson: Equatable {
    var title = "", text: [String] = [], type: [String] = [], lookFor: [String] = [], question = ""
    var answer: (statement: String, row: String, column: String)?
    var file = ""

    static func == (a: Lesson, b: Lesson) -> Bool { a.file == b.file && a.title == b.title }

    static func parse(_ source: String, file: String) throws -> Lesson {
        var l = Lesson(file: file)
        var continuesLookFor = false   // a comment line right after 'look for:' without a key of its own goes on with it
        for raw in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("--"), !line.hasPrefix("--|") else { continue }
            var body = String(line.dropFirst(2))
            if body.hasPrefix(" ") { body.removeFirst() }
            func after(_ key: String) -> String? {
                body.lowercased().hasPrefix(key + ":") ? String(body.dropFirst(key.count + 1)).trimmingCharacters(in: .whitespaces) : nil
            }
            let wasLookFor = continuesLookFor
            continuesLookFor = false
            if body.hasPrefix("# ") { l.title = String(body.dropFirst(2)) }
            else if let t = after("type") { l.type.append(t) }
            else if let t = after("look for") { l.lookFor.append(t); continuesLookFor = true }
            else if let t = after("question") { l.question = t }
            else if let t = after("answer") {
                let parts = t.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 3 else { throw QueryError("\(file): 'answer:' takes STATEMENT | ROW | COLUMN (the first cell of the row, the column's name)") }
                l.answer = (parts[0], parts[1], parts[2])
            } else if wasLookFor && !body.trimmingCharacters(in: .whitespaces).isEmpty {
                l.lookFor.append(body.trimmingCharacters(in: .whitespaces)); continuesLookFor = true
            } else { l.text.append(body) }
        }
        guard !l.title.isEmpty else { throw QueryError("\(file): a lesson starts with a '-- # Title' line") }
        return l
    }

    /// The lessons in `dir`, in file-name order.
    static func all(in dir: String) -> [(file: String, lesson: Result<Lesson, Error>)] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".jql") }.sorted()
        return files.map { f in
            let path = (dir as NSString).appendingPathComponent(f)
            return (path, Result { try parse(try String(contentsOfFile: path, encoding: .utf8), file: path) })
        }
    }

    /// What the shell prints when the lesson starts.
    var introduction: String {
        var out = [title, ""]
        out += text.drop { $0.isEmpty }
        while out.last == "" { out.removeLast() }
        if !type.isEmpty { out += ["", "Type:"] + type.map { "  " + $0 } }
        if !lookFor.isEmpty { out += ["", "Look for: " + lookFor.joined(separator: " ")] }
        if !question.isEmpty { out += ["", "Question: " + question, "Answer with: .answer VALUE"] }
        return out.joined(separator: "\n")
    }

    /// Whether `given` is the value `truth` (as a table shows it): numbers compare by value (thousands
    /// separators and % ignored) within half a unit of the shown precision; text compares case-insensitively.
    static func matches(_ given: String, _ truth: String) -> Bool {
        func number(_ s: String) -> (Double, Int)? {
            let t = s.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "%", with: "").trimmingCharacters(in: .whitespaces)
            guard let v = Double(t) else { return nil }
            let decimals = t.firstIndex(of: ".").map { t.distance(from: $0, to: t.endIndex) - 1 } ?? 0
            return (v, decimals)
        }
        if let (t, decimals) = number(truth), let (g, _) = number(given) {
            return abs(g - t) <= 0.5 * pow(10, -Double(decimals)) + 1e-9
        }
        return given.trimmingCharacters(in: .whitespaces).lowercased() == truth.trimmingCharacters(in: .whitespaces).lowercased()
    }
}
