//! Holiday dates: `"YYYY-MM-DD"` strings or TOML local dates, parsed into a sorted set.

use std::collections::BTreeSet;
use std::fmt;

use chrono::NaiveDate;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::ConfigError;

/// A holiday as written in the file: a string, or a TOML date literal (`2026-01-01`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RawDate {
    Text(String),
    Toml(toml::value::Datetime),
}

impl<'de> Deserialize<'de> for RawDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawDateVisitor)
    }
}

struct RawDateVisitor;

impl<'de> Visitor<'de> for RawDateVisitor {
    type Value = RawDate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date \"YYYY-MM-DD\"")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawDate, E> {
        Ok(RawDate::Text(value.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDate, A::Error> {
        let datetime =
            toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(RawDate::Toml(datetime))
    }
}

impl Serialize for RawDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RawDate::Text(text) => serializer.serialize_str(text),
            RawDate::Toml(datetime) => datetime.serialize(serializer),
        }
    }
}

/// Validates every date; `key` names the list (items are reported as `key[i]`).
pub(crate) fn dates(key: &str, values: &[RawDate]) -> Result<BTreeSet<NaiveDate>, ConfigError> {
    values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            date(value).ok_or_else(|| {
                ConfigError::invalid(
                    format!("{key}[{index}]"),
                    format!("invalid date {}; expected \"YYYY-MM-DD\"", describe(value)),
                )
            })
        })
        .collect()
}

/// Prints dates as `"YYYY-MM-DD"` strings.
pub(crate) fn format_dates(dates: &BTreeSet<NaiveDate>) -> Vec<RawDate> {
    dates
        .iter()
        .map(|date| RawDate::Text(date.format("%Y-%m-%d").to_string()))
        .collect()
}

fn date(value: &RawDate) -> Option<NaiveDate> {
    match value {
        RawDate::Text(text) => {
            let text = text.trim();
            // `%Y` alone would also accept signed and short years.
            let shaped = text.len() == 10 && text.as_bytes().get(4) == Some(&b'-');
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|_| shaped)
        }
        RawDate::Toml(datetime) => match (datetime.date, datetime.time, datetime.offset) {
            (Some(date), None, None) => NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            ),
            _ => None,
        },
    }
}

fn describe(value: &RawDate) -> String {
    match value {
        RawDate::Text(text) => format!("{text:?}"),
        RawDate::Toml(datetime) => datetime.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_must_be_real_calendar_dates() {
        let ok = RawDate::Text("2026-03-09".into());
        assert_eq!(date(&ok), NaiveDate::from_ymd_opt(2026, 3, 9));
        for bad in ["2026-02-30", "2026-3-9", "09.03.2026", "", "+2026-03-09"] {
            assert_eq!(date(&RawDate::Text(bad.into())), None, "{bad}");
        }
    }

    #[test]
    fn errors_name_the_item_index() {
        let values = [
            RawDate::Text("2026-01-01".into()),
            RawDate::Text("2026-13-01".into()),
        ];
        let error = dates("calendar.holidays", &values)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("calendar.holidays[1]: invalid date \"2026-13-01\"; expected \"YYYY-MM-DD\"")
        );
    }
}
