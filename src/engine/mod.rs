//! The pure rules engine: no clock, no I/O — events and watermarks in, findings out.
//!
//! Time model (SPEC §4.9, §6): the driver reports the *clock* (the latest event time its inputs
//! have reached); each tenant's watermark is `clock − allowed_lateness`. Calls are applied on
//! arrival (touches are reported at once); lead events wait until the watermark passes them and
//! are applied in event-time order together with the timers (day closes, first-call deadlines,
//! stale checks, evictions). Whatever arrives within the allowed lateness is therefore applied
//! before any rule that depends on it fires, so the findings do not depend on arrival order.
//! A call older than the watermark is *late*: it still updates the counters and may retract a
//! daily or first-call finding it would have prevented.

mod changes;
mod contacts;
mod context;
mod emit;
mod ids;
mod interner;
mod lead;
mod pending;
mod rules;
mod snapshot;
mod table;
mod tenant;
mod timers;
mod view;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub use changes::{ChangeView, Changed};
pub use contacts::{ContactUpdate, LeadContact};
pub use context::{ManagerScore, QcOutcomes};
pub use ids::{duplicate_lead_review_id, finding_id};
pub use lead::{Episode, Secs, Seen, SlaState};
pub use snapshot::{LeadRecord, PendingRecord, StateChange, TenantRecord};
pub use view::{DayView, Deadlines, DueLead, DueList, EpisodeView, LeadView, Scorecard};

use crate::calendar::{BusinessCalendar, CalendarError};
use crate::config::Config;
use crate::model::{CallRecord, Finding, LeadEvent, Timestamp};
use context::TenantContext;
use tenant::TenantEngine;

/// What became of an input record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Applied {
    /// Applied in time.
    Ok,
    /// Applied, but after the watermark had passed its time.
    Late,
    /// A repeated `call_id` / `event_id`: ignored.
    Duplicate,
    /// A call without `lead_id` (the caller resolves phones, SPEC §4.8: `crate::contacts`; a
    /// call that reaches the engine without one could not be resolved): counted.
    Unresolved,
}

/// Counters of what the engine did with its input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub calls_applied: u64,
    pub calls_late: u64,
    pub lead_events_applied: u64,
    pub lead_events_late: u64,
    pub duplicates: u64,
    pub unresolved_calls: u64,
    pub evicted_leads: u64,
}

/// One tenant's state figures (metrics gauges).
#[derive(Clone, Debug, PartialEq)]
pub struct TenantFigures {
    pub tenant: String,
    pub leads_tracked: usize,
    pub no_attempt_today: usize,
    pub scorecards: BTreeMap<Option<String>, Scorecard>,
    pub outcomes: QcOutcomes,
}

/// The engine could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("calendar of tenant {tenant}: {source}")]
    Calendar {
        tenant: String,
        source: CalendarError,
    },
}

/// The rules engine over all tenants of one input partition (or of a replayed file).
#[derive(Debug)]
pub struct Engine {
    config: Arc<Config>,
    tenants: Vec<TenantEngine>,
    tenant_index: HashMap<Box<str>, usize>,
    clock: Secs,
    /// An advance stopped at its findings limit with more due before the watermark
    /// ([`Engine::advance_clock_within`]).
    behind: bool,
    stats: EngineStats,
    /// Changes are recorded for the changelog.
    tracking: bool,
    /// Contact updates are recorded for a contact directory.
    tracking_contacts: bool,
}

impl Engine {
    /// Builds an engine; every configured tenant's calendar is validated up front.
    pub fn new(config: Arc<Config>) -> Result<Self, EngineError> {
        let mut engine = Engine {
            config,
            tenants: Vec::new(),
            tenant_index: HashMap::new(),
            clock: 0,
            behind: false,
            stats: EngineStats::default(),
            tracking: false,
            tracking_contacts: false,
        };
        let names: Vec<String> = std::iter::once(crate::model::DEFAULT_TENANT.to_owned())
            .chain(engine.config.tenants.keys().cloned())
            .collect();
        for name in names {
            engine.tenant_slot(&name)?;
        }
        Ok(engine)
    }

    fn tenant_slot(&mut self, name: &str) -> Result<usize, EngineError> {
        // Most inputs name one of a few tenants: comparing names beats hashing them.
        if let Some(slot) = self
            .tenants
            .iter()
            .take(8)
            .position(|t| *t.ctx.name == *name)
        {
            return Ok(slot);
        }
        if let Some(&slot) = self.tenant_index.get(name) {
            return Ok(slot);
        }
        let tenant_config = self.config.tenant(name);
        let calendar_config = &tenant_config.calendar;
        let calendar = BusinessCalendar::new(
            calendar_config.timezone,
            calendar_config.working_days,
            calendar_config.work_start,
            calendar_config.work_end,
            calendar_config.holidays.clone(),
        )
        .map_err(|source| EngineError::Calendar {
            tenant: name.to_owned(),
            source,
        })?;
        let ctx = TenantContext::new(
            name,
            calendar,
            tenant_config.rules.clone(),
            self.config.stages.clone(),
            self.config.state.terminal_retention,
            self.config.state.idle_retention,
        );
        let mut tenant = TenantEngine::new(ctx);
        if self.tracking {
            tenant.track_changes();
        }
        if self.tracking_contacts {
            tenant.track_contacts();
        }
        self.tenants.push(tenant);
        let slot = self.tenants.len() - 1;
        self.tenant_index.insert(name.into(), slot);
        Ok(slot)
    }

    /// The tenant's engine with its watermark, and the stats (disjoint borrows). A tenant absent
    /// from the configuration uses the default settings, whose calendar was validated in
    /// [`Engine::new`], so this cannot fail for it.
    fn tenant_for(&mut self, name: &str) -> Option<(&mut TenantEngine, Secs, &mut EngineStats)> {
        let slot = self.tenant_slot(name).ok()?;
        let tenant = self.tenants.get_mut(slot)?;
        let watermark = Self::watermark_of(self.clock, tenant);
        Some((tenant, watermark, &mut self.stats))
    }

    fn watermark_of(clock: Secs, tenant: &TenantEngine) -> Secs {
        clock.saturating_sub(tenant.ctx.lateness)
    }

    /// Applies a call. Calls without `lead_id` are counted as unresolved.
    pub fn apply_call(&mut self, call: &CallRecord<'_>, out: &mut Vec<Finding>) -> Applied {
        let Some(lead_id) = call.lead_id.as_deref() else {
            self.stats.unresolved_calls += 1;
            return Applied::Unresolved;
        };
        match self.tenant_for(call.tenant()) {
            Some((tenant, watermark, stats)) => {
                tenant.apply_call(call, lead_id, watermark, stats, out)
            }
            None => {
                self.stats.unresolved_calls += 1;
                Applied::Unresolved
            }
        }
    }

    /// Applies (queues) a lead event.
    pub fn apply_lead_event(&mut self, event: &LeadEvent<'_>, out: &mut Vec<Finding>) -> Applied {
        match self.tenant_for(event.tenant()) {
            Some((tenant, watermark, stats)) => {
                tenant.apply_lead_event(event, watermark, stats, out)
            }
            None => Applied::Unresolved,
        }
    }

    /// Moves the clock (latest event time reached by the inputs) forward and fires whatever
    /// each tenant's watermark has passed. A clock that goes backwards is ignored.
    pub fn advance_clock(&mut self, clock: Timestamp, out: &mut Vec<Finding>) {
        self.advance_clock_within(clock, out, usize::MAX);
    }

    /// [`Engine::advance_clock`] in parts: it stops between two steps once `out` holds `limit`
    /// findings or more, so that the caller can send them, and returns whether it got
    /// through. Until it has, [`Engine::behind`] is true and each further call goes on where
    /// it stopped (with the same or a later clock); no event may be applied meanwhile. The
    /// steps and the findings are those of one whole advance, in the same order.
    pub fn advance_clock_within(
        &mut self,
        clock: Timestamp,
        out: &mut Vec<Finding>,
        limit: usize,
    ) -> bool {
        let clock = clock.as_compact_seconds();
        if clock <= self.clock && !self.behind {
            return true;
        }
        self.clock = self.clock.max(clock);
        let clock = self.clock;
        self.behind = !self.tenants.iter_mut().all(|tenant| {
            let watermark = Self::watermark_of(clock, tenant);
            tenant.advance_within(watermark, &mut self.stats, out, limit)
        });
        !self.behind
    }

    /// Whether the last [`Engine::advance_clock_within`] stopped before its watermark.
    pub fn behind(&self) -> bool {
        self.behind
    }

    /// End of input: the watermark of every tenant moves to `until`; everything due at or
    /// before it fires, later timers do not.
    pub fn flush_until(&mut self, until: Timestamp, out: &mut Vec<Finding>) {
        let until = until.as_compact_seconds();
        for tenant in &mut self.tenants {
            tenant.advance(until.saturating_add(1), &mut self.stats, out);
        }
        self.clock = self.clock.max(until);
    }

    /// Records what changes from now on, for [`Engine::take_changes`] (the changelog).
    pub fn track_changes(&mut self) {
        self.tracking = true;
        for tenant in &mut self.tenants {
            tenant.track_changes();
        }
    }

    /// What changed since the last call (with [`Engine::track_changes`]): per tenant, evicted
    /// leads, then the changed leads' current state, then the tenant's counters — each handed
    /// to `each` as it is built, borrowing the engine's strings (the service encodes it at once).
    pub fn take_changes_with(&mut self, each: impl FnMut(&StateChange<'_>)) {
        let changed = self.take_changed();
        let view = self.change_view(&changed);
        view.build(0..view.len(), each);
    }

    /// [`Engine::take_changes_with`], the changes kept (owned) in `out`.
    pub fn take_changes(&mut self, out: &mut Vec<StateChange<'static>>) {
        self.take_changes_with(|change| out.push(change.to_owned_change()));
    }

    /// Records contact updates from now on, for [`Engine::take_contact_updates`]: every new lead
    /// event (with its contact fields, manager and whether its stage is terminal), every new
    /// attempt, every forgotten lead. The directory built from them lives outside the engine
    /// (`crate::contacts`): in the service it spans partitions.
    pub fn track_contacts(&mut self) {
        self.tracking_contacts = true;
        for tenant in &mut self.tenants {
            tenant.track_contacts();
        }
    }

    /// The contact updates since the last call (with [`Engine::track_contacts`]), each tenant's in
    /// the order the engine accepted its input.
    pub fn take_contact_updates(&mut self, out: &mut Vec<ContactUpdate>) {
        for tenant in &mut self.tenants {
            tenant.take_contact_updates(out);
        }
    }

    /// The configuration the engine was built with.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The whole state: every lead and every tenant's counters.
    pub fn export<'a>(&'a self, out: &mut Vec<StateChange<'a>>) {
        for tenant in &self.tenants {
            tenant.export(out);
        }
    }

    /// Restores one changelog entry into this engine (before any input is applied; the clock
    /// is restored separately with [`Engine::advance_clock`], which fires nothing a restored
    /// deadline has not already passed). A later entry of the same lead replaces the earlier.
    pub fn restore(&mut self, change: &StateChange<'_>) -> Result<(), EngineError> {
        match change {
            StateChange::Lead(record) => {
                let slot = self.tenant_slot(&record.tenant)?;
                self.tenants[slot].restore_lead(record);
            }
            StateChange::Tenant(record) => {
                let slot = self.tenant_slot(&record.tenant)?;
                self.tenants[slot].restore_tenant(record);
            }
            StateChange::Forget { tenant, lead_id } => {
                let slot = self.tenant_slot(tenant)?;
                self.tenants[slot].forget(lead_id);
            }
        }
        Ok(())
    }

    /// The clock as last advanced.
    pub fn clock(&self) -> Timestamp {
        Timestamp::from_compact_seconds(self.clock)
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// QC outcome counters (SPEC §4.7) of a tenant, with manager symbols resolved.
    pub fn overturned_rejections(&self, tenant: &str) -> Vec<(String, u32)> {
        let Some(&slot) = self.tenant_index.get(tenant) else {
            return Vec::new();
        };
        let ctx = &self.tenants[slot].ctx;
        let mut rows: Vec<(String, u32)> = ctx
            .outcomes
            .overturned_by_manager
            .iter()
            .map(|(&manager, &count)| (ctx.name_of(manager).unwrap_or_default(), count))
            .collect();
        rows.sort();
        rows
    }

    /// QC outcome totals of a tenant.
    pub fn qc_outcomes(&self, tenant: &str) -> Option<&QcOutcomes> {
        let slot = *self.tenant_index.get(tenant)?;
        Some(&self.tenants[slot].ctx.outcomes)
    }

    fn tenant(&self, name: &str) -> Option<&TenantEngine> {
        self.tenants.get(*self.tenant_index.get(name)?)
    }

    /// The names of the tenants this engine has state for (configured or seen).
    pub fn tenant_names(&self) -> impl Iterator<Item = &str> {
        self.tenants.iter().map(|t| &*t.ctx.name)
    }

    /// The state of one lead (query API).
    pub fn lead_view(&self, tenant: &str, lead_id: &str) -> Option<LeadView> {
        let tenant = self.tenant(tenant)?;
        tenant.lead_view(lead_id, Self::watermark_of(self.clock, tenant))
    }

    /// The leads due today in `tenant` (query API), today being the local date of `at` or of
    /// the clock, whichever is later: the engines of several partitions answer for one date.
    pub fn due_today(&self, tenant: &str, manager: Option<&str>, at: Timestamp) -> Option<DueList> {
        Some(
            self.tenant(tenant)?
                .due_today(self.today_clock(at), manager),
        )
    }

    /// Manager scorecards of `tenant` (query API), keyed by manager id; today as in
    /// [`Engine::due_today`].
    pub fn scorecards(&self, tenant: &str, at: Timestamp) -> BTreeMap<Option<String>, Scorecard> {
        self.tenant(tenant)
            .map(|t| t.scorecards(self.today_clock(at)))
            .unwrap_or_default()
    }

    fn today_clock(&self, at: Timestamp) -> Secs {
        self.clock.max(at.as_compact_seconds())
    }

    /// Per-tenant figures for the state gauges (leads tracked, leads with no attempt today,
    /// scorecards, QC outcomes), today taken from `at` (or the clock, if later).
    pub fn tenant_figures(&self, at: Timestamp) -> Vec<TenantFigures> {
        let clock = self.today_clock(at);
        self.tenants
            .iter()
            .map(|t| {
                // One scan of the leads: the tenant's count is the sum over its managers.
                let scorecards = t.scorecards(clock);
                TenantFigures {
                    tenant: t.ctx.name.to_string(),
                    leads_tracked: t.leads.len(),
                    no_attempt_today: scorecards
                        .values()
                        .map(|c| c.leads_no_attempt_today as usize)
                        .sum(),
                    scorecards,
                    outcomes: t.ctx.outcomes.clone(),
                }
            })
            .collect()
    }

    /// Number of leads currently tracked, over all tenants.
    pub fn tracked_leads(&self) -> usize {
        self.tenants.iter().map(|t| t.leads.len()).sum()
    }

    /// Timers queued and lead events waiting for the watermark, over all tenants.
    pub fn queued_work(&self) -> (usize, usize) {
        self.tenants.iter().fold((0, 0), |(t, p), tenant| {
            (t + tenant.queued_timers(), p + tenant.pending_events())
        })
    }

    /// Approximate heap bytes of all engine state (the allocator's view is in the bench).
    pub fn state_bytes(&self) -> usize {
        self.tenants.iter().map(TenantEngine::heap_bytes).sum()
    }
}
