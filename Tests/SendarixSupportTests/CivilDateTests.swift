import Testing
@testable import SendarixSupport

@Suite("CivilDate arithmetic and RFC 3339 / RFC 5322 text")
struct CivilDateTests {
    @Test("the epoch, leap days and far dates convert to the calendar and back")
    func knownDays() {
        #expect(CivilDate(days: 0) == CivilDate(year: 1970, month: 1, day: 1))
        #expect(CivilDate(days: -1) == CivilDate(year: 1969, month: 12, day: 31))
        #expect(CivilDate(year: 2000, month: 2, day: 29).days == 11_016)
        #expect(CivilDate(days: 11_016) == CivilDate(year: 2000, month: 2, day: 29))
        #expect(CivilDate(year: 2026, month: 11, day: 29).days == 20_786)
        #expect(CivilDate(year: 1600, month: 3, day: 1).days == -135_080)
    }

    @Test("every day over ±400 years (one full Gregorian cycle each way) round-trips and weekdays advance by one")
    func roundTrip() {
        var previousWeekday = CivilDate.weekday(days: -146_097)
        for days in Int64(-146_096)...146_097 {
            let date = CivilDate(days: days)
            #expect((1...12).contains(date.month) && (1...31).contains(date.day))
            if date.days != days { Issue.record("day \(days) came back as \(date.days)"); return }
            let weekday = date.weekday
            if weekday != (previousWeekday + 1) % 7 { Issue.record("weekday jump at \(days)"); return }
            previousWeekday = weekday
        }
    }

    @Test("1970-01-01 was a Thursday and 2026-11-29 a Sunday")
    func weekdays() {
        #expect(CivilDate(days: 0).weekday == 4)
        #expect(CivilDate(year: 2026, month: 11, day: 29).weekday == 0)
    }

    @Test("RFC 3339 formats milliseconds in UTC, including before the epoch")
    func rfc3339Format() {
        #expect(CivilDate.rfc3339(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(CivilDate.rfc3339(millis: 1_795_945_639_123) == "2026-11-29T09:47:19.123Z")
        #expect(CivilDate.rfc3339(millis: -1) == "1969-12-31T23:59:59.999Z")
    }

    @Test("RFC 3339 parses offsets, fractions and separators, and rejects malformed text")
    func rfc3339Parse() {
        #expect(CivilDate.parseRFC3339("2026-11-29T09:47:19.123Z") == 1_795_945_639_123)
        #expect(CivilDate.parseRFC3339("2026-11-29t10:47:19.1234+01:00") == 1_795_945_639_123)
        #expect(CivilDate.parseRFC3339("2026-11-29 09:47:19z") == 1_795_945_639_000)
        #expect(CivilDate.parseRFC3339("1969-12-31T23:00:00-01:00") == 0)
        for bad in ["2026-11-29T09:47:19", "2026-13-01T00:00:00Z", "2026-11-29T09:47:19.Z",
                    "2026-11-29T24:00:00Z", "2026-11-29T09:47:19+0100", "2026-11-29T09:47:19Zx", ""] {
            #expect(CivilDate.parseRFC3339(bad) == nil, "\(bad)")
        }
    }

    @Test("RFC 3339 text parses back to the same milliseconds over a seeded sample")
    func rfc3339RoundTrip() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let millis = Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &rng)
            #expect(CivilDate.parseRFC3339(CivilDate.rfc3339(millis: millis)) == millis)
        }
    }

    @Test("RFC 5322 dates carry weekday, unpadded day and +0000")
    func rfc5322() {
        #expect(CivilDate.rfc5322(seconds: 1_795_945_639) == "Sun, 29 Nov 2026 09:47:19 +0000")
        #expect(CivilDate.rfc5322(seconds: 0) == "Thu, 1 Jan 1970 00:00:00 +0000")
        #expect(CivilDate.rfc5322(seconds: -1) == "Wed, 31 Dec 1969 23:59:59 +0000")
    }
}
