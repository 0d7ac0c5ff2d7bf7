//! Event-time instants: milliseconds since the Unix epoch (UTC), RFC 3339 in JSON.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant in event time, in milliseconds since 1970-01-01T00:00:00Z.
///
/// JSON carries it as RFC 3339 with an offset; Avro as `timestamp-millis`.
/// The range is limited to years 1970..=2105 so that compact per-lead state can store
/// seconds in a `u32` (see [`Timestamp::as_compact_seconds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("not an RFC 3339 timestamp with offset: {0:?}")]
    Syntax(String),
    #[error("timestamp {0} ms is outside the supported range 1970..2106")]
    OutOfRange(i64),
}

impl Timestamp {
    /// Latest supported instant (2105-12-31T23:59:59Z), so seconds fit a `u32`.
    pub const MAX_MILLIS: i64 = 4_291_747_199_000;
    pub const MIN: Timestamp = Timestamp(0);
    pub const MAX: Timestamp = Timestamp(Self::MAX_MILLIS);

    /// Builds a timestamp from milliseconds, refusing the unsupported range.
    pub fn from_millis(millis: i64) -> Result<Self, TimestampError> {
        if (0..=Self::MAX_MILLIS).contains(&millis) {
            Ok(Timestamp(millis))
        } else {
            Err(TimestampError::OutOfRange(millis))
        }
    }

    /// Builds a timestamp from milliseconds, clamping into the supported range.
    pub fn saturating_from_millis(millis: i64) -> Self {
        Timestamp(millis.clamp(0, Self::MAX_MILLIS))
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch as `u32` (the range guarantees it fits).
    pub fn as_compact_seconds(self) -> u32 {
        (self.0 / 1000) as u32
    }

    pub fn from_compact_seconds(seconds: u32) -> Self {
        Timestamp(i64::from(seconds) * 1000)
    }

    pub fn plus_millis(self, millis: i64) -> Self {
        Self::saturating_from_millis(self.0.saturating_add(millis))
    }

    pub fn minus_millis(self, millis: i64) -> Self {
        Self::saturating_from_millis(self.0.saturating_sub(millis))
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }

    pub fn from_datetime<Tz: chrono::TimeZone>(dt: &DateTime<Tz>) -> Result<Self, TimestampError> {
        Self::from_millis(dt.timestamp_millis())
    }

    /// Parses RFC 3339 with a mandatory offset (`Z` or `±HH:MM`).
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        if let Some(millis) = fast_rfc3339_millis(text.as_bytes()) {
            return Self::from_millis(millis);
        }
        let parsed = DateTime::parse_from_rfc3339(text)
            .map_err(|_| TimestampError::Syntax(text.to_owned()))?;
        Self::from_datetime(&parsed)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-03-02T07:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        self.with_rfc3339(str::to_owned)
    }

    /// [`Timestamp::to_rfc3339`]'s bytes (ASCII digits and punctuation), formatted on the stack.
    pub(crate) fn rfc3339_bytes(self) -> [u8; 24] {
        rfc3339_millis_utc(self.0)
    }

    /// Calls `f` with [`Timestamp::to_rfc3339`]'s text, formatted on the stack.
    pub(crate) fn with_rfc3339<R>(self, f: impl FnOnce(&str) -> R) -> R {
        let bytes = rfc3339_millis_utc(self.0);
        match std::str::from_utf8(&bytes) {
            Ok(text) => f(text),
            // Unreachable (the buffer is ASCII digits and punctuation); chrono as a fallback.
            Err(_) => f(&self
                .to_datetime()
                .to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds in the supported range (years 1970..=2105,
/// so always four year digits), with the civil-from-days algorithm of H. Hinnant.
fn rfc3339_millis_utc(millis: i64) -> [u8; 24] {
    let millis = millis.clamp(0, Timestamp::MAX_MILLIS);
    let (secs, ms) = (millis / 1000, millis % 1000);
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, value: i64| {
        crate::ascii::fixed(&mut out[at..at + width], value.unsigned_abs());
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, day_secs / 3600);
    put(14, 2, day_secs / 60 % 60);
    put(17, 2, day_secs % 60);
    put(20, 3, ms);
    out
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_rfc3339(|text| f.write_str(text))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_rfc3339(|text| serializer.serialize_str(text))
    }
}

/// The common shape `YYYY-MM-DDTHH:MM:SS[.fff]` + `Z` | `±HH:MM`, parsed without chrono;
/// `None` for anything else (chrono then decides, so odd but valid forms still parse).
fn fast_rfc3339_millis(b: &[u8]) -> Option<i64> {
    fn num(b: &[u8]) -> Option<i64> {
        b.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    }
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (hour, minute, second) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&month) || day < 1 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day > days_in_month(year, month) {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0i64;
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let frac = &rest[1..1 + digits];
        millis = frac
            .iter()
            .take(3)
            .try_fold(0i64, |acc, &c| Some(acc * 10 + i64::from(c - b'0')))?
            * 10i64.pow(3 - digits.min(3) as u32);
        rest = &rest[1 + digits..];
    }
    let offset_seconds = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = num(&[*h1, *h2])?;
            let minutes = num(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let total = hours * 3600 + minutes * 60;
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date with year >= 0 (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Rfc3339;
        impl serde::de::Visitor<'_> for Rfc3339 {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp with offset")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Rfc3339)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    #[test]
    fn parses_offsets_and_prints_utc() {
        let ts = Timestamp::parse_rfc3339("2026-03-02T10:00:00+03:00").unwrap();
        assert_eq!(ts.to_rfc3339(), "2026-03-02T07:00:00.000Z");
        let z = Timestamp::parse_rfc3339("2026-03-02T07:00:00.250Z").unwrap();
        assert_eq!(z.millis() - ts.millis(), 250);
    }

    #[test]
    fn refuses_missing_offset_and_out_of_range() {
        assert!(matches!(
            Timestamp::parse_rfc3339("2026-03-02T10:00:00"),
            Err(TimestampError::Syntax(_))
        ));
        assert!(matches!(
            Timestamp::parse_rfc3339("1969-12-31T23:59:59Z"),
            Err(TimestampError::OutOfRange(_))
        ));
        assert!(Timestamp::parse_rfc3339("2106-01-01T00:00:00Z").is_err());
    }

    proptest::proptest! {
        #[test]
        fn fast_path_agrees_with_chrono(
            secs in 0i64..4_000_000_000,
            millis in 0i64..1000,
            offset_minutes in -(14 * 60)..=(14 * 60i32),
            digits in 0usize..4,
        ) {
            let offset = chrono::FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let utc = DateTime::from_timestamp_millis(secs * 1000 + millis).unwrap();
            let format = match digits {
                0 => SecondsFormat::Secs,
                1 | 2 => SecondsFormat::Millis,
                _ => SecondsFormat::Micros,
            };
            let text = utc.with_timezone(&offset).to_rfc3339_opts(format, offset_minutes == 0);
            let expected = DateTime::parse_from_rfc3339(&text).unwrap().timestamp_millis();
            proptest::prop_assert_eq!(fast_rfc3339_millis(text.as_bytes()), Some(expected), "{}", text);
        }
    }

    proptest::proptest! {
        #[test]
        fn formatting_agrees_with_chrono(millis in 0i64..=Timestamp::MAX_MILLIS) {
            let ts = Timestamp(millis);
            let expected = ts.to_datetime().to_rfc3339_opts(SecondsFormat::Millis, true);
            proptest::prop_assert_eq!(ts.to_rfc3339(), expected);
        }
    }

    #[test]
    fn civil_days_agree_with_chrono() {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for days in (-719_528..=2_932_896).step_by(97) {
            let date = epoch + chrono::Duration::days(days);
            let (y, m, d) = (date.year().into(), date.month().into(), date.day().into());
            assert_eq!(days_from_civil(y, m, d), days, "{date}");
            let last =
                date.with_day(1).unwrap() + chrono::Months::new(1) - chrono::Duration::days(1);
            assert_eq!(days_in_month(y, m), i64::from(last.day()), "{date}");
        }
    }

    #[test]
    fn formats_the_range_ends_and_leap_days() {
        assert_eq!(Timestamp::MIN.to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::MAX.to_rfc3339(), "2105-12-31T23:59:59.000Z");
        let leap = Timestamp::parse_rfc3339("2028-02-29T23:59:59.999+00:00").unwrap();
        assert_eq!(leap.to_string(), "2028-02-29T23:59:59.999Z");
    }

    #[test]
    fn fast_path_refuses_what_it_does_not_know() {
        for text in [
            "2026-02-30T10:00:00Z",
            "2026-03-02T24:00:00Z",
            "2026-03-02T10:00:00",
            "2026-03-02 10:00:00Z",
            "2026-03-02T10:00:00.Z",
        ] {
            assert_eq!(fast_rfc3339_millis(text.as_bytes()), None, "{text}");
        }
        // A space separator is valid RFC 3339 for chrono; the fast path leaves it to chrono.
        assert!(Timestamp::parse_rfc3339("2026-03-02 10:00:00+03:00").is_ok());
    }

    #[test]
    fn compact_seconds_round_trip() {
        let ts = Timestamp::from_millis(Timestamp::MAX_MILLIS).unwrap();
        assert_eq!(Timestamp::from_compact_seconds(ts.as_compact_seconds()), ts);
    }
}
