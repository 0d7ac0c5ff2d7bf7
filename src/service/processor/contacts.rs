//! Phone resolution across partitions (docs/contacts.md, "Service design"): the processor's
//! side of the replicated directory, the routers and the resolved-calls topic.

use std::sync::Arc;
use std::time::Instant;

use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};

use super::{Item, Processor, Timestamp, parts, wall_now};
use crate::changelog::{ContactKey, Marker, decode_contact_key, decode_marker};
use crate::changelog::{Encoded, encode_marker, entry_key, marker_key, push_entry};
use crate::codec::{Encoding, decode_call, encode_call};
use crate::contacts::{Effect, duplicate_review, parse_phone};
use crate::engine::{Applied, Secs};
use crate::metrics::{RecordResult, ServiceStats};
use crate::model::{CallRecord, Finding, InputEvent};
use crate::service::routing::{Check, HeldCall};
use crate::service::{HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION};

/// Where the engine updates being synced come from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Input,
    /// A call bound by phone: its attempt is not activity for resolution.
    ResolvedByPhone,
}

impl Processor {
    /// The tenant's allowed lateness in seconds.
    pub(super) fn lateness(&self, tenant: &str) -> Secs {
        let lateness = self.config.tenant(tenant).rules.allowed_lateness;
        u32::try_from(lateness.as_secs()).unwrap_or(u32::MAX)
    }

    /// Tenant `name` as listed in `tenants` (listed now if it is new), with its allowed
    /// lateness: no allocation or configuration lookup per update.
    fn known_tenant(&mut self, name: &str) -> (Arc<str>, Secs) {
        if let Some((tenant, lateness)) = self.tenants.iter().find(|(t, _)| &**t == name) {
            return (Arc::clone(tenant), *lateness);
        }
        let entry = (Arc::<str>::from(name), self.lateness(name));
        self.tenants.push(entry.clone());
        entry
    }

    /// Moves task `partition`'s contact updates into the replica (written through), marks the
    /// leads for publication and schedules new leads' duplicate checks.
    pub(super) fn sync_contacts(&mut self, partition: i32, origin: Origin) {
        let mut updates = std::mem::take(&mut self.contact_updates);
        if let Some(task) = self.tasks.get_mut(&partition) {
            task.engine_mut().take_contact_updates(&mut updates);
        }
        for update in updates.drain(..) {
            if origin == Origin::ResolvedByPhone && update.is_attempt() {
                continue;
            }
            let effect = self.replica.write(partition, &update);
            let (tenant, lateness) = self.known_tenant(update.tenant());
            let lead_id: Arc<str> = update.lead_id().into();
            if let Some(task) = self.tasks.get_mut(&partition) {
                if let Effect::FirstEvent(at) = effect {
                    task.routing.schedule_check(Check {
                        due: at.saturating_add(lateness),
                        at,
                        tenant: Arc::clone(&tenant),
                        lead_id: Arc::clone(&lead_id),
                    });
                }
                task.routing.mark_dirty(tenant, lead_id);
            }
        }
        self.contact_updates = updates;
    }

    /// Takes a call of task `partition`'s calls partition read at `offset`: a call without
    /// `lead_id` whose phone is a number is held (or, when the global clock has passed it
    /// already, resolved at once) and `true` returned; any other is the engine's.
    pub(super) fn route_call(
        &mut self,
        partition: i32,
        offset: i64,
        call: &CallRecord<'static>,
    ) -> bool {
        let Some(due) = self.hold_due(call) else {
            return false;
        };
        if let Some(task) = self.tasks.get_mut(&partition) {
            task.routing.hold(due, offset, call.clone());
            task.observe(super::Input::Calls, offset, call.started_at, Instant::now());
        }
        true
    }

    /// When a held call of `tenant` that started `at` is released: once every partition's
    /// clock has passed `at` plus the tenant's allowed lateness.
    pub(super) fn release_due(&self, tenant: &str, at: Timestamp) -> Secs {
        at.as_compact_seconds()
            .saturating_add(self.lateness(tenant))
    }

    /// [`Processor::release_due`] of a call that is held for phone resolution; `None` for one
    /// that is not (it has a `lead_id`, or its phone is no number).
    fn hold_due(&self, call: &CallRecord<'_>) -> Option<Secs> {
        if call.lead_id.is_some() || parse_phone(&call.phone).is_none() {
            return None;
        }
        Some(self.release_due(call.tenant(), call.started_at))
    }

    /// A record of task `partition`'s calls partition read again after a restore, below how far
    /// it had been read (its offset was held back to a held call): it was applied, counted or
    /// dead-lettered in a committed batch, so only a call still held then is taken (held again).
    pub(super) fn reread_call(&mut self, partition: i32, offset: i64, item: Item) {
        if let Item::Leg(row) = item {
            self.retake_leg(partition, offset, *row);
        } else if let Item::Event(InputEvent::Call(call)) = item
            && let Some(due) = self.hold_due(&call)
            && let Some(task) = self.tasks.get_mut(&partition)
            && task.routing.was_held(due)
        {
            task.routing.hold(due, offset, call);
        }
    }

    /// Releases, in every task, the held calls and duplicate checks the global clock has passed,
    /// and folds the directory's history no router will ask about again.
    pub(super) fn release_routed(&mut self) {
        let Some(clock) = self.replica.global_clock() else {
            return;
        };
        let (now, wall) = (Instant::now(), wall_now());
        let partitions: Vec<i32> = self.tasks.keys().copied().collect();
        for partition in partitions {
            while let Some(call) = self
                .tasks
                .get_mut(&partition)
                .and_then(|t| t.routing.next_call(clock))
            {
                self.resolve_and_forward(partition, call);
            }
            while let Some(check) = self
                .tasks
                .get_mut(&partition)
                .and_then(|t| t.routing.next_check(clock))
            {
                self.duplicate_check(partition, &check);
            }
            // A router claims no release past the time its calls partition has reached (a call
            // it has not read yet is due after that, unless it is late anyway), nor past calls
            // still in its merger. The global clock alone would do on a broker that hides
            // aborted transactions; on one that does not (Tansu's SQLite store) the partition's
            // own marker can be ahead of its committed position.
            let reached = self.tasks.get(&partition).and_then(|t| {
                t.input_reached(super::Input::Calls, now, wall)
                    .map(Timestamp::as_compact_seconds)
            });
            let floor = self.legs_floor(partition).unwrap_or(Secs::MAX);
            if let (Some(task), Some(reached)) = (self.tasks.get_mut(&partition), reached) {
                task.routing.released_at(clock.min(reached).min(floor));
            }
        }
        self.send_findings();
        // Every router has released what was due before the least gate: history before it
        // (less each tenant's lateness) is asked about no more.
        let gate = self
            .tasks
            .values()
            .map(|t| t.routing.gate())
            .min()
            .flatten();
        if let Some(gate) = gate {
            for (tenant, lateness) in &self.tenants {
                let watermark = Timestamp::from_compact_seconds(gate.saturating_sub(*lateness));
                self.replica.prune(tenant, watermark);
            }
        }
    }

    /// Binds a released call by phone (unless it names its lead: a merged Asterisk call) and
    /// sends it to its lead's partition; one no open lead had the number of, or whose lead no
    /// partition holds, stays here: the engine counts it as unresolved or takes it.
    fn resolve_and_forward(&mut self, partition: i32, held: HeldCall) {
        let HeldCall { offset, mut call } = held;
        let tenant = call.tenant().to_owned();
        let lead = match &call.lead_id {
            Some(lead) => Some(Arc::from(lead.as_ref())),
            None => self
                .replica
                .directory()
                .resolve_phone(&tenant, &call.phone, call.started_at),
        };
        let owner = lead
            .as_ref()
            .and_then(|lead| self.replica.owner(&tenant, lead));
        let (Some(lead), Some(owner)) = (lead, owner) else {
            self.findings_cause = Instant::now();
            if let Some(task) = self.tasks.get_mut(&partition) {
                let applied = task.apply_resolved(&call, &mut self.findings);
                self.batch.tally.record(0, result_of(applied));
            }
            self.sync_contacts(partition, Origin::Input);
            return;
        };
        call.lead_id = Some(lead.to_string().into());
        let payload = match encode_call(&call, Encoding::Json) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(%error, call_id = %call.call_id, "cannot encode a resolved call");
                return;
            }
        };
        let topic = self.config.kafka.topics.resolved.clone();
        let key = entry_key(&tenant, &lead);
        // Where the call came from, for tracing (and the two-instance test).
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: HEADER_SOURCE_PARTITION,
                value: Some(&partition.to_string()),
            })
            .insert(Header {
                key: HEADER_SOURCE_OFFSET,
                value: Some(&offset.to_string()),
            });
        if self
            .send_to(
                &topic,
                Some(owner),
                Some(&key),
                Some(&payload),
                Some(headers),
            )
            .is_ok()
        {
            self.batch.dirty = true;
            ServiceStats::add(&self.stats.calls_forwarded, 1);
        }
    }

    /// A new lead's duplicate check, once the global clock has passed its first event.
    fn duplicate_check(&mut self, partition: i32, check: &Check) {
        let directory = self.replica.directory();
        let current = directory
            .entry(&check.tenant, &check.lead_id)
            .and_then(|e| e.first());
        if current.is_none_or(|(first, _)| first != check.at)
            || !self
                .replica
                .start_duplicate_check(&check.tenant, &check.lead_id)
        {
            return;
        }
        if let Some(task) = self.tasks.get_mut(&partition) {
            task.routing
                .mark_dirty(Arc::clone(&check.tenant), Arc::clone(&check.lead_id));
        }
        if let Some(duplicate) = self
            .replica
            .directory()
            .duplicate_of(&check.tenant, &check.lead_id)
        {
            let review = duplicate_review(&check.tenant, &check.lead_id, duplicate);
            self.findings.push(Finding::Qc(review));
        }
    }

    /// A record of the resolved-calls topic's partition `partition`: a router's release marker,
    /// or a call bound by phone to one of this task's leads.
    pub(super) fn handle_resolved(&mut self, partition: i32, message: &BorrowedMessage<'_>) {
        let key = message.key().map(decode_contact_key);
        match key {
            Some(Ok(ContactKey::Marker { partition: source })) => {
                match message.payload().map(decode_marker) {
                    Some(Ok(Marker {
                        released: Some(released),
                        ..
                    })) => {
                        if let (Some(task), Ok(source)) =
                            (self.tasks.get_mut(&partition), usize::try_from(source))
                        {
                            task.routing.source_released(source, released);
                        }
                    }
                    Some(Ok(_)) | None => {}
                    Some(Err(error)) => self.bad_resolved(partition, message, &error.to_string()),
                }
            }
            Some(Ok(ContactKey::Entry { .. })) => {
                let call = message.payload().map(decode_call);
                match call {
                    Some(Ok(call)) if call.lead_id.is_some() => {
                        self.findings_cause = Instant::now();
                        if let Some(task) = self.tasks.get_mut(&partition) {
                            let applied = task.apply_resolved(&call, &mut self.findings);
                            self.batch.tally.record(0, result_of(applied));
                        }
                        self.sync_contacts(partition, Origin::ResolvedByPhone);
                        self.send_findings();
                    }
                    Some(Ok(_)) => self.bad_resolved(partition, message, "a call without lead_id"),
                    Some(Err(error)) => self.bad_resolved(partition, message, &error.to_string()),
                    None => self.bad_resolved(partition, message, "no value"),
                }
            }
            Some(Err(error)) => self.bad_resolved(partition, message, &error.to_string()),
            None => self.bad_resolved(partition, message, "no key"),
        }
    }

    /// dozvon's own topic holds a record it cannot read: said loudly, skipped.
    fn bad_resolved(&mut self, partition: i32, message: &BorrowedMessage<'_>, reason: &str) {
        ServiceStats::add(&self.stats.internal_bad_records, 1);
        tracing::error!(
            topic = message.topic(),
            partition,
            offset = message.offset(),
            "unreadable record in dozvon's resolved-calls topic: {reason}"
        );
    }

    /// Publishes, for every task, the contact entries its batch changed, its clock marker to the
    /// contacts topic and its release marker to every resolved-calls partition (when changed
    /// or due for a refresh). Part of the batch: the same transaction as the inputs that caused
    /// them.
    pub(super) fn publish_contacts(&mut self) {
        let contacts = self.config.kafka.topics.contacts.clone();
        let resolved = self.config.kafka.topics.resolved.clone();
        let (now, wall) = (Instant::now(), wall_now());
        let partitions: Vec<i32> = self.tasks.keys().copied().collect();
        let count = i32::try_from(self.partitions).unwrap_or(i32::MAX);
        for partition in partitions {
            let Some(task) = self.tasks.get_mut(&partition) else {
                continue;
            };
            let dirty = task.routing.take_dirty();
            let clock = task.input_secs(now, wall);
            let contacts_marker = task.routing.contacts_marker_due(clock, now);
            let release_marker = task.routing.release_marker_due(now);
            // The entries are built in parts (`parts.rs`), then sent in order.
            let mut parts = std::mem::take(&mut self.record_parts);
            let directory = self.replica.directory();
            let filled = parts::build_in_parts(dirty.len(), &mut parts, |range, out| {
                for (tenant, lead_id) in &dirty[range] {
                    let entry = directory.entry_with_managers(tenant, lead_id);
                    push_entry(out, tenant, lead_id, entry);
                }
            });
            let mut sent = Ok(());
            for (key, value) in parts[..filled].iter().flat_map(Encoded::records) {
                sent = self.send_to(&contacts, Some(partition), Some(key), value, None);
                if sent.is_err() {
                    break;
                }
                self.batch.dirty = true;
            }
            for out in &mut parts {
                out.clear();
            }
            self.record_parts = parts;
            if sent.is_err() {
                return;
            }
            if let Some(marker) = contacts_marker {
                let (key, value) = (marker_key(partition), encode_marker(&marker));
                if self
                    .send_to(&contacts, Some(partition), Some(&key), Some(&value), None)
                    .is_err()
                {
                    return;
                }
                self.batch.dirty = true;
            }
            if let Some(released) = release_marker {
                let marker = Marker {
                    clock: None,
                    released: Some(released),
                };
                let (key, value) = (marker_key(partition), encode_marker(&marker));
                for to in 0..count {
                    if self
                        .send_to(&resolved, Some(to), Some(&key), Some(&value), None)
                        .is_err()
                    {
                        return;
                    }
                }
                self.batch.dirty = true;
            }
        }
    }
}

/// How an applied record is counted.
pub(super) fn result_of(applied: Applied) -> RecordResult {
    match applied {
        Applied::Ok => RecordResult::Ok,
        Applied::Late => RecordResult::Late,
        Applied::Duplicate => RecordResult::Duplicate,
        Applied::Unresolved => RecordResult::Unresolved,
    }
}
