import Testing
@testable import JourneyStore
import JourneyCore

@Suite struct TimestampParserTests {
    let base = Int64(UTC.daysFromCivil(2024, 3, 1)) * 86_400_000

    @Test func isoForms() {
        #expect(TimestampParser.parse("2024-03-01") == base)
        #expect(TimestampParser.parse("2024-03-01T10:15:30Z") == base + 36_930_000)
        #expect(TimestampParser.parse("2024-03-01 10:15:30") == base + 36_930_000)
        #expect(TimestampParser.parse("2024-03-01T10:15Z") == base + 36_900_000)
        #expect(TimestampParser.parse("2024-03-01T10:15:30.250Z") == base + 36_930_250)
        #expect(TimestampParser.parse("2024-03-01T12:15:30+02:00") == base + 36_930_000)
        #expect(TimestampParser.parse("2024-03-01T05:15:30-0500") == base + 36_930_000)
    }

    @Test func epochNumbers() {
        #expect(TimestampParser.parse("1709251200") == 1_709_251_200_000)
        #expect(TimestampParser.parse("1709251200123") == 1_709_251_200_123)
        #expect(TimestampParser.parse("1709251200.5") == 1_709_251_200_500)
    }

    @Test func rejectsNonsense() {
        for bad in ["", "yesterday", "2024-02-30", "2024-13-01", "31/12/2024", "2024-03-01T25:00", "2024-03-01T10:15:30+99:00"] {
            #expect(TimestampParser.parse(bad) == nil, "\(bad)")
        }
        #expect(TimestampParser.parse("2024-02-29") != nil)
    }

    @Test func civilRoundTrip() {
        for d in stride(from: -800_000, to: 800_000, by: 997) {
            let (y, m, dd) = UTC.civil(fromDays: d)
            #expect(UTC.daysFromCivil(y, m, dd) == d)
        }
    }
}
