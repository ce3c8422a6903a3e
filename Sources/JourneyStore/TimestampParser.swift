import JourneyCore

/// Parses the timestamp spellings an import accepts, straight from bytes, into UTC milliseconds.
///
/// - ISO-8601: `2024-03-01`, `2024-03-01T10:15`, `2024-03-01T10:15:30`, `…:30.123`, with `Z`, `+02:00`,
///   `+0200` or `+02`; a space may stand for `T`; no zone means UTC.
/// - Epoch numbers: up to 11 digits are seconds, 12 to 14 digits milliseconds; seconds may have a fraction.
public enum TimestampParser {
    public static func parse(_ s: String) -> Int64? {
        var s = s
        return s.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    public static func parse(_ p: UnsafeRawBufferPointer) -> Int64? {
        var lo = 0, hi = p.count
        while lo < hi && (p[lo] == 32 || p[lo] == 9) { lo += 1 }
        while hi > lo && (p[hi - 1] == 32 || p[hi - 1] == 9) { hi -= 1 }
        let n = hi - lo
        if n == 0 { return nil }
        @inline(__always) func digit(_ i: Int) -> Int? {
            let c = p[lo + i]
            return c >= 48 && c <= 57 ? Int(c - 48) : nil
        }
        @inline(__always) func num(_ i: Int, _ len: Int) -> Int? {
            guard i + len <= n else { return nil }
            var v = 0
            for k in 0..<len { guard let d = digit(i + k) else { return nil }; v = v * 10 + d }
            return v
        }
        // Epoch numbers.
        if n >= 5, p[lo + 4] != 45, p[lo + 4] != 47 {
            var v: Int64 = 0
            var i = 0
            var neg = false
            if p[lo] == 45 { neg = true; i = 1 }
            let digitsStart = i
            while i < n, let d = digit(i) { v = v &* 10 &+ Int64(d); i += 1 }
            let digits = i - digitsStart
            guard digits > 0 else { return nil }
            var fracMs: Int64 = 0
            if i < n && p[lo + i] == 46 && digits <= 11 {
                i += 1
                var scale: Int64 = 100
                while i < n, let d = digit(i) { fracMs += Int64(d) * scale; scale /= 10; i += 1 }
            }
            guard i == n else { return nil }
            let ms: Int64
            if digits <= 11 { ms = v * 1000 + fracMs } else if digits <= 14 { ms = v } else { return nil }
            return neg ? -ms : ms
        }
        guard n >= 10, let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2) else { return nil }
        let sep = p[lo + 4]
        guard (sep == 45 || sep == 47), p[lo + 7] == sep else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y) else { return nil }
        var ms = Int64(UTC.daysFromCivil(y, mo, d)) * UTC.msPerDay
        if n == 10 { return ms }
        let t = p[lo + 10]
        guard t == 84 || t == 32 || t == 116 else { return nil }
        guard let hh = num(11, 2), n >= 16, p[lo + 13] == 58, let mm = num(14, 2) else { return nil }
        guard hh <= 24, mm <= 59 else { return nil }
        var i = 16
        var ss = 0
        if i < n && p[lo + i] == 58 {
            guard let v = num(i + 1, 2), v <= 60 else { return nil }
            ss = v; i += 3
        }
        var frac: Int64 = 0
        if i < n && (p[lo + i] == 46 || p[lo + i] == 44) {
            i += 1
            var scale: Int64 = 100
            let start = i
            while i < n, let dg = digit(i) { frac += Int64(dg) * scale; scale /= 10; i += 1 }
            guard i > start else { return nil }
        }
        ms += Int64(hh * 3600 + mm * 60 + ss) * 1000 + frac
        if i == n { return ms }
        let z = p[lo + i]
        if (z == 90 || z == 122) && i + 1 == n { return ms }
        if z == 32 && i + 1 < n { i += 1 }  // "2024-01-01 10:00:00 +0200"
        let zc = p[lo + i]
        guard zc == 43 || zc == 45 else { return nil }
        let sign: Int64 = zc == 43 ? 1 : -1
        guard let oh = num(i + 1, 2) else { return nil }
        var om = 0
        var j = i + 3
        if j < n && p[lo + j] == 58 { j += 1 }
        if j < n { guard let v = num(j, 2) else { return nil }; om = v; j += 2 }
        guard j == n, oh <= 18, om <= 59 else { return nil }
        return ms - sign * Int64(oh * 3600 + om * 60) * 1000
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
