//! Engine state as plain records (strings, not symbols) for the changelog: what changed since
//! the last commit, a full export, and restoring records into a fresh engine.
//
// A lead's record carries everything the rules read (stage, episode, SLA, stale bookkeeping,
// deadlines, the seen calls and events, its lead events still waiting for the watermark).
// Derived things are rebuilt on restore: stage kinds from the configuration (so a changed
// stage mapping applies to restored leads), timer queue entries from the deadlines, slots and
// generations. A tenant's record carries its QC outcomes and manager scorecards.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use super::context::{ManagerScore, QcOutcomes};
use super::interner::{Interner, Symbol};
use super::lead::{Episode, LeadState, Secs, Seen, SlaState, StageState, TimerKind};
use super::pending::PendingEvent;
use super::table::LeadTable;
use super::tenant::TenantEngine;

/// One lead's state. Built from the engine it borrows its strings and seen list (the
/// changelog encodes it at once); decoded from the changelog it owns them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadRecord<'a> {
    pub tenant: Cow<'a, str>,
    pub lead_id: Cow<'a, str>,
    pub stage: Option<Cow<'a, str>>,
    pub manager: Option<Cow<'a, str>>,
    pub channel: Option<Cow<'a, str>>,
    pub rejected_by: Option<Cow<'a, str>>,
    pub judged_by: Option<Cow<'a, str>>,
    pub episode: Option<Episode>,
    pub sla: SlaState,
    pub stage_activity: Secs,
    pub stale_basis: Secs,
    pub stale_reported_for: Secs,
    pub last_seen: Secs,
    /// Per timer kind (day close, first-call SLA, stale check, eviction); 0 = none.
    pub deadlines: [Secs; TimerKind::COUNT],
    /// Calls and lead events seen: id hash with the flag bits ([`Seen::tagged`]), event time.
    pub seen: Cow<'a, [Seen]>,
    pub pending: Vec<PendingRecord<'a>>,
}

/// A lead event waiting for the watermark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRecord<'a> {
    pub at: Secs,
    pub event_id: Cow<'a, str>,
    pub stage: Cow<'a, str>,
    pub manager: Option<Cow<'a, str>>,
    pub channel: Option<Cow<'a, str>>,
    /// 0 when the record had none.
    pub created_at: Secs,
    pub rejection_reason: Option<Cow<'a, str>>,
}

/// One tenant's counters that outlive its leads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantRecord<'a> {
    pub tenant: Cow<'a, str>,
    pub overturned: u64,
    pub confirmations: u64,
    pub cold_base_transfers: u64,
    /// By the manager who rejected (`None`: no manager).
    pub overturned_by_manager: Vec<(Option<Cow<'a, str>>, u32)>,
    pub scores: Vec<(Option<Cow<'a, str>>, ManagerScore)>,
}

/// A changelog entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateChange<'a> {
    Lead(Box<LeadRecord<'a>>),
    Tenant(TenantRecord<'a>),
    /// The lead was evicted: its record is gone.
    Forget {
        tenant: Cow<'a, str>,
        lead_id: Cow<'a, str>,
    },
}

fn owned(text: &str) -> Cow<'static, str> {
    Cow::Owned(text.to_owned())
}

fn owned_opt(text: &Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    text.as_deref().map(owned)
}

impl StateChange<'_> {
    /// The same change owning its strings (to keep it past the engine's next input).
    pub fn to_owned_change(&self) -> StateChange<'static> {
        match self {
            StateChange::Lead(lead) => StateChange::Lead(Box::new(LeadRecord {
                tenant: owned(&lead.tenant),
                lead_id: owned(&lead.lead_id),
                stage: owned_opt(&lead.stage),
                manager: owned_opt(&lead.manager),
                channel: owned_opt(&lead.channel),
                rejected_by: owned_opt(&lead.rejected_by),
                judged_by: owned_opt(&lead.judged_by),
                episode: lead.episode,
                sla: lead.sla,
                stage_activity: lead.stage_activity,
                stale_basis: lead.stale_basis,
                stale_reported_for: lead.stale_reported_for,
                last_seen: lead.last_seen,
                deadlines: lead.deadlines,
                seen: Cow::Owned(lead.seen.to_vec()),
                pending: lead
                    .pending
                    .iter()
                    .map(|p| PendingRecord {
                        at: p.at,
                        event_id: owned(&p.event_id),
                        stage: owned(&p.stage),
                        manager: owned_opt(&p.manager),
                        channel: owned_opt(&p.channel),
                        created_at: p.created_at,
                        rejection_reason: owned_opt(&p.rejection_reason),
                    })
                    .collect(),
            })),
            StateChange::Tenant(t) => StateChange::Tenant(TenantRecord {
                tenant: owned(&t.tenant),
                overturned: t.overturned,
                confirmations: t.confirmations,
                cold_base_transfers: t.cold_base_transfers,
                overturned_by_manager: t
                    .overturned_by_manager
                    .iter()
                    .map(|(m, n)| (owned_opt(m), *n))
                    .collect(),
                scores: t.scores.iter().map(|(m, s)| (owned_opt(m), *s)).collect(),
            }),
            StateChange::Forget { tenant, lead_id } => StateChange::Forget {
                tenant: owned(tenant),
                lead_id: owned(lead_id),
            },
        }
    }
}

/// A tenant's changed leads' pending events, by slot.
pub(super) type Pending<'a> = HashMap<u32, Vec<&'a PendingEvent>>;

/// A tenant's changes, taken: forgotten leads, changed slots in order.
#[derive(Debug, Default)]
pub(super) struct Taken {
    forgotten: Vec<Box<str>>,
    /// The changed slots, in order and as a set.
    slots: Vec<u32>,
    dirty: HashSet<u32>,
}

impl Taken {
    /// How many changes: forgotten leads, changed leads and the tenant record.
    pub(super) fn len(&self) -> usize {
        self.forgotten.len() + self.slots.len() + 1
    }
}

/// What changed in a tenant since the changes were last taken.
#[derive(Debug, Default)]
pub struct Changes {
    dirty: HashSet<u32>,
    forgotten: Vec<Box<str>>,
}

impl Changes {
    pub fn touch(&mut self, slot: u32) {
        self.dirty.insert(slot);
    }

    pub fn forget(&mut self, lead_id: &str) {
        self.forgotten.push(lead_id.into());
    }

    fn is_empty(&self) -> bool {
        self.dirty.is_empty() && self.forgotten.is_empty()
    }
}

/// What building a lead's record reads of its tenant: the tenant's name, its symbols and its
/// leads. Shared by the threads that build a commit's changes (`changes.rs`); the tenant's
/// context, with its memo cells, is not.
#[derive(Clone, Copy)]
pub(super) struct RecordSource<'a> {
    tenant: &'a str,
    interner: &'a Interner,
    leads: &'a LeadTable,
}

impl<'a> RecordSource<'a> {
    fn name(&self, symbol: Symbol) -> Option<Cow<'a, str>> {
        self.interner.resolve(symbol).map(Cow::Borrowed)
    }

    fn pending_record(&self, event: &'a PendingEvent) -> PendingRecord<'a> {
        PendingRecord {
            at: event.at,
            event_id: Cow::Borrowed(&event.event_id),
            stage: self.name(event.stage).unwrap_or_default(),
            manager: self.name(event.manager),
            channel: self.name(event.channel),
            created_at: event.created_at,
            rejection_reason: event.rejection_reason.as_deref().map(Cow::Borrowed),
        }
    }

    fn lead_record(&self, lead: &'a LeadState, pending: &[&'a PendingEvent]) -> LeadRecord<'a> {
        LeadRecord {
            tenant: Cow::Borrowed(self.tenant),
            lead_id: Cow::Borrowed(&lead.lead_id),
            stage: lead.stage.and_then(|s| self.name(s.stage)),
            manager: self.name(lead.manager),
            channel: self.name(lead.channel),
            rejected_by: self.name(lead.rejected_by),
            judged_by: self.name(lead.judged_by),
            episode: lead.episode,
            sla: lead.sla,
            stage_activity: lead.stage_activity,
            stale_basis: lead.stale_basis,
            stale_reported_for: lead.stale_reported_for,
            last_seen: lead.last_seen,
            deadlines: lead.deadlines,
            seen: Cow::Borrowed(&lead.seen),
            pending: pending.iter().map(|e| self.pending_record(e)).collect(),
        }
    }

    /// Change `index` of `taken` (forgotten leads first, then the changed leads in slot
    /// order, then the tenant record, built beforehand as `record`), handed to `each`; a slot
    /// whose lead has gone hands nothing.
    pub(super) fn change_at(
        &self,
        taken: &Taken,
        pending: &Pending<'a>,
        record: &TenantRecord<'_>,
        index: usize,
        each: &mut impl FnMut(&StateChange<'_>),
    ) {
        let forgotten = taken.forgotten.len();
        if let Some(lead_id) = taken.forgotten.get(index) {
            each(&StateChange::Forget {
                tenant: Cow::Borrowed(self.tenant),
                lead_id: Cow::Borrowed(lead_id),
            });
        } else if let Some(&slot) = taken.slots.get(index - forgotten) {
            if let Some(lead) = self.leads.get(slot) {
                let events = pending.get(&slot).map_or(&[][..], Vec::as_slice);
                each(&StateChange::Lead(Box::new(self.lead_record(lead, events))));
            }
        } else {
            each(&StateChange::Tenant(record.clone()));
        }
    }
}

impl TenantEngine {
    pub(super) fn record_source(&self) -> RecordSource<'_> {
        RecordSource {
            tenant: &self.ctx.name,
            interner: &self.ctx.interner,
            leads: &self.leads,
        }
    }

    pub(super) fn tenant_record(&self) -> TenantRecord<'_> {
        let names = self.record_source();
        let outcomes = &self.ctx.outcomes;
        let mut overturned_by_manager: Vec<(Option<Cow<'_, str>>, u32)> = outcomes
            .overturned_by_manager
            .iter()
            .map(|(&m, &n)| (names.name(m), n))
            .collect();
        overturned_by_manager.sort();
        let mut scores: Vec<(Option<Cow<'_, str>>, ManagerScore)> = self
            .ctx
            .scores()
            .into_iter()
            .map(|(m, score)| (names.name(m), score))
            .collect();
        scores.sort_by(|a, b| a.0.cmp(&b.0));
        TenantRecord {
            tenant: Cow::Borrowed(&self.ctx.name),
            overturned: outcomes.overturned,
            confirmations: outcomes.confirmations,
            cold_base_transfers: outcomes.cold_base_transfers,
            overturned_by_manager,
            scores,
        }
    }

    /// Pending events of the leads in `slots`, by slot (current generation only).
    fn pending_by_slot(&self, wanted: impl Fn(u32) -> bool) -> Pending<'_> {
        let mut by_slot: HashMap<u32, Vec<&PendingEvent>> = HashMap::new();
        for event in self.pending.iter() {
            // The cheap test first: the lead lookup is a cache miss at a million leads.
            let current = || {
                self.leads
                    .get(event.slot)
                    .is_some_and(|l| l.generation == event.generation)
            };
            if wanted(event.slot) && current() {
                by_slot.entry(event.slot).or_default().push(event);
            }
        }
        for events in by_slot.values_mut() {
            events.sort();
        }
        by_slot
    }

    /// Starts recording changes (the service's changelog; replay does without).
    pub fn track_changes(&mut self) {
        self.changes.get_or_insert_with(Changes::default);
    }

    /// The changes since the last call, taken for [`super::changes::ChangeView`] (`None`:
    /// nothing changed, or changes are not recorded).
    pub(super) fn take_changed(&mut self) -> Option<Taken> {
        let changes = self.changes.take()?;
        self.changes = Some(Changes::default());
        if changes.is_empty() {
            return None;
        }
        let mut slots: Vec<u32> = changes.dirty.iter().copied().collect();
        slots.sort_unstable();
        Some(Taken {
            forgotten: changes.forgotten,
            slots,
            dirty: changes.dirty,
        })
    }

    /// The pending events of `taken`'s changed leads, by slot.
    pub(super) fn pending_of<'a>(&'a self, taken: &Taken) -> Pending<'a> {
        if self.pending.is_empty() {
            return HashMap::new();
        }
        self.pending_by_slot(|slot| taken.dirty.contains(&slot))
    }

    /// Every lead and the tenant record.
    pub fn export<'a>(&'a self, out: &mut Vec<StateChange<'a>>) {
        let pending = self.pending_by_slot(|_| true);
        for slot in self.leads.slots() {
            if let Some(lead) = self.leads.get(slot) {
                let events = pending.get(&slot).map_or(&[][..], Vec::as_slice);
                out.push(StateChange::Lead(Box::new(
                    self.record_source().lead_record(lead, events),
                )));
            }
        }
        out.push(StateChange::Tenant(self.tenant_record()));
    }

    /// Restores one lead (replacing any state of the same lead id).
    pub fn restore_lead(&mut self, record: &LeadRecord<'_>) {
        // An earlier record of the lead: drop it with its queued events (new generation).
        self.forget(&record.lead_id);
        let (slot, _) = self.leads.get_or_insert(&record.lead_id);
        let interner = &mut self.ctx.interner;
        let stage = record.stage.as_deref().map(|stage| StageState {
            kind: self.ctx.stages.kind(stage),
            stage: interner.intern(stage),
        });
        let manager = interner.intern_opt(record.manager.as_deref());
        let channel = interner.intern_opt(record.channel.as_deref());
        let rejected_by = interner.intern_opt(record.rejected_by.as_deref());
        let judged_by = interner.intern_opt(record.judged_by.as_deref());
        let pending: Vec<PendingEvent> = record
            .pending
            .iter()
            .map(|p| PendingEvent {
                at: p.at,
                event_id: p.event_id.as_ref().into(),
                slot,
                generation: 0, // set below
                stage: interner.intern(&p.stage),
                kind: self.ctx.stages.kind(&p.stage),
                manager: interner.intern_opt(p.manager.as_deref()),
                channel: interner.intern_opt(p.channel.as_deref()),
                created_at: p.created_at,
                rejection_reason: p.rejection_reason.as_deref().map(Into::into),
            })
            .collect();
        let Some(lead) = self.leads.get_mut(slot) else {
            return; // unreachable: the slot was just resolved
        };
        lead.stage = stage;
        lead.manager = manager;
        lead.channel = channel;
        lead.rejected_by = rejected_by;
        lead.judged_by = judged_by;
        lead.episode = record.episode;
        lead.sla = record.sla;
        lead.stage_activity = record.stage_activity;
        lead.stale_basis = record.stale_basis;
        lead.stale_reported_for = record.stale_reported_for;
        lead.last_seen = record.last_seen;
        lead.deadlines = record.deadlines;
        lead.queued = [0; TimerKind::COUNT];
        lead.seen = record.seen.iter().copied().collect();
        lead.pending_events = u16::try_from(pending.len()).unwrap_or(u16::MAX);
        let generation = lead.generation;
        self.timers.sync(slot, lead);
        for mut event in pending {
            event.generation = generation;
            self.pending.push(event);
        }
    }

    /// Forgets a lead (a changelog tombstone), with its waiting lead events.
    pub fn forget(&mut self, lead_id: &str) {
        if let Some(slot) = self.leads.get_slot(lead_id) {
            // Queued timers and pending events of the old generation are ignored when popped.
            self.leads.remove(slot);
        }
    }

    /// Restores the tenant's counters (replacing them).
    pub fn restore_tenant(&mut self, record: &TenantRecord<'_>) {
        let interner = &mut self.ctx.interner;
        let overturned_by_manager = record
            .overturned_by_manager
            .iter()
            .map(|(m, n)| (interner.intern_opt(m.as_deref()), *n))
            .collect();
        let scores: Vec<(Symbol, ManagerScore)> = record
            .scores
            .iter()
            .map(|(m, score)| (interner.intern_opt(m.as_deref()), *score))
            .collect();
        self.ctx.outcomes = QcOutcomes {
            overturned_by_manager,
            overturned: record.overturned,
            confirmations: record.confirmations,
            cold_base_transfers: record.cold_base_transfers,
        };
        self.ctx.set_scores(scores);
    }
}
