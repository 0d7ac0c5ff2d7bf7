//! Typed reads from one JSON object whose values may be strings even where numbers are meant.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::FormatError;
use crate::model::Timestamp;

/// Parses `bytes` as one JSON object.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, FormatError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(FormatError::Json(format!(
            "expected one JSON object, got {}",
            type_name(&other)
        ))),
        Err(error) => Err(FormatError::Json(error.to_string())),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One JSON object read by field name; each read takes a list of aliases, first present wins,
/// and errors name the alias that was present (or the first alias when none was).
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a>(pub &'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// The nested object under `key`, if there is one.
    pub fn object(&self, key: &str) -> Option<Fields<'a>> {
        match self.0.get(key) {
            Some(Value::Object(map)) => Some(Fields(map)),
            _ => None,
        }
    }

    /// The first alias with a value other than `null` or a blank string.
    fn value(&self, names: &[&'static str]) -> Option<(&'static str, &'a Value)> {
        names.iter().find_map(|&name| match self.0.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(value) => Some((name, value)),
        })
    }

    /// A string or a number as trimmed text; `None` when absent, `null` or blank.
    pub fn text(&self, names: &[&'static str]) -> Result<Option<String>, FormatError> {
        let Some((name, value)) = self.value(names) else {
            return Ok(None);
        };
        match value {
            Value::String(s) => Ok(Some(s.trim().to_owned())),
            Value::Number(n) => Ok(Some(n.to_string())),
            other => Err(FormatError::bad(
                name,
                &other.to_string(),
                "expected a string or a number",
            )),
        }
    }

    /// [`Fields::text`] that must be present.
    pub fn required_text(&self, names: &[&'static str]) -> Result<String, FormatError> {
        self.text(names)?
            .ok_or_else(|| FormatError::missing(first(names)))
    }

    /// [`Fields::text`] where `"0"` (an unset id in Bitrix24) also counts as absent.
    pub fn id(&self, names: &[&'static str]) -> Result<Option<String>, FormatError> {
        Ok(self.text(names)?.filter(|id| id != "0"))
    }

    /// Whole seconds from an integer, a decimal (truncated) or a numeric string.
    pub fn seconds(&self, names: &[&'static str]) -> Result<Option<u32>, FormatError> {
        let Some((name, value)) = self.value(names) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Number(n) => n.as_u64().or_else(|| n.as_f64().and_then(whole_seconds)),
            Value::String(s) => {
                let s = s.trim();
                s.parse::<u64>()
                    .ok()
                    .or_else(|| s.parse::<f64>().ok().and_then(whole_seconds))
            }
            _ => None,
        };
        parsed
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| FormatError::bad(name, &render(value), "expected whole seconds ≥ 0"))
    }

    /// An instant written as ISO 8601 / RFC 3339 with an offset.
    pub fn instant(&self, names: &[&'static str]) -> Result<Option<Timestamp>, FormatError> {
        let Some((name, value)) = self.value(names) else {
            return Ok(None);
        };
        let Value::String(text) = value else {
            return Err(FormatError::bad(
                name,
                &render(value),
                "expected an ISO 8601 date-time with offset",
            ));
        };
        parse_with_offset(text.trim())
            .map(Some)
            .map_err(|reason| FormatError::bad(name, text, reason))
    }

    /// A wall-clock time in `zone` (`2024-03-04 10:15:00`), or an instant with an offset;
    /// MySQL's zero date `0000-00-00 00:00:00` counts as absent.
    pub fn local_time(
        &self,
        names: &[&'static str],
        zone: Tz,
    ) -> Result<Option<Timestamp>, FormatError> {
        let Some((name, value)) = self.value(names) else {
            return Ok(None);
        };
        let Value::String(text) = value else {
            return Err(FormatError::bad(
                name,
                &render(value),
                "expected a date-time `YYYY-MM-DD HH:MM:SS`",
            ));
        };
        let text = text.trim();
        if text.starts_with("0000-00-00") {
            return Ok(None);
        }
        parse_local(text, zone)
            .map(Some)
            .map_err(|reason| FormatError::bad(name, text, reason))
    }
}

fn first(names: &[&'static str]) -> &'static str {
    names.first().copied().unwrap_or("?")
}

fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn whole_seconds(value: f64) -> Option<u64> {
    (0.0..4.3e9).contains(&value).then(|| value.trunc() as u64)
}

/// RFC 3339, or ISO 8601 with a `+HHMM` offset (`2024-03-04T10:15:00+0300`).
fn parse_with_offset(text: &str) -> Result<Timestamp, &'static str> {
    let parsed = match Timestamp::parse_rfc3339(text) {
        Ok(at) => return Ok(at),
        Err(_) => DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
            .map_err(|_| "expected an ISO 8601 date-time with offset")?,
    };
    Timestamp::from_datetime(&parsed).map_err(|_| "date-time outside 1970..2105")
}

fn parse_local(text: &str, zone: Tz) -> Result<Timestamp, &'static str> {
    if let Ok(at) = parse_with_offset(text) {
        return Ok(at);
    }
    let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or("expected a date-time `YYYY-MM-DD HH:MM:SS`")?;
    let local = match zone.from_local_datetime(&naive) {
        LocalResult::Single(at) => at,
        // A wall-clock hour that happens twice (DST ends): the first one, like the PBX clock.
        LocalResult::Ambiguous(earliest, _) => earliest,
        LocalResult::None => return Err("this local time does not exist in the zone (DST gap)"),
    };
    Timestamp::from_datetime(&local).map_err(|_| "date-time outside 1970..2105")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn with(value: Value) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("F".into(), value);
        map
    }

    #[test]
    fn numbers_may_be_strings_and_blank_means_absent() {
        for value in [
            json!(95),
            json!("95"),
            json!(" 95 "),
            json!(95.9),
            json!("95.0"),
        ] {
            assert_eq!(Fields(&with(value)).seconds(&["F"]), Ok(Some(95)));
        }
        for value in [json!(null), json!(""), json!("  ")] {
            let map = with(value);
            assert_eq!(Fields(&map).seconds(&["F"]), Ok(None));
            assert_eq!(Fields(&map).text(&["F"]), Ok(None));
        }
        for value in [
            json!(-1),
            json!("-1"),
            json!("abc"),
            json!([1]),
            json!(1e12),
        ] {
            let error = Fields(&with(value)).seconds(&["F"]).unwrap_err();
            assert_eq!(error.field(), Some("F"));
        }
        assert_eq!(
            Fields(&with(json!(1269))).text(&["F"]),
            Ok(Some("1269".into()))
        );
        assert_eq!(Fields(&with(json!("0"))).id(&["F"]), Ok(None));
        assert!(Fields(&with(json!({"a": 1}))).text(&["F"]).is_err());
        assert_eq!(
            Fields(&Map::new()).required_text(&["CALL_ID", "ID"]),
            Err(FormatError::missing("CALL_ID"))
        );
    }

    #[test]
    fn instants_need_an_offset_and_local_times_take_the_zone() {
        let utc = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        for text in ["2024-03-04T10:15:00+03:00", "2024-03-04T10:15:00+0300"] {
            let at = Fields(&with(json!(text))).instant(&["F"]).unwrap();
            assert_eq!(at, Some(utc("2024-03-04T07:15:00Z")));
        }
        assert!(
            Fields(&with(json!("2024-03-04 10:15:00")))
                .instant(&["F"])
                .is_err()
        );
        assert!(Fields(&with(json!({}))).instant(&["F"]).is_err());

        let moscow = chrono_tz::Europe::Moscow;
        for text in [
            "2024-03-04 10:15:00",
            "2024-03-04T10:15:00",
            "2024-03-04 10:15:00.250",
        ] {
            let at = Fields(&with(json!(text)))
                .local_time(&["F"], moscow)
                .unwrap();
            assert_eq!(
                at.map(|t| t.millis() / 1000),
                Some(utc("2024-03-04T07:15:00Z").millis() / 1000)
            );
        }
        let zero = with(json!("0000-00-00 00:00:00"));
        assert_eq!(Fields(&zero).local_time(&["F"], moscow), Ok(None));
        // 02:30 on the spring-forward night does not exist in Berlin.
        let gap = with(json!("2024-03-31 02:30:00"));
        let error = Fields(&gap)
            .local_time(&["F"], chrono_tz::Europe::Berlin)
            .unwrap_err();
        assert!(error.to_string().contains("DST gap"), "{error}");
    }

    #[test]
    fn only_objects_parse() {
        assert!(parse_object(br#"{"a":1}"#).is_ok());
        let error = parse_object(b"[1,2]").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid JSON: expected one JSON object, got an array"
        );
        assert_eq!(parse_object(b"{").unwrap_err().kind(), "json");
    }
}
