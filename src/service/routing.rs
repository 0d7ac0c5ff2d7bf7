//! A task's share of phone resolution in the service: its calls without `lead_id` held until
//! every partition's clock has passed them, its new leads' duplicate checks, the contact
//! entries it must publish, and the routers' release markers that gate its engine clock.
//!
//! Pure bookkeeping (no Kafka): `processor/contacts.rs` moves the records. Design:
//! docs/contacts.md, "Service design".

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::changelog::Marker;
use crate::engine::Secs;
use crate::keyhash::Set as KeySet;
use crate::model::CallRecord;

/// How often markers are published again although unchanged: a task restored elsewhere reads
/// its gate from markers that arrive after its committed offset.
pub const MARKER_REFRESH: Duration = Duration::from_secs(1);

/// A call without `lead_id` waiting for the global clock.
#[derive(Debug)]
struct Held {
    /// The call's time plus its tenant's allowed lateness: released once the global clock
    /// passes it.
    due: Secs,
    offset: i64,
    call: CallRecord<'static>,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.offset) == (other.due, other.offset)
    }
}

impl Eq for Held {}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.offset).cmp(&(other.due, other.offset))
    }
}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A released call and the offset it was read at.
#[derive(Debug)]
pub struct HeldCall {
    pub offset: i64,
    pub call: CallRecord<'static>,
}

/// A lead's duplicate check: due when the global clock passes its first event plus lateness.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Check {
    pub due: Secs,
    pub at: Secs,
    pub tenant: Arc<str>,
    pub lead_id: Arc<str>,
}

/// A lead whose contact entry changed since the last commit.
pub type Dirty = (Arc<str>, Arc<str>);

/// One task's phone-resolution state.
#[derive(Debug)]
pub struct Routing {
    held: BinaryHeap<Reverse<Held>>,
    held_offsets: BTreeSet<i64>,
    checks: BinaryHeap<Reverse<Check>>,
    dirty: KeySet<Dirty>,
    /// How far this task's router has released (the global clock it last released at).
    released: Option<Secs>,
    /// After a restore whose calls offset was held back: the offset the calls partition had
    /// been read up to. Until it is read that far again, calls held before the restore are
    /// not all back, so the router claims no release.
    catching_up: Option<i64>,
    /// What was last published, and when.
    contacts_marker: Option<(Marker, Instant)>,
    release_marker: Option<(Secs, Instant)>,
    /// The release marker of every router (source partition), as read from this task's
    /// partition of the resolved-calls topic.
    sources: Vec<Option<Secs>>,
}

impl Routing {
    /// The state of a task among `partitions` partitions.
    pub fn new(partitions: usize) -> Self {
        Routing {
            held: BinaryHeap::new(),
            held_offsets: BTreeSet::new(),
            checks: BinaryHeap::new(),
            dirty: KeySet::default(),
            released: None,
            catching_up: None,
            contacts_marker: None,
            release_marker: None,
            sources: vec![None; partitions],
        }
    }

    /// Holds a call read at `offset` until the global clock passes `due`.
    pub fn hold(&mut self, due: Secs, offset: i64, call: CallRecord<'static>) {
        self.held_offsets.insert(offset);
        self.held.push(Reverse(Held { due, offset, call }));
    }

    /// The next held call the global clock `clock` has passed.
    pub fn next_call(&mut self, clock: Secs) -> Option<HeldCall> {
        if self.held.peek().is_none_or(|Reverse(h)| h.due >= clock) {
            return None;
        }
        let Reverse(held) = self.held.pop()?;
        self.held_offsets.remove(&held.offset);
        Some(HeldCall {
            offset: held.offset,
            call: held.call,
        })
    }

    /// Calls waiting.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The offset of the earliest call still held: the committed position of the calls
    /// partition may not pass it, so a restart reads it again.
    pub fn earliest_held_offset(&self) -> Option<i64> {
        self.held_offsets.first().copied()
    }

    pub fn schedule_check(&mut self, check: Check) {
        self.checks.push(Reverse(check));
    }

    /// The next duplicate check the global clock `clock` has passed.
    pub fn next_check(&mut self, clock: Secs) -> Option<Check> {
        if self.checks.peek().is_none_or(|Reverse(c)| c.due >= clock) {
            return None;
        }
        self.checks.pop().map(|Reverse(check)| check)
    }

    /// The router has released everything due before `clock` (unless it is still reading
    /// again calls it held before a restore).
    pub fn released_at(&mut self, clock: Secs) {
        if self.catching_up.is_none() {
            self.released = Some(self.released.map_or(clock, |r| r.max(clock)));
        }
    }

    /// A restored router: its calls partition had been read up to `read` (exclusive) before
    /// the restore, past the committed offset (held back to a held call), and it had released
    /// everything due before `released`. Until it reads that far again it claims no further
    /// release (calls held before the restore are not all back yet); it releases held calls
    /// meanwhile, so that its committed offset moves on (a call it forwards then and reads
    /// again after another restore is forwarded twice: its owner ignores the repeat).
    pub fn catch_up_to(&mut self, read: i64, released: Option<Secs>) {
        self.catching_up = Some(read);
        self.released = released;
    }

    /// Whether the call at `offset` was read before the restore (and its batch committed).
    pub fn rereads(&self, offset: i64) -> bool {
        self.catching_up.is_some_and(|read| offset < read)
    }

    /// Whether a call read again, due at `due`, was still held when the batch committed: the
    /// router had released every call due before its release then.
    pub fn was_held(&self, due: Secs) -> bool {
        self.released.is_none_or(|released| due >= released)
    }

    /// How far the calls partition was read, at least (committed with a held-back offset).
    pub fn read_at_least(&self) -> Option<i64> {
        self.catching_up
    }

    /// How far the router has released.
    pub fn released(&self) -> Option<Secs> {
        self.released
    }

    /// The calls partition has been read up to `next` (exclusive).
    pub fn calls_read_to(&mut self, next: i64) {
        if self.catching_up.is_some_and(|read| next >= read) {
            self.catching_up = None;
        }
    }

    pub fn mark_dirty(&mut self, tenant: Arc<str>, lead_id: Arc<str>) {
        self.dirty.insert((tenant, lead_id));
    }

    /// The leads whose entries must be published, in order, emptied. (A hash set while
    /// marking: one hash per update instead of string comparisons down a tree; sorted once.)
    pub fn take_dirty(&mut self) -> Vec<Dirty> {
        let mut dirty: Vec<Dirty> = self.dirty.drain().collect();
        dirty.sort_unstable();
        dirty
    }

    /// The contacts-topic marker to publish now (changed, or unchanged for `MARKER_REFRESH`),
    /// for the task's input clock `clock`.
    pub fn contacts_marker_due(&mut self, clock: Option<Secs>, now: Instant) -> Option<Marker> {
        let marker = Marker {
            clock: Some(clock?),
            released: self.released,
        };
        let due = self
            .contacts_marker
            .is_none_or(|(last, at)| last != marker || now.duration_since(at) >= MARKER_REFRESH);
        if due {
            self.contacts_marker = Some((marker, now));
        }
        due.then_some(marker)
    }

    /// The release marker to publish to every partition of the resolved-calls topic now.
    pub fn release_marker_due(&mut self, now: Instant) -> Option<Secs> {
        let released = self.released?;
        let due = self
            .release_marker
            .is_none_or(|(last, at)| last != released || now.duration_since(at) >= MARKER_REFRESH);
        if due {
            self.release_marker = Some((released, now));
        }
        due.then_some(released)
    }

    /// Router `source` has released everything due before `released`.
    pub fn source_released(&mut self, source: usize, released: Secs) {
        if let Some(slot) = self.sources.get_mut(source) {
            *slot = Some(slot.map_or(released, |r| r.max(released)));
        }
    }

    /// The release markers read so far, to be restored with [`Routing::restore_sources`].
    pub fn sources(&self) -> &[Option<Secs>] {
        &self.sources
    }

    /// Takes the release markers a task of this partition had read by its last commit: they
    /// precede the committed offset, so they are not read again after a rewind.
    pub fn restore_sources(&mut self, sources: &[Option<Secs>]) {
        for (source, released) in sources.iter().enumerate() {
            if let Some(released) = released {
                self.source_released(source, *released);
            }
        }
    }

    /// The least release marker over every router: the engine clock may not pass it, since
    /// calls before it may still be on their way here. `None` until every router has spoken.
    pub fn gate(&self) -> Option<Secs> {
        self.sources
            .iter()
            .try_fold(Secs::MAX, |gate, source| source.map(|s| gate.min(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Direction, Disposition, Timestamp};
    use std::borrow::Cow;

    fn call(id: &str) -> CallRecord<'static> {
        CallRecord {
            call_id: Cow::Owned(id.to_owned()),
            tenant: None,
            lead_id: None,
            phone: Cow::Borrowed("+7 916 111-11-11"),
            manager_id: None,
            direction: Direction::Outbound,
            started_at: Timestamp::from_compact_seconds(100),
            talk_seconds: 0,
            disposition: Disposition::NoAnswer,
            recording_url: None,
        }
    }

    #[test]
    fn held_calls_leave_in_due_order_and_hold_the_offset_back() {
        let mut r = Routing::new(2);
        r.hold(700, 5, call("a"));
        r.hold(600, 9, call("b"));
        assert_eq!(r.earliest_held_offset(), Some(5));
        assert!(r.next_call(600).is_none(), "due 600 is not before 600");
        let b = r.next_call(601).map(|h| h.call.call_id.into_owned());
        assert_eq!(b.as_deref(), Some("b"));
        assert!(r.next_call(601).is_none());
        assert_eq!(r.earliest_held_offset(), Some(5));
        assert!(r.next_call(701).is_some());
        assert_eq!((r.held(), r.earliest_held_offset()), (0, None));
    }

    #[test]
    fn the_gate_waits_for_every_router_and_is_their_minimum() {
        let mut r = Routing::new(3);
        r.source_released(0, 500);
        r.source_released(2, 400);
        assert_eq!(r.gate(), None);
        r.source_released(1, 450);
        assert_eq!(r.gate(), Some(400));
        r.source_released(2, 300); // an older marker read again changes nothing
        assert_eq!(r.gate(), Some(400));
        r.source_released(2, 900);
        assert_eq!(r.gate(), Some(450));
    }

    #[test]
    fn markers_are_published_when_changed_and_refreshed() {
        let mut r = Routing::new(1);
        let t0 = Instant::now();
        assert_eq!(r.contacts_marker_due(None, t0), None, "no clock yet");
        let first = r.contacts_marker_due(Some(10), t0);
        assert_eq!(
            first,
            Some(Marker {
                clock: Some(10),
                released: None
            })
        );
        assert_eq!(r.contacts_marker_due(Some(10), t0), None);
        assert!(r.contacts_marker_due(Some(11), t0).is_some());
        assert!(
            r.contacts_marker_due(Some(11), t0 + MARKER_REFRESH)
                .is_some()
        );
        assert_eq!(r.release_marker_due(t0), None, "nothing released yet");
        r.released_at(50);
        assert_eq!(r.release_marker_due(t0), Some(50));
        assert_eq!(r.release_marker_due(t0), None);
        assert_eq!(r.release_marker_due(t0 + MARKER_REFRESH), Some(50));
    }

    #[test]
    fn a_restored_router_claims_no_release_before_reading_its_held_calls_again() {
        let mut r = Routing::new(1);
        r.catch_up_to(20, Some(40));
        assert!(r.rereads(19) && !r.rereads(20));
        assert!(!r.was_held(39) && r.was_held(40));
        r.hold(45, 19, call("held"));
        assert_eq!(
            r.next_call(50).map(|h| h.offset),
            Some(19),
            "released meanwhile"
        );
        r.released_at(50);
        let t0 = Instant::now();
        assert_eq!(
            r.release_marker_due(t0),
            Some(40),
            "the committed claim stands"
        );
        r.calls_read_to(19);
        r.released_at(50);
        assert_eq!(r.release_marker_due(t0), None, "offset 19 not read yet");
        r.calls_read_to(20);
        r.released_at(50);
        assert_eq!(r.release_marker_due(t0), Some(50));
    }
}
