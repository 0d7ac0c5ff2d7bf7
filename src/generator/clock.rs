//! The generator's business calendar: Mon–Fri 09:00–18:00 in one time zone, DST-safe, cached per day.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Weekday,
};
use chrono_tz::Tz;

use super::knobs::{WORK_CLOSE_HOUR, WORK_OPEN_HOUR};

pub(crate) const MINUTE_MS: i64 = 60_000;
pub(crate) const HOUR_MS: i64 = 60 * MINUTE_MS;
/// A full working day (09:00–18:00) in milliseconds.
pub(crate) const WORKDAY_MS: i64 = (WORK_CLOSE_HOUR - WORK_OPEN_HOUR) * HOUR_MS;

/// One local calendar day, with its bounds as UTC milliseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Day {
    pub date: NaiveDate,
    pub business: bool,
    /// Local 00:00 (or the first instant after it, if midnight falls into a DST gap).
    pub midnight: i64,
    /// Working hours start (09:00 local).
    pub open: i64,
    /// Working hours end (18:00 local).
    pub close: i64,
}

/// Day-indexed calendar; index 0 is a week before the first generated day.
pub(crate) struct Clock {
    tz: Tz,
    base: NaiveDate,
    days: Vec<Day>,
}

impl Clock {
    /// A calendar covering `start - 7 days .. start + horizon_days`; other days are computed on demand.
    pub(crate) fn new(tz: Tz, start: NaiveDate, horizon_days: u32) -> Self {
        let base = start.checked_sub_signed(Duration::days(7)).unwrap_or(start);
        let mut clock = Clock {
            tz,
            base,
            days: Vec::new(),
        };
        let count = i64::from(horizon_days) + 8;
        clock.days = (0..count).map(|i| clock.compute(i)).collect();
        clock
    }

    /// Index of `date` (may be outside the cache, or negative).
    pub(crate) fn index_of(&self, date: NaiveDate) -> i64 {
        date.signed_duration_since(self.base).num_days()
    }

    /// The day with index `idx`.
    pub(crate) fn day(&self, idx: i64) -> Day {
        match usize::try_from(idx).ok().and_then(|i| self.days.get(i)) {
            Some(day) => *day,
            None => self.compute(idx),
        }
    }

    /// Index of the local day containing instant `t`.
    pub(crate) fn day_index(&self, t: i64) -> i64 {
        if let (Some(first), Some(last)) = (self.days.first(), self.days.last()) {
            if t >= first.midnight && t < last.midnight {
                return self.days.partition_point(|d| d.midnight <= t) as i64 - 1;
            }
        }
        let local = DateTime::from_timestamp_millis(t).map(|dt| dt.with_timezone(&self.tz));
        local.map_or(0, |dt| self.index_of(dt.date_naive()))
    }

    /// The first business day with index >= `idx`.
    pub(crate) fn business_at_or_after(&self, mut idx: i64) -> i64 {
        while !self.day(idx).business {
            idx += 1;
        }
        idx
    }

    /// The first business day with index > `idx`.
    pub(crate) fn next_business(&self, idx: i64) -> i64 {
        self.business_at_or_after(idx + 1)
    }

    /// The `n`-th business day after business day `idx` (n = 0 gives `idx` itself).
    pub(crate) fn add_business_days(&self, mut idx: i64, n: u32) -> i64 {
        for _ in 0..n {
            idx = self.next_business(idx);
        }
        idx
    }

    /// Seconds since local midnight of instant `t` (wall clock; DST days are not special-cased).
    pub(crate) fn local_seconds(&self, t: i64) -> i64 {
        let local = DateTime::from_timestamp_millis(t).map(|dt| dt.with_timezone(&self.tz));
        local.map_or(0, |dt| i64::from(Timelike::num_seconds_from_midnight(&dt)))
    }

    /// `ms` of working time after `t`: nights, weekends and the rest of the day are skipped.
    /// With `ms = 0` this is `t` itself when inside working hours, else the next opening.
    pub(crate) fn add_working(&self, t: i64, ms: i64) -> i64 {
        let mut left = ms.max(0);
        let first = self.day_index(t);
        // Each day is looked at once; any week has business days, so this ends early.
        for idx in first..first + 4000 {
            let day = self.day(idx);
            if !day.business {
                continue;
            }
            let from = if idx == first {
                t.max(day.open)
            } else {
                day.open
            };
            if from < day.close {
                let available = day.close - from;
                if left <= available {
                    return from + left;
                }
                left -= available;
            }
        }
        t.saturating_add(ms)
    }

    /// Local `date` at `seconds` after midnight as UTC milliseconds: times in a DST gap move
    /// forward past the gap, ambiguous times take the earlier instant.
    pub(crate) fn local_ms(&self, date: NaiveDate, seconds: u32) -> i64 {
        let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds.min(86_399), 0)
            .unwrap_or(NaiveTime::MIN);
        let mut local = date.and_time(time);
        for _ in 0..16 {
            match self.tz.from_local_datetime(&local) {
                LocalResult::Single(dt) | LocalResult::Ambiguous(dt, _) => {
                    return dt.timestamp_millis();
                }
                LocalResult::None => local += Duration::minutes(15),
            }
        }
        local.and_utc().timestamp_millis()
    }

    fn compute(&self, idx: i64) -> Day {
        let date = self
            .base
            .checked_add_signed(Duration::days(idx))
            .unwrap_or(self.base);
        let business = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let hour = |h: i64| (h * 3600) as u32;
        Day {
            date,
            business,
            midnight: self.local_ms(date, 0),
            open: self.local_ms(date, hour(WORK_OPEN_HOUR)),
            close: self.local_ms(date, hour(WORK_CLOSE_HOUR)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moscow() -> Clock {
        let start = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        Clock::new(chrono_tz::Europe::Moscow, start, 30)
    }

    #[test]
    fn working_time_skips_the_weekend() {
        let clock = moscow();
        let friday = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap();
        let t = clock.local_ms(friday, 17 * 3600 + 55 * 60);
        let due = clock.add_working(t, 15 * MINUTE_MS);
        let monday = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(due, clock.local_ms(monday, 9 * 3600 + 10 * 60));
        assert_eq!(clock.day(clock.day_index(due)).date, monday);
    }

    #[test]
    fn dst_gap_moves_forward() {
        let start = NaiveDate::from_ymd_opt(2026, 3, 28).unwrap();
        let clock = Clock::new(chrono_tz::Europe::Berlin, start, 5);
        let sunday = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let gap = clock.local_ms(sunday, 2 * 3600 + 30 * 60);
        assert_eq!(gap, clock.local_ms(sunday, 3 * 3600));
        assert_eq!(gap % HOUR_MS, 0);
        assert_eq!(clock.day(clock.day_index(gap)).date, sunday);
        let far = clock.day(400);
        assert_eq!(clock.day_index(far.open), 400);
    }
}
