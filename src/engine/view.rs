//! Read-only views of engine state for the query API: one lead, today's due list, scorecards.
//
// "Today" is the tenant-local date of the engine's clock (the latest event time its inputs
// reached), never the wall clock, so a replay and the live service answer alike. A lead is
// *due today* when it is in a cadence stage and today is business day 1..period_days of its
// dialing episode; it has *no attempt today* when, were the day to close now, §4.1 would emit
// `no_attempts_today` (no attempt, and no touch where a touch satisfies the day).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::context::{ManagerScore, TenantContext};
use super::interner::Symbol;
use super::lead::{LeadState, Secs, SlaState, TimerKind};
use super::tenant::TenantEngine;
use crate::config::StageKind;
use crate::model::{Rule, Timestamp};

/// The state of one lead.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LeadView {
    pub tenant: String,
    pub lead_id: String,
    pub stage: Option<String>,
    /// `cadence`, `rejected`, `converted` or `other`; absent before the first lead event.
    pub stage_kind: Option<&'static str>,
    pub manager_id: Option<String>,
    pub channel: Option<String>,
    pub episode: Option<EpisodeView>,
    /// `pending`, `breached`, `met` or `not_applicable` (SPEC §4.5).
    pub first_call_sla: &'static str,
    pub next_deadlines: Deadlines,
    pub last_event_at: Timestamp,
    /// Lead events received but waiting for the watermark.
    pub pending_events: u16,
}

/// The current dialing episode.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpisodeView {
    pub started_at: Timestamp,
    /// The episode began with the lead's creation (else a return to a cadence stage).
    pub creation: bool,
    pub attempts_total: u32,
    pub touches_total: u32,
    pub required_total: u32,
    pub days: Vec<DayView>,
}

/// One business day of the dialing period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DayView {
    pub day_of_period: u32,
    pub date: NaiveDate,
    pub attempts: u32,
    pub touches: u32,
    pub required: u32,
    /// `upcoming`, `open` (today, or closed but within the allowed lateness), `compliant`
    /// or `violation`.
    pub status: &'static str,
}

/// Timers not yet passed by the watermark.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Deadlines {
    pub day_close: Option<Timestamp>,
    pub first_call: Option<Timestamp>,
    pub stale_check: Option<Timestamp>,
}

/// A lead due today (the regulation's daily list).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DueLead {
    pub lead_id: String,
    pub manager_id: Option<String>,
    pub stage: Option<String>,
    pub day_of_period: u32,
    pub attempts_today: u32,
    pub touches_today: u32,
    pub required: u32,
    pub episode_started_at: Timestamp,
}

impl DueLead {
    /// §4.1 would flag the day as `no_attempts_today` if it closed now.
    pub fn no_attempt(&self, touch_satisfies_day: bool) -> bool {
        self.attempts_today == 0 && !(touch_satisfies_day && self.touches_today > 0)
    }
}

/// Today's due leads of a tenant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DueList {
    pub date: NaiveDate,
    pub business_day: bool,
    pub touch_satisfies_day: bool,
    pub leads: Vec<DueLead>,
}

/// A manager's scorecard; every count is additive across engines (partitions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Scorecard {
    pub attempts_today: u32,
    pub leads_due_today: u32,
    pub leads_no_attempt_today: u32,
    pub days_judged: u32,
    pub days_compliant: u32,
    /// Violations by rule (retractions under `retraction`); rules never hit are omitted.
    pub violations: BTreeMap<&'static str, u32>,
    pub touches: u32,
    pub overturned_rejections: u32,
}

impl Scorecard {
    pub fn add(&mut self, other: &Scorecard) {
        self.attempts_today += other.attempts_today;
        self.leads_due_today += other.leads_due_today;
        self.leads_no_attempt_today += other.leads_no_attempt_today;
        self.days_judged += other.days_judged;
        self.days_compliant += other.days_compliant;
        for (rule, n) in &other.violations {
            *self.violations.entry(rule).or_default() += n;
        }
        self.touches += other.touches;
        self.overturned_rejections += other.overturned_rejections;
    }

    fn add_score(&mut self, score: &ManagerScore) {
        self.days_judged += score.days_judged;
        self.days_compliant += score.days_compliant;
        for (rule, &n) in Rule::ALL.iter().zip(&score.violations) {
            if n > 0 {
                *self.violations.entry(rule.as_str()).or_default() += n;
            }
        }
        self.touches += score.touches;
    }

    /// Share of judged days that were compliant, in percent (`None` before any day closed).
    pub fn compliant_days_percent(&self) -> Option<f64> {
        (self.days_judged > 0)
            .then(|| 100.0 * f64::from(self.days_compliant) / f64::from(self.days_judged))
    }
}

fn kind_name(kind: StageKind) -> &'static str {
    match kind {
        StageKind::Cadence => "cadence",
        StageKind::Rejected => "rejected",
        StageKind::Converted => "converted",
        StageKind::Other => "other",
    }
}

/// Today as the tenant sees it, and the earliest day 1 of an episode for which today is
/// still within the dialing period (business days are consecutive in that range).
struct Today {
    date: NaiveDate,
    business_day: bool,
    start: Secs,
    end: Secs,
    earliest_day1: NaiveDate,
}

impl Today {
    fn new(ctx: &TenantContext, clock: Secs) -> Today {
        let date = ctx.local_date(clock);
        let business_day = ctx.calendar.is_business_day(date);
        let earliest_day1 = if business_day {
            let back = ctx.rules.period_days.saturating_sub(1);
            ctx.calendar.nth_business_day_before(date, back)
        } else {
            date
        };
        Today {
            date,
            business_day,
            start: ctx.start_of_day(date),
            end: ctx.end_of_day(date),
            earliest_day1,
        }
    }

    /// Today's day of the period for a lead, or `None` when it is not due today.
    fn due(&self, ctx: &TenantContext, lead: &LeadState) -> Option<u32> {
        let episode = lead.episode.filter(|_| lead.in_cadence())?;
        if !self.business_day || episode.day1 < self.earliest_day1 || episode.day1 > self.date {
            return None;
        }
        let mut day = episode.day1;
        let mut k = 1;
        while day < self.date {
            day = ctx.calendar.next_business_day(day);
            k += 1;
        }
        Some(k)
    }

    fn counts(&self, lead: &LeadState, from: Secs) -> (u32, u32) {
        let from = from.max(self.start);
        (
            lead.attempts_between(from, self.end),
            lead.touches_between(from, self.end),
        )
    }
}

impl TenantEngine {
    /// The state of `lead_id`, as of the tenant's `watermark`.
    pub fn lead_view(&self, lead_id: &str, watermark: Secs) -> Option<LeadView> {
        let lead = self.leads.get(self.leads.get_slot(lead_id)?)?;
        let ctx = &self.ctx;
        let pending = |at: Secs| (at != 0 && at >= watermark).then(|| TenantContext::ts(at));
        let episode = lead.episode.map(|e| {
            let mut days = Vec::new();
            let mut date = e.day1;
            for k in 1..=ctx.rules.period_days {
                let from = ctx.start_of_day(date).max(e.start);
                let to = ctx.end_of_day(date);
                let status = if to >= watermark {
                    if from < watermark { "open" } else { "upcoming" }
                } else if k <= 32 && e.flagged_days & (1 << (k - 1)) != 0 {
                    "violation"
                } else {
                    "compliant"
                };
                days.push(DayView {
                    day_of_period: k,
                    date,
                    attempts: lead.attempts_between(from, to),
                    touches: lead.touches_between(from, to),
                    required: ctx.rules.daily_attempts,
                    status,
                });
                date = ctx.calendar.next_business_day(date);
            }
            EpisodeView {
                started_at: TenantContext::ts(e.start),
                creation: e.is_creation,
                attempts_total: lead.attempts_between(e.start, Secs::MAX),
                touches_total: lead.touches_between(e.start, Secs::MAX),
                required_total: ctx.rules.min_total_attempts,
                days,
            }
        });
        let (sla, first_call) = match lead.sla {
            SlaState::NotApplicable => ("not_applicable", None),
            SlaState::Pending { deadline, .. } => ("pending", pending(deadline)),
            SlaState::Breached { .. } => ("breached", None),
            SlaState::Done => ("met", None),
        };
        Some(LeadView {
            tenant: ctx.name.to_string(),
            lead_id: lead.lead_id.to_string(),
            stage: lead.stage.and_then(|s| ctx.name_of(s.stage)),
            stage_kind: lead.stage_kind().map(kind_name),
            manager_id: ctx.name_of(lead.manager),
            channel: ctx.name_of(lead.channel),
            episode,
            first_call_sla: sla,
            next_deadlines: Deadlines {
                day_close: lead
                    .episode
                    .and_then(|_| pending(lead.deadlines[TimerKind::DayClose as usize])),
                first_call,
                stale_check: pending(lead.deadlines[TimerKind::Stale as usize]),
            },
            last_event_at: TenantContext::ts(lead.last_seen),
            pending_events: lead.pending_events,
        })
    }

    /// Leads due today (of `manager` only, if given), ordered by lead id.
    pub fn due_today(&self, clock: Secs, manager: Option<&str>) -> DueList {
        let ctx = &self.ctx;
        let today = Today::new(ctx, clock);
        let manager = manager.map(|m| ctx.interner.lookup(m));
        let mut leads = Vec::new();
        if manager != Some(None) {
            for lead in self.leads.iter() {
                if manager.is_some_and(|m| m != Some(lead.manager)) {
                    continue;
                }
                let Some((k, episode)) = today.due(ctx, lead).zip(lead.episode) else {
                    continue;
                };
                let (attempts, touches) = today.counts(lead, episode.start);
                leads.push(DueLead {
                    lead_id: lead.lead_id.to_string(),
                    manager_id: ctx.name_of(lead.manager),
                    stage: lead.stage.and_then(|s| ctx.name_of(s.stage)),
                    day_of_period: k,
                    attempts_today: attempts,
                    touches_today: touches,
                    required: ctx.rules.daily_attempts,
                    episode_started_at: TenantContext::ts(episode.start),
                });
            }
        }
        leads.sort_by(|a, b| a.lead_id.cmp(&b.lead_id));
        DueList {
            date: today.date,
            business_day: today.business_day,
            touch_satisfies_day: ctx.rules.touch_satisfies_day,
            leads,
        }
    }

    /// Scorecards by manager id (`None`: leads and calls without a manager). One scan of the
    /// leads, accumulated by manager symbol; names are resolved at the end.
    pub fn scorecards(&self, clock: Secs) -> BTreeMap<Option<String>, Scorecard> {
        let ctx = &self.ctx;
        let today = Today::new(ctx, clock);
        let mut by_symbol: HashMap<Symbol, Scorecard> = HashMap::new();
        for (manager, score) in ctx.scores() {
            by_symbol.entry(manager).or_default().add_score(&score);
        }
        for (&manager, &n) in &ctx.outcomes.overturned_by_manager {
            by_symbol.entry(manager).or_default().overturned_rejections += n;
        }
        for lead in self.leads.iter() {
            let (attempts, touches) = today.counts(lead, 0);
            let due = today.due(ctx, lead).zip(lead.episode);
            if attempts == 0 && due.is_none() {
                continue;
            }
            let card = by_symbol.entry(lead.manager).or_default();
            card.attempts_today += attempts;
            if let Some((_, episode)) = due {
                card.leads_due_today += 1;
                // Only the episode's part of today counts (it may have started today).
                let (attempts, touches) = if episode.start > today.start {
                    today.counts(lead, episode.start)
                } else {
                    (attempts, touches)
                };
                if attempts == 0 && !(ctx.rules.touch_satisfies_day && touches > 0) {
                    card.leads_no_attempt_today += 1;
                }
            }
        }
        let mut cards: BTreeMap<Option<String>, Scorecard> = BTreeMap::new();
        for (manager, card) in by_symbol {
            cards.entry(ctx.name_of(manager)).or_default().add(&card);
        }
        cards
    }
}
