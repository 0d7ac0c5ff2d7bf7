//! Parsing and printing of configuration values: durations, times of day, weekdays, numbers, names.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{NaiveTime, Timelike};
use chrono_tz::Tz;

use super::ConfigError;

/// The key path of `field` inside the table at `table` (the root table is `""`).
pub(crate) fn key(table: &str, field: &str) -> String {
    if table.is_empty() {
        field.to_owned()
    } else {
        format!("{table}.{field}")
    }
}

/// The key path of `field` inside `table`, quoting `field` when it is not a bare TOML key
/// (`kafka.properties."group.id"`, `tenants."with space"`).
pub(crate) fn quoted_key(table: &str, field: &str) -> String {
    let bare = !field.is_empty()
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key(table, field)
    } else {
        key(table, &format!("{field:?}"))
    }
}

/// A non-negative duration in humantime syntax: `"15m"`, `"1h 30m"`, `"30d"`, `"0s"`.
pub(crate) fn duration(key: &str, text: &str) -> Result<Duration, ConfigError> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(ConfigError::invalid(
            key,
            format!("must not be negative, got {text:?}"),
        ));
    }
    humantime::parse_duration(trimmed).map_err(|error| {
        ConfigError::invalid(
            key,
            format!("invalid duration {text:?} ({error}); write e.g. \"15m\", \"1h 30m\", \"30d\""),
        )
    })
}

/// A duration that must be longer than zero.
pub(crate) fn positive_duration(key: &str, text: &str) -> Result<Duration, ConfigError> {
    let value = duration(key, text)?;
    if value.is_zero() {
        return Err(ConfigError::invalid(
            key,
            format!("must be greater than zero, got {text:?}"),
        ));
    }
    Ok(value)
}

/// Prints a duration so that [`duration`] reads it back exactly (`"90d"`, `"1h 30m"`, `"0s"`).
pub(crate) fn format_duration(value: Duration) -> String {
    let secs = value.as_secs();
    let nanos = u64::from(value.subsec_nanos());
    let parts = [
        (secs / 86_400, "d"),
        (secs % 86_400 / 3_600, "h"),
        (secs % 3_600 / 60, "m"),
        (secs % 60, "s"),
        (nanos / 1_000_000, "ms"),
        (nanos % 1_000_000 / 1_000, "us"),
        (nanos % 1_000, "ns"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(amount, _)| *amount > 0)
        .map(|(amount, unit)| format!("{amount}{unit}"))
        .collect();
    if text.is_empty() {
        "0s".to_owned()
    } else {
        text.join(" ")
    }
}

/// A time of day known to be valid (for defaults; checked at compile time in `const` items).
pub(crate) const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("invalid time of day"),
    }
}

/// A local time of day written `"HH:MM"` (24-hour clock).
pub(crate) fn time_of_day(key: &str, text: &str) -> Result<NaiveTime, ConfigError> {
    parse_hh_mm(text.trim()).ok_or_else(|| {
        ConfigError::invalid(
            key,
            format!("invalid time of day {text:?}; expected \"HH:MM\" between 00:00 and 23:59"),
        )
    })
}

fn parse_hh_mm(text: &str) -> Option<NaiveTime> {
    let (hours, minutes) = text.split_once(':')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours) || hours.len() > 2 || !digits(minutes) || minutes.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(hours.parse().ok()?, minutes.parse().ok()?, 0)
}

/// Prints a time of day as `"HH:MM"`.
pub(crate) fn format_time(value: NaiveTime) -> String {
    format!("{:02}:{:02}", value.hour(), value.minute())
}

/// Working hours written `"HH:MM-HH:MM"`, the start strictly before the end.
pub(crate) fn working_hours(key: &str, text: &str) -> Result<(NaiveTime, NaiveTime), ConfigError> {
    let malformed = || {
        ConfigError::invalid(
            key,
            format!(
                "invalid working hours {text:?}; expected \"HH:MM-HH:MM\", e.g. \"09:00-18:00\""
            ),
        )
    };
    let (start, end) = text.split_once('-').ok_or_else(malformed)?;
    let start = parse_hh_mm(start.trim()).ok_or_else(malformed)?;
    let end = parse_hh_mm(end.trim()).ok_or_else(malformed)?;
    if start >= end {
        return Err(ConfigError::invalid(
            key,
            format!("start must be before end, got {text:?}"),
        ));
    }
    Ok((start, end))
}

/// Prints working hours as `"HH:MM-HH:MM"`.
pub(crate) fn format_working_hours(start: NaiveTime, end: NaiveTime) -> String {
    format!("{}-{}", format_time(start), format_time(end))
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const WEEKDAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Working days as `["mon", ...]` (case-insensitive; full names accepted), non-empty, no repeats.
/// The result is indexed by `Weekday::num_days_from_monday`.
pub(crate) fn weekdays(key: &str, names: &[String]) -> Result<[bool; 7], ConfigError> {
    if names.is_empty() {
        return Err(ConfigError::invalid(key, "must list at least one day"));
    }
    let mut days = [false; 7];
    for (index, name) in names.iter().enumerate() {
        let lower = name.trim().to_lowercase();
        let day = WEEKDAYS
            .iter()
            .zip(WEEKDAY_NAMES)
            .position(|(short, long)| lower == *short || lower == long)
            .ok_or_else(|| {
                ConfigError::invalid(
                    format!("{key}[{index}]"),
                    format!(
                        "unknown weekday {name:?}; expected one of {}",
                        WEEKDAYS.join(", ")
                    ),
                )
            })?;
        if days[day] {
            return Err(ConfigError::invalid(
                key,
                format!("{} is listed twice", WEEKDAYS[day]),
            ));
        }
        days[day] = true;
    }
    Ok(days)
}

/// Prints working days as their three-letter names, Monday first.
pub(crate) fn format_weekdays(days: &[bool; 7]) -> Vec<String> {
    WEEKDAYS
        .iter()
        .zip(days)
        .filter(|(_, on)| **on)
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

/// An IANA time zone name such as `"Europe/Moscow"`.
pub(crate) fn timezone(key: &str, name: &str) -> Result<Tz, ConfigError> {
    name.parse::<Tz>()
        .map_err(|_| ConfigError::invalid(key, format!("unknown IANA time zone {name:?}")))
}

/// An integer in `min..=max`.
pub(crate) fn bounded(key: &str, value: i64, min: u32, max: u32) -> Result<u32, ConfigError> {
    if let Ok(value) = u32::try_from(value) {
        if (min..=max).contains(&value) {
            return Ok(value);
        }
    }
    let range = match (min, max) {
        (0, u32::MAX) => format!("between 0 and {max}"),
        (_, u32::MAX) => format!("at least {min}"),
        (0, _) => format!("at most {max}"),
        _ => format!("between {min} and {max}"),
    };
    Err(ConfigError::invalid(
        key,
        format!("must be {range}, got {value}"),
    ))
}

/// A list of names (stage ids, reasons): each non-empty, without surrounding spaces, no repeats.
pub(crate) fn names(key: &str, values: &[String]) -> Result<Vec<String>, ConfigError> {
    let mut seen = HashSet::new();
    for (index, value) in values.iter().enumerate() {
        name(&format!("{key}[{index}]"), value)?;
        if !seen.insert(value.as_str()) {
            return Err(ConfigError::invalid(
                key,
                format!("{value:?} is listed twice"),
            ));
        }
    }
    Ok(values.to_vec())
}

/// One name: non-empty and without leading or trailing whitespace.
pub(crate) fn name(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::invalid(key, "must not be empty"));
    }
    if value.trim() != value {
        return Err(ConfigError::invalid(
            key,
            format!("{value:?} must not start or end with whitespace"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_a_form_that_parses_back_exactly() {
        for text in [
            "15m",
            "1h 30m",
            "30d",
            "90d",
            "0s",
            "1d 2h 3m 4s 5ms 6us 7ns",
        ] {
            let value = duration("k", text).unwrap();
            assert_eq!(format_duration(value), text);
        }
        assert_eq!(duration("k", "0").unwrap(), Duration::ZERO);
        assert_eq!(
            duration("k", "2 hours").unwrap(),
            Duration::from_secs(7_200)
        );
    }

    #[test]
    fn durations_refuse_negative_zero_where_positive_and_garbage() {
        let text = |r: Result<Duration, ConfigError>| r.unwrap_err().to_string();
        assert_eq!(
            text(duration("a.b", "-5m")),
            "a.b: must not be negative, got \"-5m\""
        );
        assert_eq!(
            text(positive_duration("a.b", "0s")),
            "a.b: must be greater than zero, got \"0s\""
        );
        assert!(text(duration("a.b", "5")).starts_with("a.b: invalid duration \"5\""));
        assert!(text(duration("a.b", "")).starts_with("a.b: invalid duration \"\""));
    }

    #[test]
    fn times_of_day_are_hh_mm() {
        assert_eq!(time_of_day("k", "13:00").unwrap(), hm(13, 0));
        assert_eq!(time_of_day("k", "9:05").unwrap(), hm(9, 5));
        for bad in [
            "24:00", "13:60", "13", "13:0", "13:00:00", "1300", "ab:cd", "-1:00",
        ] {
            assert!(time_of_day("k", bad).is_err(), "{bad}");
        }
        assert_eq!(format_time(hm(9, 5)), "09:05");
    }

    #[test]
    fn working_hours_need_start_before_end() {
        assert_eq!(
            working_hours("k", "09:00 - 18:00").unwrap(),
            (hm(9, 0), hm(18, 0))
        );
        assert_eq!(
            working_hours("w", "18:00-09:00").unwrap_err().to_string(),
            "w: start must be before end, got \"18:00-09:00\""
        );
        assert!(working_hours("w", "09:00-09:00").is_err());
        assert!(working_hours("w", "09:00").is_err());
        assert!(working_hours("w", "09:00-18:00-20:00").is_err());
    }

    #[test]
    fn weekdays_accept_short_and_full_names_once_each() {
        let list = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let days = weekdays("k", &list(&["Sun", "monday", "wed"])).unwrap();
        assert_eq!(days, [true, false, true, false, false, false, true]);
        assert_eq!(format_weekdays(&days), list(&["mon", "wed", "sun"]));
        assert_eq!(
            weekdays("d", &list(&["mon", "Monday"]))
                .unwrap_err()
                .to_string(),
            "d: mon is listed twice"
        );
        assert_eq!(
            weekdays("d", &[]).unwrap_err().to_string(),
            "d: must list at least one day"
        );
    }

    #[test]
    fn bounded_integers_explain_the_range() {
        let text = |r: Result<u32, ConfigError>| r.unwrap_err().to_string();
        assert_eq!(bounded("k", 7, 1, 31).unwrap(), 7);
        assert_eq!(
            text(bounded("k", 0, 1, u32::MAX)),
            "k: must be at least 1, got 0"
        );
        assert_eq!(
            text(bounded("k", 32, 1, 31)),
            "k: must be between 1 and 31, got 32"
        );
        assert_eq!(
            text(bounded("k", -1, 0, u32::MAX)),
            "k: must be between 0 and 4294967295, got -1"
        );
        assert_eq!(bounded("k", 4_294_967_295, 0, u32::MAX).unwrap(), u32::MAX);
    }

    #[test]
    fn names_are_non_empty_trimmed_and_unique() {
        let list = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert!(names("k", &list(&["NEW", "C2:NEW"])).is_ok());
        assert_eq!(
            names("s", &list(&["NEW", ""])).unwrap_err().to_string(),
            "s[1]: must not be empty"
        );
        assert!(names("s", &list(&[" NEW"])).is_err());
        assert_eq!(
            names("s", &list(&["NEW", "NEW"])).unwrap_err().to_string(),
            "s: \"NEW\" is listed twice"
        );
    }
}
