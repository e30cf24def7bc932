//! Time stamps as the commands print them.

/// The (year, month, day) of a count of days since 1970-01-01, in the
/// proleptic Gregorian calendar (Howard Hinnant's days-to-civil algorithm):
/// for the time stamps here and the MS-DOS dates of `gzip --zip`.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Milliseconds since the Unix epoch as RFC 3339 in UTC
/// (`2026-11-25T14:51:31.716Z`), formatted into a fixed array: no
/// allocation and no formatting machinery, so `watch` can stamp every line.
pub fn rfc3339_millis(millis: i64) -> [u8; 24] {
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: i64| {
        for i in (at..at + width).rev() {
            text[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, rem / 3600);
    put(14, 2, rem / 60 % 60);
    put(17, 2, rem % 60);
    put(20, 3, ms);
    text
}

/// Seconds since the Unix epoch as `2026-01-31T12:34:56.789Z` (to the
/// nearest millisecond).
pub(crate) fn rfc3339(seconds: f64) -> String {
    let millis = (seconds * 1000.0).round() as i64;
    String::from_utf8_lossy(&rfc3339_millis(millis)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{rfc3339, rfc3339_millis};

    fn text(millis: i64) -> String {
        String::from_utf8(rfc3339_millis(millis).to_vec()).unwrap()
    }

    #[test]
    fn dates_across_leap_years_and_centuries() {
        assert_eq!(text(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(text(951_782_400_500), "2000-02-29T00:00:00.500Z");
        assert_eq!(text(1_767_225_599_999), "2025-12-31T23:59:59.999Z");
        assert_eq!(text(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn seconds_round_to_the_millisecond() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400.5), "2000-02-29T00:00:00.500Z");
        assert_eq!(rfc3339(1_767_225_599.999), "2025-12-31T23:59:59.999Z");
    }
}
