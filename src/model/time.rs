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
        let parsed = DateTime::parse_from_rfc3339(text)
            .map_err(|_| TimestampError::Syntax(text.to_owned()))?;
        Self::from_datetime(&parsed)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-03-02T07:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn compact_seconds_round_trip() {
        let ts = Timestamp::from_millis(Timestamp::MAX_MILLIS).unwrap();
        assert_eq!(Timestamp::from_compact_seconds(ts.as_compact_seconds()), ts);
    }
}
