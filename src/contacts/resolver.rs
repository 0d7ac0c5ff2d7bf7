//! The resolution layer between inputs and the engine (replay now, the service later): calls
//! without `lead_id` wait until their tenant's watermark passes them and are then bound by phone;
//! a new lead is checked for duplicates once the watermark passes its first event.
//!
//! Waiting for the watermark is what makes the outcome independent of arrival order: by then
//! every lead event up to the call's time that is not late has arrived, and the directory answers
//! "as of the call's time", ignoring what it has already learnt about later times. The engine
//! still sees the call in time (it is released before the engine's watermark passes it).

use std::borrow::Cow;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;

use super::directory::{ContactDirectory, Duplicate, Effect};
use super::normalize::parse_phone;
use crate::config::Config;
use crate::engine::{ContactUpdate, Secs, duplicate_lead_review_id};
use crate::model::{CallRecord, QcKind, QcReview, Timestamp};

/// What resolution did, for the summary and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactStats {
    /// Calls without `lead_id` bound to a lead by their phone.
    pub resolved_calls: u64,
    /// Calls without `lead_id` no open lead had the phone of (the engine counts them too).
    pub unresolved_calls: u64,
    /// `duplicate_lead` reviews emitted.
    pub duplicate_leads: u64,
}

/// Something the watermark has released: a call to apply (with `lead_id` filled when resolved)
/// or a `duplicate_lead` review to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Due {
    Call(CallRecord<'static>),
    Review(QcReview),
}

/// A call waiting for the watermark, ordered by (time, call id).
#[derive(Debug, PartialEq, Eq)]
struct Held {
    at: Secs,
    call: CallRecord<'static>,
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, &self.call.call_id).cmp(&(other.at, &other.call.call_id))
    }
}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One tenant's waiting calls and duplicate checks.
#[derive(Debug)]
struct Queues {
    tenant: Box<str>,
    lateness: Secs,
    calls: BinaryHeap<Reverse<Held>>,
    checks: BinaryHeap<Reverse<(Secs, Arc<str>)>>,
}

/// The directory with the calls and checks waiting for the watermark.
#[derive(Debug)]
pub struct Resolver {
    config: Arc<Config>,
    directory: ContactDirectory,
    queues: Vec<Queues>,
    stats: ContactStats,
}

impl Resolver {
    pub fn new(config: Arc<Config>) -> Self {
        Resolver {
            config,
            directory: ContactDirectory::new(),
            queues: Vec::new(),
            stats: ContactStats::default(),
        }
    }

    pub fn directory(&self) -> &ContactDirectory {
        &self.directory
    }

    pub fn stats(&self) -> &ContactStats {
        &self.stats
    }

    /// Calls and checks waiting for the watermark.
    pub fn waiting(&self) -> (usize, usize) {
        self.queues
            .iter()
            .fold((0, 0), |(c, k), q| (c + q.calls.len(), k + q.checks.len()))
    }

    fn queues(&mut self, tenant: &str) -> &mut Queues {
        let slot = match self.queues.iter().position(|q| *q.tenant == *tenant) {
            Some(slot) => slot,
            None => {
                let lateness = self.config.tenant(tenant).rules.allowed_lateness;
                self.queues.push(Queues {
                    tenant: tenant.into(),
                    lateness: u32::try_from(lateness.as_secs()).unwrap_or(u32::MAX),
                    calls: BinaryHeap::new(),
                    checks: BinaryHeap::new(),
                });
                self.queues.len() - 1
            }
        };
        &mut self.queues[slot]
    }

    /// Takes a call. One with a `lead_id` is handed back at once, and so is one whose phone is no
    /// number at all (it stays unresolved); any other waits for [`Resolver::next_due`].
    pub fn hold_call(&mut self, call: CallRecord<'static>) -> Option<CallRecord<'static>> {
        if call.lead_id.is_some() {
            return Some(call);
        }
        if parse_phone(&call.phone).is_none() {
            self.stats.unresolved_calls += 1;
            return Some(call);
        }
        let at = call.started_at.as_compact_seconds();
        self.queues(call.tenant())
            .calls
            .push(Reverse(Held { at, call }));
        None
    }

    /// Merges an engine update into the directory (scheduling a new lead's duplicate check).
    pub fn apply(&mut self, update: &ContactUpdate) {
        // Every tenant with a lead event gets its queues here, so its watermark moves.
        if let Effect::FirstEvent(at) = self.directory.apply(update) {
            let queues = self.queues(update.tenant());
            queues.checks.push(Reverse((at, update.lead_id().into())));
        }
    }

    /// The next call or review whose time the tenant's watermark (`clock` − allowed lateness)
    /// has passed. Apply a returned call to the engine and [`Resolver::apply`] the engine's
    /// updates before asking again (except the attempt of a call bound by phone: activity for
    /// resolution is what came keyed by lead, docs/contacts.md).
    pub fn next_due(&mut self, clock: Timestamp) -> Option<Due> {
        let clock = clock.as_compact_seconds();
        self.next_before(|lateness| {
            let watermark = clock.saturating_sub(lateness);
            (watermark, watermark)
        })
    }

    /// At the end of input: every waiting call (the engine applies every call, whatever
    /// `until`), and the checks of leads whose first event is at or before `until` (all
    /// without it).
    pub fn next_remaining(&mut self, until: Option<Timestamp>) -> Option<Due> {
        let checks = until.map_or(Secs::MAX, |u| u.as_compact_seconds().saturating_add(1));
        self.next_before(|_| (Secs::MAX, checks))
    }

    /// Folds the directory's history before each tenant's watermark at `clock`.
    pub fn prune(&mut self, clock: Timestamp) {
        let clock = clock.as_compact_seconds();
        for queues in &self.queues {
            let watermark = Timestamp::from_compact_seconds(clock.saturating_sub(queues.lateness));
            self.directory.prune(&queues.tenant, watermark);
        }
    }

    /// The earliest waiting item below its tenant's limits (`limits(lateness)` = (calls before,
    /// checks before)); checks go first at equal times.
    fn next_before(&mut self, limits: impl Fn(Secs) -> (Secs, Secs)) -> Option<Due> {
        loop {
            let mut pick: Option<(Secs, bool, usize)> = None;
            for (slot, queues) in self.queues.iter().enumerate() {
                let (calls_before, checks_before) = limits(queues.lateness);
                let check = queues.checks.peek().map(|Reverse((at, _))| *at);
                let call = queues.calls.peek().map(|Reverse(held)| held.at);
                let due = [
                    check.filter(|&at| at < checks_before).map(|at| (at, false)),
                    call.filter(|&at| at < calls_before).map(|at| (at, true)),
                ];
                for (at, is_call) in due.into_iter().flatten() {
                    if pick.is_none_or(|(t, c, _)| (at, is_call) < (t, c)) {
                        pick = Some((at, is_call, slot));
                    }
                }
            }
            let (_, is_call, slot) = pick?;
            if is_call {
                if let Some(Reverse(held)) = self.queues[slot].calls.pop() {
                    return Some(Due::Call(self.resolve(held.call)));
                }
            } else if let Some(Reverse((at, lead_id))) = self.queues[slot].checks.pop()
                && let Some(review) = self.check(slot, at, &lead_id)
            {
                return Some(Due::Review(review));
            }
        }
    }

    fn resolve(&mut self, mut call: CallRecord<'static>) -> CallRecord<'static> {
        let lead = self
            .directory
            .resolve_phone(call.tenant(), &call.phone, call.started_at);
        match lead {
            Some(lead_id) => {
                self.stats.resolved_calls += 1;
                call.lead_id = Some(Cow::Owned(lead_id.to_string()));
            }
            None => self.stats.unresolved_calls += 1,
        }
        call
    }

    /// The duplicate check scheduled for the lead's first event at `at`, if that is still its
    /// first event and the check has not run.
    fn check(&mut self, slot: usize, at: Secs, lead_id: &str) -> Option<QcReview> {
        let tenant = &self.queues[slot].tenant;
        let first = self.directory.entry(tenant, lead_id)?.first()?;
        if first.0 != at || !self.directory.start_duplicate_check(tenant, lead_id) {
            return None;
        }
        let duplicate = self.directory.duplicate_of(tenant, lead_id)?;
        self.stats.duplicate_leads += 1;
        Some(duplicate_review(tenant, lead_id, duplicate))
    }
}

/// The `duplicate_lead` QC review of `lead_id`.
pub fn duplicate_review(tenant: &str, lead_id: &str, duplicate: Duplicate) -> QcReview {
    QcReview {
        review_id: duplicate_lead_review_id(tenant, lead_id),
        kind: QcKind::DuplicateLead,
        tenant: tenant.to_owned(),
        lead_id: lead_id.to_owned(),
        manager_id: duplicate.manager_id.map(|m| m.to_string()),
        call_id: None,
        recording_url: None,
        talk_seconds: None,
        premature: false,
        detected_at: duplicate.at,
        rejection_reason: None,
        stage: None,
        attempts_total: None,
        earlier_lead_id: Some(duplicate.earlier_lead_id.to_string()),
        earlier_manager_id: duplicate.earlier_manager_id.map(|m| m.to_string()),
        matched_on: Some(duplicate.matched_on),
    }
}
