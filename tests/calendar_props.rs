//! Property tests of the business calendar's working-time arithmetic across time zones and DST.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use dozvon::calendar::BusinessCalendar;
use dozvon::model::Timestamp;
use proptest::prelude::*;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Zones with and without DST, half-hour offsets and DST switches at midnight.
const ZONES: [Tz; 9] = [
    chrono_tz::Europe::Moscow,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Sydney,
    chrono_tz::Asia::Kolkata,
    chrono_tz::America::Sao_Paulo,
    chrono_tz::Asia::Tehran,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Europe::London,
];

/// A random calendar, an anchor date (half the time a day with a clock change) and an instant
/// within a few days of it.
#[derive(Debug, Clone)]
struct Case {
    cal: BusinessCalendar,
    anchor: NaiveDate,
    t: Timestamp,
}

fn epoch_date(days: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + Days::new(days)
}

fn minute_time(minute: u32) -> NaiveTime {
    NaiveTime::from_num_seconds_from_midnight_opt(minute * 60, 0).unwrap()
}

/// Working hours of at least 15 minutes (so short working times stay short in days), often
/// starting or ending in the small hours, where DST switches happen.
fn working_hours() -> impl Strategy<Value = (NaiveTime, NaiveTime)> {
    let start = prop_oneof![0u32..1424, 0u32..240, 1320u32..1424];
    (start, any::<bool>())
        .prop_flat_map(|(start, short)| {
            let end = if short { (start + 255).min(1440) } else { 1440 };
            (Just(start), start + 15..end)
        })
        .prop_map(|(start, end)| (minute_time(start), minute_time(end)))
}

fn cases() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(&ZONES[..]),
        1u8..128,
        working_hours(),
        // Anchor dates 1971..2098, so results stay inside the Timestamp range.
        365u64..46_750,
        prop::collection::vec(0u64..60, 0..20),
        any::<bool>(),
        0..5 * DAY,
    )
        .prop_map(
            |(tz, day_bits, (start, end), anchor, holiday_offsets, dst, offset)| {
                let days = std::array::from_fn(|i| day_bits & (1 << i) != 0);
                let mut anchor = epoch_date(anchor);
                let change = next_clock_change(tz, anchor).filter(|_| dst);
                if let Some(change) = change {
                    anchor = change;
                }
                let holidays: BTreeSet<NaiveDate> = holiday_offsets
                    .iter()
                    .map(|&off| anchor - Days::new(3) + Days::new(off))
                    .collect();
                let cal = BusinessCalendar::new(tz, days, start, end, holidays).unwrap();
                let day_start = cal.start_of_day(anchor).millis();
                // Near a clock change, start within the day before it, so spans cross it.
                let t = match change {
                    Some(_) => day_start - offset % DAY,
                    None => day_start + offset,
                };
                let t = Timestamp::from_millis(t).unwrap();
                Case { cal, anchor, t }
            },
        )
}

/// First date on or after `from` (within a year) whose length is not 24 hours.
fn next_clock_change(tz: Tz, from: NaiveDate) -> Option<NaiveDate> {
    from.iter_days().take(370).find(|d| {
        let midnight = |day: NaiveDate| {
            day.and_time(NaiveTime::MIN)
                .and_local_timezone(tz)
                .earliest()
        };
        match (midnight(*d), d.succ_opt().and_then(midnight)) {
            (Some(start), Some(next)) => (next - start).num_minutes() != 24 * 60,
            // Midnight falls into a gap: the clock changes at midnight.
            _ => true,
        }
    })
}

fn working_millis() -> impl Strategy<Value = i64> {
    prop_oneof![0..2 * HOUR, 0..12 * HOUR]
}

proptest! {
    #[test]
    fn add_is_monotonic_in_start(case in cases(), delta in 0..3 * DAY, m in working_millis()) {
        let later = case.t.plus_millis(delta);
        let early = case.cal.add_working_time(case.t, m);
        prop_assert!(early <= case.cal.add_working_time(later, m));
        prop_assert!(early >= case.t);
    }

    #[test]
    fn add_is_monotonic_in_millis(case in cases(), m in working_millis(), extra in 0..4 * HOUR) {
        let cal = &case.cal;
        prop_assert!(cal.add_working_time(case.t, m) <= cal.add_working_time(case.t, m + extra));
    }

    #[test]
    fn add_lands_on_working_instant_after_exactly_m(case in cases(), m in 1..12 * HOUR) {
        let cal = &case.cal;
        let due = cal.add_working_time(case.t, m);
        prop_assert!(due > case.t);
        prop_assert!(due < Timestamp::MAX);
        prop_assert!(cal.is_working_instant(due), "{due} is not a working instant");
        prop_assert!(cal.is_business_day(cal.local_date(due)));
        prop_assert_eq!(cal.working_millis_between(case.t, due), m);
        // One millisecond less of elapsed time is not enough.
        prop_assert_eq!(cal.working_millis_between(case.t, due.minus_millis(1)), m - 1);
    }

    #[test]
    fn add_zero_is_identity(case in cases()) {
        prop_assert_eq!(case.cal.add_working_time(case.t, 0), case.t);
    }

    #[test]
    fn add_is_additive(case in cases(), a in 1..6 * HOUR, b in 1..6 * HOUR) {
        let cal = &case.cal;
        let stepwise = cal.add_working_time(cal.add_working_time(case.t, a), b);
        prop_assert_eq!(stepwise, cal.add_working_time(case.t, a + b));
    }

    #[test]
    fn between_counts_working_minutes(case in cases(), span in 0u32..(3 * 24 * 60)) {
        // Zone offsets and working hours are whole minutes, so every minute is either
        // entirely working or not; test each minute by its midpoint.
        let cal = &case.cal;
        let a = Timestamp::from_millis(case.t.millis() / MINUTE * MINUTE).unwrap();
        let working = (0..i64::from(span))
            .filter(|i| cal.is_working_instant(a.plus_millis(i * MINUTE + MINUTE / 2)))
            .count() as i64;
        let b = a.plus_millis(i64::from(span) * MINUTE);
        prop_assert_eq!(cal.working_millis_between(a, b), working * MINUTE);
        prop_assert_eq!(cal.working_millis_between(b, a), 0);
    }

    #[test]
    fn days_start_and_end_in_order(case in cases()) {
        let cal = &case.cal;
        let d = case.anchor;
        let (start, end) = (cal.start_of_day(d), cal.end_of_day(d));
        prop_assert_eq!(cal.local_date(start), d);
        prop_assert!(end > start);
        prop_assert_eq!(cal.local_date(end.minus_millis(1)), d);
        prop_assert_eq!(cal.local_date(end), d.succ_opt().unwrap());
        prop_assert!((22 * HOUR..=26 * HOUR).contains(&(end.millis() - start.millis())));
        prop_assert_eq!(end, cal.start_of_day(d.succ_opt().unwrap()));
    }

    #[test]
    fn nth_business_days_increase(case in cases()) {
        let cal = &case.cal;
        let d = case.anchor;
        prop_assert_eq!(cal.nth_business_day_after(d, 0), d);
        let mut previous = d;
        for n in 1..12 {
            let day = cal.nth_business_day_after(d, n);
            prop_assert!(cal.is_business_day(day));
            prop_assert!(day > previous);
            // Nothing between consecutive results is a business day.
            prop_assert_eq!(cal.next_business_day(previous), day);
            let mut gap = previous.succ_opt().unwrap();
            while gap < day {
                prop_assert!(!cal.is_business_day(gap));
                gap = gap.succ_opt().unwrap();
            }
            previous = day;
        }
    }

    #[test]
    fn nth_business_days_before_mirror_those_after(case in cases()) {
        let cal = &case.cal;
        let d = cal.business_day_on_or_after(case.anchor);
        prop_assert_eq!(cal.nth_business_day_before(d, 0), d);
        for n in 1..12 {
            let back = cal.nth_business_day_before(d, n);
            prop_assert!(cal.is_business_day(back));
            prop_assert!(back < d);
            prop_assert_eq!(cal.nth_business_day_after(back, n), d);
        }
        let on_or_before = cal.business_day_on_or_before(case.anchor);
        prop_assert!(cal.is_business_day(on_or_before) && on_or_before <= case.anchor);
        // Nothing after it up to the anchor is a business day.
        let mut gap = on_or_before.succ_opt().unwrap();
        while gap <= case.anchor {
            prop_assert!(!cal.is_business_day(gap));
            gap = gap.succ_opt().unwrap();
        }
    }
}
