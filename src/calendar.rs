//! Business calendar of a tenant: business days and DST-correct working-time arithmetic (SPEC §2).

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
};
use chrono_tz::Tz;

use crate::model::Timestamp;

/// Why a calendar configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the calendar has no working day of the week")]
    NoWorkingDays,
    #[error("working hours are empty: start {start} is not before end {end}")]
    EmptyWorkingHours { start: NaiveTime, end: NaiveTime },
}

/// First local date none of whose instants fits the [`Timestamp`] range (2105-12-31T23:59:59Z
/// is at most 2106-01-01 in any zone). Day scans stop here and saturate.
const HORIZON: NaiveDate = match NaiveDate::from_ymd_opt(2106, 1, 2) {
    Some(date) => date,
    // Unreachable (the date is valid); MAX keeps the scans bounded by the date range anyway.
    None => NaiveDate::MAX,
};

/// UTC offsets of real zones lie within -12h..+14h; a window this wide around a local
/// wall-clock reading (taken as UTC) surely contains every instant showing it.
const OFFSET_BOUND_MS: i64 = 26 * 3_600_000;

/// Working days, working hours and holidays in one IANA time zone.
///
/// A business day's working window is the closed interval of instants
/// `[local_instant(d, work_start), local_instant(d, work_end)]`; working time is elapsed time
/// inside these windows, so a window spanning a DST switch is an hour shorter or longer.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: Tz,
    working_days: [bool; 7],
    work_start: NaiveTime,
    work_end: NaiveTime,
    holidays: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    /// Builds a calendar; `working_days` is indexed by `Weekday::num_days_from_monday()`.
    pub fn new(
        tz: Tz,
        working_days: [bool; 7],
        work_start: NaiveTime,
        work_end: NaiveTime,
        holidays: BTreeSet<NaiveDate>,
    ) -> Result<Self, CalendarError> {
        if !working_days.contains(&true) {
            return Err(CalendarError::NoWorkingDays);
        }
        if work_start >= work_end {
            return Err(CalendarError::EmptyWorkingHours {
                start: work_start,
                end: work_end,
            });
        }
        Ok(Self {
            tz,
            working_days,
            work_start,
            work_end,
            holidays,
        })
    }

    /// The IANA zone all local dates and wall-clock times refer to.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Calendar date of `t` in the calendar's zone.
    pub fn local_date(&self, t: Timestamp) -> NaiveDate {
        t.to_datetime().with_timezone(&self.tz).date_naive()
    }

    /// [`Self::local_date`] of `t` with the zone's offset from UTC then, in seconds.
    pub fn local_date_and_offset(&self, t: Timestamp) -> (NaiveDate, i32) {
        let local = t.to_datetime().with_timezone(&self.tz);
        (local.date_naive(), local.offset().fix().local_minus_utc())
    }

    /// Wall-clock time of `t` in the calendar's zone.
    pub fn local_time(&self, t: Timestamp) -> NaiveTime {
        t.to_datetime().with_timezone(&self.tz).time()
    }

    /// A working weekday that is not a holiday.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        self.working_days[d.weekday().num_days_from_monday() as usize]
            && !self.holidays.contains(&d)
    }

    /// First business day strictly after `d` ([`NaiveDate::MAX`] past 2106-01-01).
    pub fn next_business_day(&self, d: NaiveDate) -> NaiveDate {
        match d.succ_opt() {
            Some(next) => self.business_day_on_or_after(next),
            None => NaiveDate::MAX,
        }
    }

    /// `d` if it is a business day, else the next one ([`NaiveDate::MAX`] past 2106-01-01).
    pub fn business_day_on_or_after(&self, d: NaiveDate) -> NaiveDate {
        // Any 7 * (holidays + 1) consecutive days hold holidays + 1 copies of a working
        // weekday, so one of them is a business day: the scan cannot need more steps.
        let max_steps = self.holidays.len().saturating_add(1).saturating_mul(7);
        let mut day = d;
        for _ in 0..=max_steps {
            if day >= HORIZON {
                return NaiveDate::MAX;
            }
            if self.is_business_day(day) {
                return day;
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => return NaiveDate::MAX,
            }
        }
        NaiveDate::MAX
    }

    /// `d` if it is a business day, else the latest one before it ([`NaiveDate::MIN`] if none).
    pub fn business_day_on_or_before(&self, d: NaiveDate) -> NaiveDate {
        // The same bound as [`Self::business_day_on_or_after`], scanning backwards.
        let max_steps = self.holidays.len().saturating_add(1).saturating_mul(7);
        let mut day = d;
        for _ in 0..=max_steps {
            if self.is_business_day(day) {
                return day;
            }
            match day.pred_opt() {
                Some(previous) => day = previous,
                None => return NaiveDate::MIN,
            }
        }
        NaiveDate::MIN
    }

    /// The `n`-th business day strictly before `d`; `n == 0` returns `d`.
    pub fn nth_business_day_before(&self, d: NaiveDate, n: u32) -> NaiveDate {
        let mut day = d;
        for _ in 0..n {
            match day.pred_opt() {
                Some(previous) => day = self.business_day_on_or_before(previous),
                None => return NaiveDate::MIN,
            }
        }
        day
    }

    /// The `n`-th business day strictly after `d`; `n == 0` returns `d`.
    /// Saturates to [`NaiveDate::MAX`] past 2106-01-01.
    pub fn nth_business_day_after(&self, d: NaiveDate, n: u32) -> NaiveDate {
        let mut day = d;
        for _ in 0..n {
            day = self.next_business_day(day);
            if day == NaiveDate::MAX {
                break;
            }
        }
        day
    }

    /// The instant at which wall-clock `time` happens on date `d`: in a DST gap the first
    /// instant after the gap, when ambiguous the earliest. Saturates to the Timestamp range.
    pub fn local_instant(&self, d: NaiveDate, time: NaiveTime) -> Timestamp {
        Timestamp::saturating_from_millis(self.instant_millis(d.and_time(time)))
    }

    /// First instant of local date `d`.
    pub fn start_of_day(&self, d: NaiveDate) -> Timestamp {
        self.local_instant(d, NaiveTime::MIN)
    }

    /// First instant after local date `d` (== `start_of_day(d.succ())`).
    pub fn end_of_day(&self, d: NaiveDate) -> Timestamp {
        match d.succ_opt() {
            Some(next) => self.start_of_day(next),
            None => Timestamp::MAX,
        }
    }

    /// Adds `millis` of working time to `t`. Outside working hours counting starts at the next
    /// window start; a result that lands exactly on a window end stays there (ends are
    /// inclusive). `millis <= 0` returns `t`; results past the Timestamp range saturate.
    pub fn add_working_time(&self, t: Timestamp, millis: i64) -> Timestamp {
        if millis <= 0 {
            return t;
        }
        // Working time never runs faster than elapsed time, so this bounds the result below.
        if t.millis().saturating_add(millis) > Timestamp::MAX_MILLIS {
            return Timestamp::MAX;
        }
        let mut remaining = millis;
        let mut day = self.local_date(t);
        while day < HORIZON {
            if self.is_business_day(day) {
                let (start, end) = self.window(day);
                let from = start.max(t.millis());
                let available = end - from;
                if available > 0 {
                    if remaining <= available {
                        return Timestamp::saturating_from_millis(from + remaining);
                    }
                    remaining -= available;
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        Timestamp::MAX
    }

    /// Working time in millis inside `[a, b]` (0 if `b <= a`).
    pub fn working_millis_between(&self, a: Timestamp, b: Timestamp) -> i64 {
        if b <= a {
            return 0;
        }
        let last = self.local_date(b);
        let mut total: i64 = 0;
        let mut day = self.local_date(a);
        while day <= last {
            if self.is_business_day(day) {
                let (start, end) = self.window(day);
                let overlap = end.min(b.millis()) - start.max(a.millis());
                if overlap > 0 {
                    total = total.saturating_add(overlap);
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        total
    }

    /// Is `t` inside the working window of a business day (both ends inclusive)?
    pub fn is_working_instant(&self, t: Timestamp) -> bool {
        let ms = t.millis();
        let day = self.local_date(t);
        if self.is_business_day(day) {
            let (start, end) = self.window(day);
            if (start..=end).contains(&ms) {
                return true;
            }
        }
        // A window ends no later than the next day starts; it reaches into that day only when
        // its end falls in a DST gap spanning midnight, and then exactly at the gap's end.
        match day.pred_opt() {
            Some(prev) if self.is_business_day(prev) => {
                self.instant_millis(prev.and_time(self.work_end)) == ms
            }
            _ => false,
        }
    }

    /// Wall-clock time that simulated time from `from` to `to` takes when every working day is
    /// compressed into `seconds_per_working_day` of wall-clock time and time outside working
    /// windows takes none (demos, paced publishing). A working day counts as its nominal length
    /// `work_end - work_start`. Zero when `to <= from` or the rate is not positive and finite.
    pub fn compressed_wall_time(
        &self,
        from: Timestamp,
        to: Timestamp,
        seconds_per_working_day: f64,
    ) -> std::time::Duration {
        if !(seconds_per_working_day.is_finite() && seconds_per_working_day > 0.0) {
            return std::time::Duration::ZERO;
        }
        let day_ms = (self.work_end - self.work_start).num_milliseconds().max(1) as f64;
        let working_ms = self.working_millis_between(from, to) as f64;
        std::time::Duration::try_from_secs_f64(working_ms / day_ms * seconds_per_working_day)
            .unwrap_or(std::time::Duration::MAX)
    }

    /// Working window of date `d` as UTC millis `(start, end)`, `start <= end`.
    fn window(&self, d: NaiveDate) -> (i64, i64) {
        (
            self.instant_millis(d.and_time(self.work_start)),
            self.instant_millis(d.and_time(self.work_end)),
        )
    }

    /// UTC millis of local wall-clock `local` (gap: end of the gap; ambiguous: earliest).
    fn instant_millis(&self, local: NaiveDateTime) -> i64 {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(dt) => dt.timestamp_millis(),
            LocalResult::Ambiguous(a, b) => a.timestamp_millis().min(b.timestamp_millis()),
            LocalResult::None => self.gap_end_millis(local),
        }
    }

    /// First instant whose wall clock reads later than `local`, which lies in a DST gap.
    fn gap_end_millis(&self, local: NaiveDateTime) -> i64 {
        let as_utc = local.and_utc().timestamp_millis();
        // Invariant: wall clock at `lo` <= `local` < wall clock at `hi`. The wall clock at
        // `lo` reads at most local - 12h and at `hi` at least local + 14h.
        let mut lo = as_utc.saturating_sub(OFFSET_BOUND_MS);
        let mut hi = as_utc.saturating_add(OFFSET_BOUND_MS);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match self.wall_clock_at(mid) {
                Some(wall) if wall <= local => lo = mid,
                // Out of chrono's range only at the far ends of the date range: treat as later.
                _ => hi = mid,
            }
        }
        // Every step keeps the invariant, so `hi` is where the wall clock jumps over `local`.
        hi
    }

    fn wall_clock_at(&self, millis: i64) -> Option<NaiveDateTime> {
        DateTime::from_timestamp_millis(millis).map(|utc| utc.with_timezone(&self.tz).naive_local())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    const MON_FRI: [bool; 7] = [true, true, true, true, true, false, false];
    const ALL_WEEK: [bool; 7] = [true; 7];

    fn calendar(tz: Tz, days: [bool; 7], holidays: &[NaiveDate]) -> BusinessCalendar {
        let holidays = holidays.iter().copied().collect();
        BusinessCalendar::new(tz, days, hm(9, 0), hm(18, 0), holidays).unwrap()
    }

    fn moscow() -> BusinessCalendar {
        calendar(chrono_tz::Europe::Moscow, MON_FRI, &[])
    }

    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;

    #[test]
    fn refuses_empty_configurations() {
        let tz = chrono_tz::Europe::Moscow;
        let err = BusinessCalendar::new(tz, [false; 7], hm(9, 0), hm(18, 0), BTreeSet::new());
        assert_eq!(err.unwrap_err(), CalendarError::NoWorkingDays);
        let err = BusinessCalendar::new(tz, MON_FRI, hm(18, 0), hm(18, 0), BTreeSet::new());
        assert!(matches!(err, Err(CalendarError::EmptyWorkingHours { .. })));
    }

    #[test]
    fn spec_fixture_friday_evening_sla_lands_on_monday() {
        let cal = moscow();
        let created = ts("2026-03-06T17:55:00+03:00");
        let due = cal.add_working_time(created, 15 * MINUTE);
        assert_eq!(due, ts("2026-03-09T09:10:00+03:00"));
        assert_eq!(cal.working_millis_between(created, due), 15 * MINUTE);
        // Exactly the rest of Friday ends on Friday's inclusive window end.
        assert_eq!(
            cal.add_working_time(created, 5 * MINUTE),
            ts("2026-03-06T18:00:00+03:00")
        );
        assert_eq!(cal.add_working_time(created, 0), created);
    }

    #[test]
    fn night_creation_counts_from_working_hours_start() {
        let cal = moscow();
        let due = cal.add_working_time(ts("2026-03-03T02:00:00+03:00"), 15 * MINUTE);
        assert_eq!(due, ts("2026-03-03T09:15:00+03:00"));
        assert!(cal.is_working_instant(due));
        assert!(!cal.is_working_instant(ts("2026-03-03T02:00:00+03:00")));
        assert!(cal.is_working_instant(ts("2026-03-03T09:00:00+03:00")));
        assert!(cal.is_working_instant(ts("2026-03-03T18:00:00+03:00")));
        assert!(!cal.is_working_instant(ts("2026-03-03T18:00:00.001+03:00")));
    }

    #[test]
    fn compressed_wall_time_counts_working_hours_only() {
        use std::time::Duration;
        let cal = moscow();
        // Fri 17:00 .. Mon 10:00: one hour on Friday, one on Monday, of a 9-hour day.
        let fri = ts("2026-03-06T17:00:00+03:00");
        let mon = ts("2026-03-09T10:00:00+03:00");
        assert_eq!(
            cal.compressed_wall_time(fri, mon, 90.0),
            Duration::from_secs(20)
        );
        // A whole working day takes exactly the configured time; a weekend none.
        let tue = date(2026, 3, 3);
        let (start, end) = (cal.start_of_day(tue), cal.end_of_day(tue));
        assert_eq!(
            cal.compressed_wall_time(start, end, 60.0),
            Duration::from_secs(60)
        );
        let (sat, sun) = (date(2026, 3, 7), date(2026, 3, 8));
        let (start, end) = (cal.start_of_day(sat), cal.end_of_day(sun));
        assert_eq!(cal.compressed_wall_time(start, end, 60.0), Duration::ZERO);
        // Backwards, or no sensible rate: no time.
        assert_eq!(cal.compressed_wall_time(mon, fri, 60.0), Duration::ZERO);
        assert_eq!(cal.compressed_wall_time(fri, mon, 0.0), Duration::ZERO);
        assert_eq!(cal.compressed_wall_time(fri, mon, f64::NAN), Duration::ZERO);
    }

    #[test]
    fn holidays_are_skipped() {
        let cal = calendar(chrono_tz::Europe::Moscow, MON_FRI, &[date(2026, 3, 9)]);
        let created = ts("2026-03-06T17:55:00+03:00");
        let due = cal.add_working_time(created, 15 * MINUTE);
        assert_eq!(due, ts("2026-03-10T09:10:00+03:00"));
        assert_eq!(cal.next_business_day(date(2026, 3, 6)), date(2026, 3, 10));
        // Fri 18:00 .. Tue 09:10 has only the 10 Tuesday minutes.
        let tue = ts("2026-03-10T09:10:00+03:00");
        assert_eq!(
            cal.working_millis_between(ts("2026-03-06T18:00:00+03:00"), tue),
            10 * MINUTE
        );
    }

    #[test]
    fn nth_business_day_skips_weekends_and_holidays() {
        let cal = calendar(chrono_tz::Europe::Moscow, MON_FRI, &[date(2026, 3, 9)]);
        let fri = date(2026, 3, 6);
        assert_eq!(cal.nth_business_day_after(fri, 0), fri);
        assert_eq!(cal.nth_business_day_after(fri, 1), date(2026, 3, 10));
        assert_eq!(cal.nth_business_day_after(fri, 4), date(2026, 3, 13));
        assert_eq!(cal.nth_business_day_after(fri, 5), date(2026, 3, 16));
        let sat = date(2026, 3, 7);
        assert!(!cal.is_business_day(sat));
        assert_eq!(cal.business_day_on_or_after(sat), date(2026, 3, 10));
        assert_eq!(cal.business_day_on_or_after(fri), fri);
    }

    #[test]
    fn end_of_day_is_next_local_midnight() {
        let cal = moscow();
        let d = date(2026, 3, 6);
        assert_eq!(cal.start_of_day(d), ts("2026-03-06T00:00:00+03:00"));
        assert_eq!(cal.end_of_day(d), ts("2026-03-07T00:00:00+03:00"));
        assert_eq!(cal.local_date(cal.end_of_day(d)), date(2026, 3, 7));
        assert_eq!(cal.local_date(cal.end_of_day(d).minus_millis(1)), d);
        assert_eq!(cal.local_time(ts("2026-03-06T04:30:00Z")), hm(7, 30));
    }

    #[test]
    fn berlin_dst_days_keep_wall_clock_hours() {
        let cal = calendar(chrono_tz::Europe::Berlin, ALL_WEEK, &[]);
        let spring = date(2026, 3, 29);
        let autumn = date(2026, 10, 25);
        let length = |d| cal.end_of_day(d).millis() - cal.start_of_day(d).millis();
        assert_eq!(length(spring), 23 * HOUR);
        assert_eq!(length(autumn), 25 * HOUR);
        assert_eq!(length(date(2026, 3, 28)), 24 * HOUR);
        // 09:00-18:00 wall clock: CET (+01:00) before, CEST (+02:00) after the spring switch.
        assert_eq!(
            cal.local_instant(spring, hm(9, 0)),
            ts("2026-03-29T09:00:00+02:00")
        );
        let sat_evening = ts("2026-03-28T17:00:00+01:00");
        let due = cal.add_working_time(sat_evening, 2 * HOUR);
        assert_eq!(due, ts("2026-03-29T10:00:00+02:00"));
        assert_eq!(cal.working_millis_between(sat_evening, due), 2 * HOUR);
        let day_span = (cal.start_of_day(spring), cal.end_of_day(spring));
        assert_eq!(cal.working_millis_between(day_span.0, day_span.1), 9 * HOUR);
        let day_span = (cal.start_of_day(autumn), cal.end_of_day(autumn));
        assert_eq!(cal.working_millis_between(day_span.0, day_span.1), 9 * HOUR);
        assert_eq!(
            cal.add_working_time(ts("2026-10-24T17:00:00+02:00"), 2 * HOUR),
            ts("2026-10-25T10:00:00+01:00")
        );
    }

    #[test]
    fn gaps_and_ambiguous_times_resolve_predictably() {
        let tz = chrono_tz::Europe::Berlin;
        let night = BusinessCalendar::new(tz, ALL_WEEK, hm(1, 0), hm(4, 0), BTreeSet::new());
        let cal = night.unwrap();
        // 02:30 does not exist on 2026-03-29: first instant after the gap is 03:00 CEST.
        assert_eq!(
            cal.local_instant(date(2026, 3, 29), hm(2, 30)),
            ts("2026-03-29T01:00:00Z")
        );
        // 02:30 happens twice on 2026-10-25: the earliest is 02:30 CEST.
        assert_eq!(
            cal.local_instant(date(2026, 10, 25), hm(2, 30)),
            ts("2026-10-25T00:30:00Z")
        );
        // A window spanning the switch is shorter / longer in elapsed working time.
        let whole =
            |d: NaiveDate| cal.working_millis_between(cal.start_of_day(d), cal.end_of_day(d));
        assert_eq!(whole(date(2026, 3, 29)), 2 * HOUR);
        assert_eq!(whole(date(2026, 10, 25)), 4 * HOUR);
        assert_eq!(whole(date(2026, 10, 26)), 3 * HOUR);
        // Windows are instants, not wall-clock readings: with hours 00:30-01:30 on a fall-back
        // night the window ends at the first 01:30, so the repeated 01:15 is not working time.
        let hours = (hm(0, 30), hm(1, 30));
        let ny_tz = chrono_tz::America::New_York;
        let ny = BusinessCalendar::new(ny_tz, ALL_WEEK, hours.0, hours.1, BTreeSet::new()).unwrap();
        assert!(ny.is_working_instant(ts("2026-11-01T01:15:00-04:00")));
        assert!(!ny.is_working_instant(ts("2026-11-01T01:15:00-05:00")));
        let fall_back = date(2026, 11, 1);
        let span = (ny.start_of_day(fall_back), ny.end_of_day(fall_back));
        assert_eq!(ny.working_millis_between(span.0, span.1), HOUR);
        // New York springs forward at 02:00 (EST -> EDT).
        let ny = calendar(chrono_tz::America::New_York, ALL_WEEK, &[]);
        assert_eq!(
            ny.local_instant(date(2026, 3, 8), hm(2, 15)),
            ts("2026-03-08T03:00:00-04:00")
        );
        assert_eq!(
            ny.start_of_day(date(2026, 11, 1)),
            ts("2026-11-01T00:00:00-04:00")
        );
        assert_eq!(
            ny.end_of_day(date(2026, 11, 1)),
            ts("2026-11-02T00:00:00-05:00")
        );
    }

    #[test]
    fn saturates_instead_of_looping() {
        let cal = moscow();
        let late = Timestamp::MAX.minus_millis(HOUR);
        assert_eq!(cal.add_working_time(late, 2 * HOUR), Timestamp::MAX);
        assert_eq!(
            cal.add_working_time(Timestamp::MIN, i64::MAX),
            Timestamp::MAX
        );
        assert_eq!(cal.next_business_day(date(2106, 6, 1)), NaiveDate::MAX);
        assert_eq!(
            cal.nth_business_day_after(date(2026, 1, 1), u32::MAX),
            NaiveDate::MAX
        );
        assert_eq!(cal.end_of_day(NaiveDate::MAX), Timestamp::MAX);
        // Holidays covering every working day up to the horizon: no business day remains.
        let mondays: Vec<NaiveDate> = date(2026, 1, 5)
            .iter_weeks()
            .take_while(|d| *d < date(2107, 1, 1))
            .collect();
        let only_mondays = [true, false, false, false, false, false, false];
        let none_left = calendar(chrono_tz::Europe::Moscow, only_mondays, &mondays);
        assert_eq!(
            none_left.next_business_day(date(2026, 1, 1)),
            NaiveDate::MAX
        );
        let t = ts("2026-01-01T12:00:00+03:00");
        assert_eq!(none_left.add_working_time(t, MINUTE), Timestamp::MAX);
        assert_eq!(none_left.working_millis_between(t, Timestamp::MAX), 0);
    }
}
