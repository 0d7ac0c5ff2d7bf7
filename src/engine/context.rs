//! Per-tenant context: calendar, rules, stage mapping, interned strings, and counters.

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use super::interner::{Interner, Symbol};
use super::lead::Secs;
use crate::calendar::BusinessCalendar;
use crate::config::{RulesConfig, StagesConfig};
use crate::keyhash::Map as KeyMap;
use crate::model::{Rule, Timestamp};

/// Counters of QC outcomes (SPEC §4.7), kept per tenant.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QcOutcomes {
    /// Rejections overturned by a QC return, by the manager who rejected.
    pub overturned_by_manager: HashMap<Symbol, u32>,
    pub overturned: u64,
    pub confirmations: u64,
    pub cold_base_transfers: u64,
}

/// A manager's record as the rules judged it (the scorecard of the query API and metrics).
/// Attributed to the lead's manager at the time; touches to the manager who made the call.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ManagerScore {
    /// Business days of dialing periods closed (judged by §4.1).
    pub days_judged: u32,
    /// ...of which compliant, at the close or later by a retraction (§4.9).
    pub days_compliant: u32,
    /// Violations emitted per [`Rule`] (retractions under `Rule::Retraction`).
    pub violations: [u32; Rule::ALL.len()],
    pub touches: u32,
}

impl ManagerScore {
    pub fn violation(&mut self, rule: Rule) {
        self.violations[rule.index()] += 1;
    }
}

/// Everything a rule needs to know about its tenant.
#[derive(Debug)]
pub struct TenantContext {
    pub name: Box<str>,
    pub calendar: BusinessCalendar,
    pub rules: RulesConfig,
    pub stages: StagesConfig,
    pub lateness: Secs,
    pub terminal_retention: Secs,
    pub idle_retention: Secs,
    pub interner: Interner,
    pub outcomes: QcOutcomes,
    /// Scorecards by manager symbol; rules holding `&TenantContext` update them.
    scores: RefCell<KeyMap<Symbol, ManagerScore>>,
    /// Memo of `start_of_day` (a time-zone conversion), direct-mapped by day number.
    day_starts: [Cell<(i32, Secs)>; DAY_MEMO],
    /// Memo of `local_date`, direct-mapped by UTC hour: (hour, its local date), for hours
    /// wholly in one local date at one UTC offset.
    hour_dates: [Cell<(Secs, NaiveDate)>; HOUR_MEMO],
}

const DAY_MEMO: usize = 64;
/// Hours remembered by `local_date` (16 days' worth).
const HOUR_MEMO: usize = 384;

fn secs_of(duration: std::time::Duration) -> Secs {
    u32::try_from(duration.as_secs()).unwrap_or(u32::MAX)
}

impl TenantContext {
    pub fn new(
        name: &str,
        calendar: BusinessCalendar,
        rules: RulesConfig,
        stages: StagesConfig,
        terminal_retention: std::time::Duration,
        idle_retention: std::time::Duration,
    ) -> Self {
        TenantContext {
            name: name.into(),
            lateness: secs_of(rules.allowed_lateness),
            calendar,
            rules,
            stages,
            terminal_retention: secs_of(terminal_retention),
            idle_retention: secs_of(idle_retention),
            interner: Interner::default(),
            outcomes: QcOutcomes::default(),
            scores: RefCell::default(),
            day_starts: std::array::from_fn(|_| Cell::new((i32::MIN, 0))),
            hour_dates: std::array::from_fn(|_| Cell::new((Secs::MAX, NaiveDate::MIN))),
        }
    }

    pub fn ts(at: Secs) -> Timestamp {
        Timestamp::from_compact_seconds(at)
    }

    /// The local date of `at` (memoised by UTC hour: a time-zone conversion per hour seen).
    pub fn local_date(&self, at: Secs) -> NaiveDate {
        let hour = at / 3600;
        let entry = &self.hour_dates[hour as usize % HOUR_MEMO];
        let (cached_hour, day) = entry.get();
        if cached_hour == hour {
            return day;
        }
        let first = self.calendar.local_date_and_offset(Self::ts(hour * 3600));
        let last = self
            .calendar
            .local_date_and_offset(Self::ts((hour * 3600).saturating_add(3599)));
        // An hour that starts and ends on one date at one offset (no offset change within
        // it) has that date throughout; any other (local midnight inside it) is not memoised.
        if first == last {
            entry.set((hour, first.0));
            first.0
        } else {
            self.calendar.local_date(Self::ts(at))
        }
    }

    /// The local midnight starting `day` (memoised: a pure function of the day).
    pub fn start_of_day(&self, day: NaiveDate) -> Secs {
        let key = day.num_days_from_ce();
        let entry = &self.day_starts[key.rem_euclid(DAY_MEMO as i32) as usize];
        let (cached_key, start) = entry.get();
        if cached_key == key {
            return start;
        }
        let start = self.calendar.start_of_day(day).as_compact_seconds();
        entry.set((key, start));
        start
    }

    /// The local midnight ending `day` (`BusinessCalendar::end_of_day`, through the memo).
    pub fn end_of_day(&self, day: NaiveDate) -> Secs {
        match day.succ_opt() {
            Some(next) => self.start_of_day(next),
            None => Timestamp::MAX.as_compact_seconds(),
        }
    }

    /// Business day 1 of an episode starting at `start` (SPEC §3: the cutoff is inclusive).
    pub fn day_one(&self, start: Secs) -> NaiveDate {
        let ts = Self::ts(start);
        let day = self.local_date(start);
        if self.calendar.is_business_day(day)
            && self.calendar.local_time(ts) <= self.rules.day1_cutoff
        {
            day
        } else {
            self.calendar.next_business_day(day)
        }
    }

    /// First-call deadline for a lead created at `created` (whole seconds, rounded up).
    pub fn first_call_deadline(&self, created: Secs, channel: Option<&str>) -> Secs {
        let sla = self.rules.first_call_sla_for(channel);
        let millis = i64::try_from(sla.as_millis()).unwrap_or(i64::MAX);
        let due = self.calendar.add_working_time(Self::ts(created), millis);
        let secs = due.millis().div_euclid(1000) + i64::from(due.millis().rem_euclid(1000) != 0);
        u32::try_from(secs).unwrap_or(u32::MAX)
    }

    /// Close of the `stale_after_days`-th business day after the day of `activity`.
    pub fn stale_due(&self, activity: Secs) -> Secs {
        let day = self.local_date(activity);
        let due_day = self
            .calendar
            .nth_business_day_after(day, self.rules.stale_after_days);
        self.end_of_day(due_day)
    }

    pub fn is_exempt(&self, reason: Option<&str>) -> bool {
        let Some(reason) = reason.map(str::trim) else {
            return false;
        };
        self.rules
            .exempt_reasons
            .iter()
            .any(|exempt| exempt.trim().to_lowercase() == reason.to_lowercase())
    }

    /// The scorecard of `manager` (leads without a manager score under [`Symbol::NONE`]).
    pub fn score(&self, manager: Symbol) -> RefMut<'_, ManagerScore> {
        RefMut::map(self.scores.borrow_mut(), |scores| {
            scores.entry(manager).or_default()
        })
    }

    /// Replaces every scorecard (restoring state).
    pub fn set_scores(&mut self, scores: Vec<(Symbol, ManagerScore)>) {
        *self.scores.get_mut() = scores.into_iter().collect();
    }

    /// Every scorecard, by manager symbol.
    pub fn scores(&self) -> Vec<(Symbol, ManagerScore)> {
        self.scores
            .borrow()
            .iter()
            .map(|(&manager, &score)| (manager, score))
            .collect()
    }

    pub fn name_of(&self, symbol: Symbol) -> Option<String> {
        self.interner.resolve_owned(symbol)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::NaiveTime;
    use chrono_tz::Tz;

    use super::*;
    use crate::config::{RulesConfig, StagesConfig};

    fn context(tz: Tz) -> TenantContext {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN);
        let six = NaiveTime::from_hms_opt(18, 0, 0).unwrap_or(NaiveTime::MIN);
        let calendar = BusinessCalendar::new(tz, [true; 7], nine, six, BTreeSet::new())
            .expect("a valid calendar");
        let day = std::time::Duration::from_secs(86_400);
        TenantContext::new(
            "t",
            calendar,
            RulesConfig::default(),
            StagesConfig::default(),
            day,
            day,
        )
    }

    /// Every 7 minutes over days with offset changes (DST both ways; Santiago's and Cairo's
    /// changes at local midnight; Lord Howe's half-hour ones; Kolkata's midnight inside a UTC
    /// hour), forwards, backwards and jumping between days: the memo
    /// always answers what the calendar does.
    #[test]
    fn memoised_local_dates_match_the_calendar_across_offset_changes() {
        let zones = [
            chrono_tz::Europe::Moscow,
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
            chrono_tz::America::Santiago,
            chrono_tz::Africa::Cairo,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Asia::Kolkata,
        ];
        // 2026-03-25 .. 2026-04-10 and 2026-10-20 .. 2026-11-05 (UTC), as compact seconds.
        let spans = [
            (
                Timestamp::parse_rfc3339("2026-03-25T00:00:00Z"),
                Timestamp::parse_rfc3339("2026-04-10T00:00:00Z"),
            ),
            (
                Timestamp::parse_rfc3339("2026-08-30T00:00:00Z"),
                Timestamp::parse_rfc3339("2026-09-15T00:00:00Z"),
            ),
            (
                Timestamp::parse_rfc3339("2026-10-20T00:00:00Z"),
                Timestamp::parse_rfc3339("2026-11-05T00:00:00Z"),
            ),
        ];
        for tz in zones {
            let ctx = context(tz);
            for (from, to) in &spans {
                let (Ok(from), Ok(to)) = (from, to) else {
                    panic!("test times parse");
                };
                let (from, to) = (from.as_compact_seconds(), to.as_compact_seconds());
                let times: Vec<Secs> = (from..to).step_by(420).collect();
                let jumping = times
                    .iter()
                    .enumerate()
                    .map(|(i, _)| times[(i * 7919) % times.len()]);
                for at in times
                    .iter()
                    .copied()
                    .chain(times.iter().rev().copied())
                    .chain(jumping)
                {
                    let want = ctx.calendar.local_date(TenantContext::ts(at));
                    assert_eq!(ctx.local_date(at), want, "{tz} at {at}");
                }
            }
        }
    }
}
