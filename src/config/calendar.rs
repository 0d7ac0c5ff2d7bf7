//! `[calendar]`: a tenant's time zone, working week, working hours and holidays (SPEC §2).

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::holidays::{self, RawDate};
use super::values::{self, key};
use super::{ConfigError, Section};

/// `[calendar]` as written: every key optional (top level and `[tenants.NAME.calendar]`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalendar {
    pub timezone: Option<String>,
    pub working_days: Option<Vec<String>>,
    pub working_hours: Option<String>,
    pub holidays: Option<Vec<RawDate>>,
}

/// A tenant's business calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarConfig {
    pub timezone: Tz,
    /// Indexed by `Weekday::num_days_from_monday`.
    pub working_days: [bool; 7],
    pub work_start: NaiveTime,
    pub work_end: NaiveTime,
    pub holidays: BTreeSet<NaiveDate>,
}

impl Default for CalendarConfig {
    /// Europe/Moscow, Monday to Friday, 09:00–18:00, no holidays.
    fn default() -> Self {
        CalendarConfig {
            timezone: chrono_tz::Europe::Moscow,
            working_days: [true, true, true, true, true, false, false],
            work_start: values::hm(9, 0),
            work_end: values::hm(18, 0),
            holidays: BTreeSet::new(),
        }
    }
}

impl Section for CalendarConfig {
    type Raw = RawCalendar;

    fn overlay(&self, raw: &RawCalendar, table: &str) -> Result<Self, ConfigError> {
        let mut out = self.clone();
        if let Some(name) = &raw.timezone {
            out.timezone = values::timezone(&key(table, "timezone"), name)?;
        }
        if let Some(days) = &raw.working_days {
            out.working_days = values::weekdays(&key(table, "working_days"), days)?;
        }
        if let Some(hours) = &raw.working_hours {
            (out.work_start, out.work_end) =
                values::working_hours(&key(table, "working_hours"), hours)?;
        }
        if let Some(dates) = &raw.holidays {
            out.holidays = holidays::dates(&key(table, "holidays"), dates)?;
        }
        Ok(out)
    }

    fn to_raw(&self) -> RawCalendar {
        RawCalendar {
            timezone: Some(self.timezone.name().to_owned()),
            working_days: Some(values::format_weekdays(&self.working_days)),
            working_hours: Some(values::format_working_hours(self.work_start, self.work_end)),
            holidays: Some(holidays::format_dates(&self.holidays)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_changes_only_the_keys_present() {
        let raw = RawCalendar {
            working_hours: Some("10:00-19:30".into()),
            ..RawCalendar::default()
        };
        let base = CalendarConfig::default();
        let out = base.overlay(&raw, "tenants.acme.calendar").unwrap();
        assert_eq!(out.work_start, values::hm(10, 0));
        assert_eq!(out.work_end, values::hm(19, 30));
        assert_eq!(out.timezone, base.timezone);
        assert_eq!(out.working_days, base.working_days);
    }

    #[test]
    fn to_raw_overlays_back_to_the_same_calendar() {
        let mut calendar = CalendarConfig {
            timezone: chrono_tz::Asia::Yekaterinburg,
            working_days: [false, true, false, true, false, true, true],
            ..CalendarConfig::default()
        };
        calendar
            .holidays
            .extend(NaiveDate::from_ymd_opt(2026, 1, 7));
        let again = CalendarConfig::default().overlay(&calendar.to_raw(), "calendar");
        assert_eq!(again.unwrap(), calendar);
    }
}
