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
}

const DAY_MEMO: usize = 64;

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
        }
    }

    pub fn ts(at: Secs) -> Timestamp {
        Timestamp::from_compact_seconds(at)
    }

    pub fn local_date(&self, at: Secs) -> NaiveDate {
        self.calendar.local_date(Self::ts(at))
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
        let day = self.calendar.local_date(ts);
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
