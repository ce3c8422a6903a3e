/// Did-you-mean: edit distance with a threshold (about a third of the word, 1 to 3 edits).
/// Finds the candidate nearest to `word` when it is close enough to be a typo.
public func suggestion(for word: String, among candidates: [String]) -> String? {
    var best: (String, Int)?
    for c in candidates where !c.isEmpty {
        let d = levenshtein(word.lowercased(), c.lowercased())
        if best == nil || d < best!.1 { best = (c, d) }
    }
    guard let (c, d) = best else { return nil }
    return d <= max(1, min(3, word.count / 3)) ? c : nil
}

/// Edit distance where a swap of two neighbouring letters counts as one edit (optimal string alignment):
/// "plna" is one edit from "plan", as a typist would count it.
public func levenshtein(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var before = [Int](repeating: 0, count: b.count + 1)
    var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] { cur[j] = min(cur[j], before[j - 2] + 1) }
        }
        (before, prev, cur) = (prev, cur, before)
    }
    return prev[b.count]
}
