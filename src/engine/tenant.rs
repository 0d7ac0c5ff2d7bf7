//! One tenant's engine: ingests calls and lead events, fires timers as its watermark advances.

use std::sync::Arc;

use super::contacts::{ContactUpdate, LeadContact};
use super::context::TenantContext;
use super::ids::{DedupSpace, dedup_hash};
use super::lead::{LeadState, Secs, Seen, TimerKind, flag};
use super::pending::{PendingEvent, PendingQueue};
use super::rules::{self, CallFacts};
use super::snapshot::Changes;
use super::table::LeadTable;
use super::timers::TimerQueue;
use super::{Applied, EngineStats};
use crate::config::StageKind;
use crate::model::{CallRecord, Direction, Disposition, Finding, LeadEvent};

/// State and queues of one tenant.
#[derive(Debug)]
pub struct TenantEngine {
    pub ctx: TenantContext,
    pub leads: LeadTable,
    pub(super) timers: TimerQueue,
    pub(super) pending: PendingQueue,
    /// What changed since the changelog last took it (`None`: not recorded).
    pub(super) changes: Option<Changes>,
    /// Contact updates not yet taken (`None`: not recorded), and the tenant's name to put in them.
    pub(super) contacts: Option<Vec<ContactUpdate>>,
    name: Arc<str>,
}

impl TenantEngine {
    pub fn new(ctx: TenantContext) -> Self {
        TenantEngine {
            name: Arc::from(&*ctx.name),
            ctx,
            leads: LeadTable::default(),
            timers: TimerQueue::default(),
            pending: PendingQueue::default(),
            changes: None,
            contacts: None,
        }
    }

    /// Ingests a call bound to `lead_id`; `watermark` decides whether it is late.
    pub fn apply_call(
        &mut self,
        call: &CallRecord<'_>,
        lead_id: &str,
        watermark: Secs,
        stats: &mut EngineStats,
        out: &mut Vec<Finding>,
    ) -> Applied {
        let Some((slot, id_hash)) = self.admit(lead_id, DedupSpace::Call, &call.call_id, stats)
        else {
            return Applied::Duplicate;
        };
        let Some(lead) = self.leads.get_mut(slot) else {
            return Applied::Duplicate; // unreachable: admit just resolved the slot
        };
        let at = call.started_at.as_compact_seconds();
        let attempt = call.direction == Direction::Outbound;
        let touch = call.disposition == Disposition::Answered
            && call.talk_seconds > self.ctx.rules.touch_seconds;
        let mut flags = flag::CALL;
        if attempt {
            flags |= flag::OUTBOUND;
        }
        if touch {
            flags |= flag::TOUCH;
        }
        if touch {
            let manager = self.ctx.interner.intern_opt(call.manager_id.as_deref());
            self.ctx.score(manager.or(lead.manager)).touches += 1;
        }
        lead.remember(Seen::new(id_hash, at, flags));
        lead.last_seen = lead.last_seen.max(at);
        let late = at < watermark;
        let facts = CallFacts {
            call_id: &call.call_id,
            at,
            attempt,
            touch,
            manager_id: call.manager_id.as_deref(),
            recording_url: call.recording_url.as_deref(),
            talk_seconds: call.talk_seconds,
            late,
        };
        rules::on_call(&self.ctx, lead, &facts, out);
        if attempt && let Some(updates) = &mut self.contacts {
            updates.push(ContactUpdate::Attempt {
                tenant: Arc::clone(&self.name),
                lead_id: lead_id.into(),
                at,
            });
        }
        self.arm_evict(slot);
        if late {
            stats.calls_late += 1;
            Applied::Late
        } else {
            stats.calls_applied += 1;
            Applied::Ok
        }
    }

    /// Ingests a lead event: de-duplicated now, applied once the watermark passes its time.
    pub fn apply_lead_event(
        &mut self,
        event: &LeadEvent<'_>,
        watermark: Secs,
        stats: &mut EngineStats,
        out: &mut Vec<Finding>,
    ) -> Applied {
        let Some((slot, id_hash)) =
            self.admit(&event.lead_id, DedupSpace::Event, &event.event_id, stats)
        else {
            return Applied::Duplicate;
        };
        let Some(lead) = self.leads.get_mut(slot) else {
            return Applied::Duplicate; // unreachable: admit just resolved the slot
        };
        let at = event.occurred_at.as_compact_seconds();
        lead.remember(Seen::new(id_hash, at, 0));
        lead.last_seen = lead.last_seen.max(at);
        lead.pending_events = lead.pending_events.saturating_add(1);
        let generation = lead.generation;
        let kind = self.ctx.stages.kind(&event.stage);
        if let Some(updates) = &mut self.contacts {
            updates.push(ContactUpdate::Lead(LeadContact {
                tenant: Arc::clone(&self.name),
                lead_id: event.lead_id.as_ref().into(),
                at,
                event_key: id_hash,
                created: event.created_at.map_or(at, |t| t.as_compact_seconds()),
                terminal: matches!(kind, StageKind::Rejected | StageKind::Converted),
                manager_id: event.manager_id.as_deref().map(Into::into),
                phone: event.phone.as_deref().map(Into::into),
                email: event.email.as_deref().map(Into::into),
            }));
        }
        let interner = &mut self.ctx.interner;
        self.pending.push(PendingEvent {
            at,
            event_id: event.event_id.as_ref().into(),
            slot,
            generation,
            stage: interner.intern(&event.stage),
            kind,
            manager: interner.intern_opt(event.manager_id.as_deref()),
            channel: interner.intern_opt(event.channel.as_deref()),
            created_at: event.created_at.map_or(0, |t| t.as_compact_seconds()),
            rejection_reason: event.rejection_reason.as_deref().map(Into::into),
        });
        self.arm_evict(slot);
        let late = at < watermark;
        if late {
            stats.lead_events_late += 1;
            // Applied at once: the watermark has passed its time already.
            self.advance(watermark, stats, out);
            Applied::Late
        } else {
            stats.lead_events_applied += 1;
            Applied::Ok
        }
    }

    /// Resolves the lead (creating it when new) and refuses a repeated record id: the lead's
    /// slot and the record's id hash, or `None` for a duplicate (counted).
    fn admit(
        &mut self,
        lead_id: &str,
        space: DedupSpace,
        record_id: &str,
        stats: &mut EngineStats,
    ) -> Option<(u32, u64)> {
        let (slot, _) = self.leads.get_or_insert(lead_id);
        let lead = self.leads.get_mut(slot)?;
        let id_hash = dedup_hash(space, record_id);
        if lead.has_seen(id_hash) {
            stats.duplicates += 1;
            return None;
        }
        self.touch(slot);
        Some((slot, id_hash))
    }

    fn touch(&mut self, slot: u32) {
        if let Some(changes) = &mut self.changes {
            changes.touch(slot);
        }
    }

    fn arm_evict(&mut self, slot: u32) {
        if let Some(lead) = self.leads.get_mut(slot) {
            // Deadlines here only move earlier (a lead became terminal); later moves are found
            // lazily when the queued entry pops.
            let k = TimerKind::Evict as usize;
            let due = evict_due(&self.ctx, lead);
            if lead.deadlines[k] == 0 || due < lead.deadlines[k] {
                lead.deadlines[k] = due;
            }
            self.timers.sync(slot, lead);
        }
    }

    /// Fires every timer and applies every pending lead event with time before `watermark`,
    /// in event-time order; at equal times timers go first (the state *at* the instant).
    pub fn advance(&mut self, watermark: Secs, stats: &mut EngineStats, out: &mut Vec<Finding>) {
        self.advance_within(watermark, stats, out, usize::MAX);
    }

    /// [`TenantEngine::advance`] that stops before the next step once `out` holds `limit`
    /// findings or more; returns whether nothing is left before `watermark`.
    pub fn advance_within(
        &mut self,
        watermark: Secs,
        stats: &mut EngineStats,
        out: &mut Vec<Finding>,
        limit: usize,
    ) -> bool {
        loop {
            let timer = self.timers.peek_time().filter(|&t| t < watermark);
            let pending = self.pending.peek_time().filter(|&t| t < watermark);
            if timer.is_none() && pending.is_none() {
                return true;
            }
            if out.len() >= limit {
                return false;
            }
            match (timer, pending) {
                (Some(t), p) if p.is_none_or(|p| t <= p) => self.fire_next_timer(stats, out),
                _ => self.apply_next_pending(out),
            }
        }
    }

    fn apply_next_pending(&mut self, out: &mut Vec<Finding>) {
        let Some(event) = self.pending.pop() else {
            return;
        };
        let Some(lead) = self.leads.get_mut(event.slot) else {
            return;
        };
        if lead.generation != event.generation {
            return;
        }
        lead.pending_events = lead.pending_events.saturating_sub(1);
        rules::on_lead_event(&mut self.ctx, lead, &event, out);
        self.touch(event.slot);
        self.arm_evict(event.slot);
    }

    fn fire_next_timer(&mut self, stats: &mut EngineStats, out: &mut Vec<Finding>) {
        let Some(entry) = self.timers.pop() else {
            return;
        };
        let Some(lead) = self.leads.get_mut(entry.slot) else {
            return;
        };
        if !self.timers.is_due(&entry, lead) {
            return;
        }
        if let Some(changes) = &mut self.changes {
            changes.touch(entry.slot);
        }
        match entry.kind {
            TimerKind::DayClose => rules::on_day_close(&self.ctx, lead, entry.at, out),
            TimerKind::FirstCallSla => rules::on_sla_deadline(&self.ctx, lead, out),
            TimerKind::Stale => rules::on_stale_check(&self.ctx, lead, entry.at, out),
            TimerKind::Evict => {
                let due = evict_due(&self.ctx, lead);
                if due <= entry.at && lead.pending_events == 0 {
                    if let Some(changes) = &mut self.changes {
                        changes.forget(&lead.lead_id);
                    }
                    if let Some(updates) = &mut self.contacts {
                        updates.push(ContactUpdate::Forget {
                            tenant: Arc::clone(&self.name),
                            lead_id: lead.lead_id.as_str().into(),
                        });
                    }
                    self.leads.remove(entry.slot);
                    stats.evicted_leads += 1;
                    return;
                }
                lead.deadlines[TimerKind::Evict as usize] = due.max(entry.at.saturating_add(3600));
            }
        }
        self.timers.sync(entry.slot, lead);
    }

    /// Starts recording contact updates ([`TenantEngine::take_contact_updates`]).
    pub fn track_contacts(&mut self) {
        self.contacts.get_or_insert_with(Vec::new);
    }

    /// Appends the contact updates recorded since the last call, in the order they happened.
    pub fn take_contact_updates(&mut self, out: &mut Vec<ContactUpdate>) {
        if let Some(updates) = &mut self.contacts {
            out.append(updates);
        }
    }

    pub fn queued_timers(&self) -> usize {
        self.timers.len()
    }

    pub fn pending_events(&self) -> usize {
        self.pending.len()
    }

    /// Bytes of lead state, timers and pending events (for the memory figures of the bench).
    pub fn heap_bytes(&self) -> usize {
        self.leads.heap_bytes()
            + self.timers.heap_bytes()
            + self.pending.len() * std::mem::size_of::<PendingEvent>()
    }
}

/// When a lead may be forgotten: `terminal_retention` after the last record of a lead in a
/// rejected or converted stage, `idle_retention` after the last record of any other lead.
fn evict_due(ctx: &TenantContext, lead: &LeadState) -> Secs {
    let retention = if lead.is_terminal() {
        ctx.terminal_retention
    } else {
        ctx.idle_retention
    };
    lead.last_seen.saturating_add(retention.max(1))
}
