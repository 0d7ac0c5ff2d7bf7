//! One lead's contact entry as the directory stores it: phones and e-mails, and just enough history to answer "as of time t" the same whatever order events came in.
//
// History at or after the directory's watermark is kept event by event (the marks); what lies
// before it is folded into a base (the latest event, the latest manager, the latest activity)
// whenever the lead is updated, so an entry keeps about a lateness window of events. A question
// about a time at or after the watermark therefore sees exactly the events up to that time,
// however much was folded; one about an earlier time (a late call) sees the folded state.
//
// Layout: the fixed fields here (80 bytes, managers as tenant symbols) and everything of
// variable length in one packed allocation (`tail`). `wire.rs` converts to and from the
// `ContactEntry` the contacts topic carries.

use crate::engine::Secs;

use super::managers::Sym;
use super::tail::{self, Attempts, Marks, PackedMark, PackedValue, Sections, Values};

/// Most phones (and, separately, e-mails) kept per lead: the most recently reported ones.
pub const MAX_VALUES: usize = 4;

/// What a contact list did with a reported value: newly listed, and a value dropped for it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ValueChange {
    pub added: bool,
    pub dropped: Option<Box<str>>,
}

/// Which of an entry's lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Phones,
    Emails,
}

const FIRST: u8 = 1;
const BASE: u8 = 2;
const BASE_TERMINAL: u8 = 4;
const CHECKED: u8 = 8;

/// A lead as the contact directory keeps it, with the input partition that owns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// The earliest lead event (time, key); `created` is the creation time it carries.
    pub(super) first_key: u64,
    pub(super) first_at: Secs,
    pub(super) created: Secs,
    /// The latest lead event before the watermark (`BASE`, `BASE_TERMINAL`).
    pub(super) base_key: u64,
    pub(super) base_at: Secs,
    pub(super) base_who: Sym,
    /// The latest lead event before the watermark that named a manager (`named_who` 0: none).
    pub(super) named_key: u64,
    pub(super) named_at: Secs,
    pub(super) named_who: Sym,
    /// The latest activity before the watermark.
    pub(super) base_activity: Secs,
    /// The earliest unfolded mark or attempt (`Secs::MAX`: none): folding is a no-op, touching
    /// nothing but this, until the watermark passes it.
    pub(super) unfolded_from: Secs,
    /// The input partition that last wrote the entry (0 outside the service).
    pub(super) owner: i32,
    /// Lead id, marks at or after the watermark (sorted by (at, key)), attempts at or after it,
    /// phones, e-mails (`tail.rs`).
    pub(super) tail: Box<[u8]>,
    pub(super) flags: u8,
}

impl StoredEntry {
    pub fn new(lead_id: &str, owner: i32) -> Self {
        let tail = tail::pack(Sections {
            id: lead_id.as_bytes(),
            marks: &[],
            attempts: &[],
            phones: (0, &[]),
            emails: (0, &[]),
        });
        Self::with_tail(tail, owner)
    }

    /// An entry with no history, its lead id and lists packed in `tail` already.
    pub(super) fn with_tail(tail: Box<[u8]>, owner: i32) -> Self {
        StoredEntry {
            first_key: 0,
            first_at: 0,
            created: 0,
            base_key: 0,
            base_at: 0,
            base_who: 0,
            named_key: 0,
            named_at: 0,
            named_who: 0,
            base_activity: 0,
            unfolded_from: Secs::MAX,
            owner,
            tail,
            flags: 0,
        }
    }

    pub fn lead_id(&self) -> &str {
        tail::id(&self.tail)
    }

    pub(super) fn lead_id_bytes(&self) -> &[u8] {
        tail::id_bytes(&self.tail)
    }

    pub fn owner(&self) -> i32 {
        self.owner
    }

    /// The earliest lead event known: (time, key).
    pub fn first(&self) -> Option<(Secs, u64)> {
        (self.flags & FIRST != 0).then_some((self.first_at, self.first_key))
    }

    pub fn created(&self) -> Secs {
        self.created
    }

    /// The duplicate check of this lead has run.
    pub fn duplicate_checked(&self) -> bool {
        self.flags & CHECKED != 0
    }

    /// Marks the duplicate check as run; `false` if it had run already.
    pub fn start_duplicate_check(&mut self) -> bool {
        let was = self.duplicate_checked();
        self.flags |= CHECKED;
        !was
    }

    /// The latest lead event before the watermark.
    pub fn base(&self) -> Option<PackedMark> {
        (self.flags & BASE != 0).then_some(PackedMark {
            at: self.base_at,
            key: self.base_key,
            who: self.base_who,
            terminal: self.flags & BASE_TERMINAL != 0,
        })
    }

    /// The latest lead event before the watermark that named a manager: (order, manager).
    pub fn base_manager(&self) -> Option<((Secs, u64), Sym)> {
        (self.named_who != 0).then_some(((self.named_at, self.named_key), self.named_who))
    }

    pub fn base_activity(&self) -> Secs {
        self.base_activity
    }

    pub fn unfolded_from(&self) -> Secs {
        self.unfolded_from
    }

    /// Lead events at or after the watermark, sorted by (time, key).
    pub fn recent(&self) -> Marks<'_> {
        tail::parts(&self.tail).marks
    }

    /// Attempts at or after the watermark, in the order they came.
    pub fn recent_attempts(&self) -> Attempts<'_> {
        tail::parts(&self.tail).attempts
    }

    /// The phones (or e-mails) with the first and last time each was reported (`since` is 0
    /// for a value reported after the watermark had passed its time).
    pub fn values(&self, list: List) -> impl Iterator<Item = PackedValue<'_>> {
        self.list(list).iter()
    }

    /// How many values `list` holds.
    pub fn value_count(&self, list: List) -> usize {
        self.list(list).count
    }

    fn list(&self, list: List) -> Values<'_> {
        let parts = tail::parts(&self.tail);
        match list {
            List::Phones => parts.phones,
            List::Emails => parts.emails,
        }
    }

    /// Adds a lead event (folding first what lies before the watermark); returns `true` when
    /// it is the earliest event known so far.
    pub fn add_event(&mut self, mark: PackedMark, created: Secs, watermark: Secs) -> bool {
        self.prune(watermark);
        let earliest = self.first().is_none_or(|first| mark.order() < first);
        if earliest {
            self.set_first(mark.at, mark.key);
            self.created = created;
        }
        if mark.at < watermark {
            self.fold(mark);
            return earliest;
        }
        let parts = tail::parts(&self.tail);
        let marks = parts.marks;
        let slot = marks.partition_point(|m| m.order() < mark.order());
        if marks.get(slot).is_some_and(|m| m.order() == mark.order()) {
            return earliest; // the same event again
        }
        let at = parts.marks_at + slot * tail::MARK;
        let mut counts = parts.counts();
        counts[0] += 1;
        let tail = std::mem::take(&mut self.tail);
        self.tail = tail::splice(tail, &[(at..at, &mark.bytes())], counts);
        self.unfolded_from = self.unfolded_from.min(mark.at);
        earliest
    }

    /// Adds an attempt (activity) at `at`.
    pub fn add_attempt(&mut self, at: Secs, watermark: Secs) {
        self.prune(watermark);
        if at < watermark {
            self.base_activity = self.base_activity.max(at);
            return;
        }
        let parts = tail::parts(&self.tail);
        let end = parts.attempts_at + parts.attempts.0.len();
        let mut counts = parts.counts();
        counts[1] += 1;
        let tail = std::mem::take(&mut self.tail);
        self.tail = tail::splice(tail, &[(end..end, &at.to_le_bytes())], counts);
        self.unfolded_from = self.unfolded_from.min(at);
    }

    /// Folds an event before the watermark into the base.
    fn fold(&mut self, mark: PackedMark) {
        self.base_activity = self.base_activity.max(mark.at);
        if mark.who != 0
            && self
                .base_manager()
                .is_none_or(|(order, _)| mark.order() > order)
        {
            (self.named_at, self.named_key) = mark.order();
            self.named_who = mark.who;
        }
        if self.base().is_none_or(|b| mark.order() > b.order()) {
            self.set_base(mark);
        }
    }

    pub(super) fn set_first(&mut self, at: Secs, key: u64) {
        (self.first_at, self.first_key) = (at, key);
        self.flags |= FIRST;
    }

    pub(super) fn set_base(&mut self, mark: PackedMark) {
        (self.base_at, self.base_key, self.base_who) = (mark.at, mark.key, mark.who);
        self.flags |= BASE;
        if mark.terminal {
            self.flags |= BASE_TERMINAL;
        } else {
            self.flags &= !BASE_TERMINAL;
        }
    }

    /// Folds everything before `watermark` into the base.
    pub fn prune(&mut self, watermark: Secs) {
        if watermark <= self.unfolded_from {
            return;
        }
        let old = std::mem::take(&mut self.tail);
        let parts = tail::parts(&old);
        let split = parts.marks.partition_point(|m| m.at < watermark);
        for mark in parts.marks.head(split).iter() {
            self.fold(mark);
        }
        let folds_attempts = parts.attempts.iter().any(|at| at < watermark);
        let mut kept = Vec::new();
        if folds_attempts {
            let mut latest = self.base_activity;
            for at in parts.attempts.iter() {
                if at < watermark {
                    latest = latest.max(at);
                } else {
                    kept.extend_from_slice(&at.to_le_bytes());
                }
            }
            self.base_activity = latest;
        }
        let attempts = tail::Attempts(&kept);
        let attempts = if folds_attempts {
            attempts
        } else {
            parts.attempts
        };
        self.unfolded_from = parts
            .marks
            .get(split)
            .map(|m| m.at)
            .into_iter()
            .chain(attempts.iter().min())
            .min()
            .unwrap_or(Secs::MAX);
        if split == 0 && !folds_attempts {
            self.tail = old;
            return;
        }
        let mut counts = parts.counts();
        counts[0] -= split;
        counts[1] = attempts.len();
        let folded_marks = parts.marks_at..parts.marks_at + split * tail::MARK;
        let old_attempts = parts.attempts_at..parts.attempts_at + parts.attempts.0.len();
        let edits = if folds_attempts {
            [(folded_marks, &[][..]), (old_attempts, &kept[..])]
        } else {
            [
                (folded_marks, &[][..]),
                (old_attempts.end..old_attempts.end, &[][..]),
            ]
        };
        self.tail = tail::splice(old, &edits, counts);
    }

    /// The latest lead event at or before `t` (the base counts whatever `t`).
    fn latest_event(&self, t: Secs) -> Option<PackedMark> {
        let marks = self.recent();
        let upto = marks.partition_point(|m| m.at <= t);
        upto.checked_sub(1)
            .and_then(|i| marks.get(i))
            .or_else(|| self.base())
    }

    /// The lead had a lead event by `t`.
    pub fn exists_at(&self, t: Secs) -> bool {
        self.latest_event(t).is_some()
    }

    /// The lead was in a terminal stage at `t` (`None`: it did not exist yet).
    pub fn terminal_at(&self, t: Secs) -> Option<bool> {
        self.latest_event(t).map(|m| m.terminal)
    }

    /// The lead exists and is not terminal at `t`.
    pub fn open_at(&self, t: Secs) -> bool {
        self.terminal_at(t) == Some(false)
    }

    /// The manager named by the latest lead event at or before `t` that named one (0: none).
    pub fn manager_at(&self, t: Secs) -> Sym {
        let marks = self.recent();
        let upto = marks.partition_point(|m| m.at <= t);
        marks
            .head(upto)
            .iter()
            .rev()
            .map(|m| m.who)
            .find(|&who| who != 0)
            .unwrap_or(self.named_who)
    }

    /// The last activity (creation, stage change, attempt) at or before `t`.
    pub fn activity_at(&self, t: Secs) -> Secs {
        let events = self.latest_event(t).map_or(0, |m| m.at);
        let attempts = self
            .recent_attempts()
            .iter()
            .filter(|&at| at <= t)
            .max()
            .unwrap_or(0);
        let created = if self.created <= t { self.created } else { 0 };
        self.base_activity.max(events).max(attempts).max(created)
    }

    /// `value` was on the list by `t`.
    pub fn has_value_at(&self, list: List, value: &str, t: Secs) -> bool {
        self.values(list)
            .any(|v| v.text == value.as_bytes() && v.since <= t)
    }

    /// The phones / e-mails reported by `t`.
    pub fn values_at(&self, list: List, t: Secs) -> impl Iterator<Item = &str> {
        self.values(list)
            .filter(move |v| v.since <= t)
            .map(|v| std::str::from_utf8(v.text).unwrap_or_default())
    }

    /// Records `value` reported at `at` in a list capped at [`MAX_VALUES`]: beyond it, the
    /// value reported least recently (then the greatest) is dropped, which keeps the most
    /// recently reported values whatever the arrival order.
    pub fn add_value(&mut self, list: List, value: &str, at: Secs, watermark: Secs) -> ValueChange {
        let since = if at < watermark { 0 } else { at };
        let values = self.list(list);
        if let Some(known) = values.iter().find(|v| v.text == value.as_bytes()) {
            let (since, last, times) = (known.since.min(since), known.last.max(at), known.times_at);
            tail::set_u32(&mut self.tail, times, since);
            tail::set_u32(&mut self.tail, times + 4, last);
            return ValueChange::default();
        }
        let new = tail::value_bytes(value, since, at);
        if values.count < MAX_VALUES {
            let end = values.at + values.bytes.len();
            let mut counts = tail::parts(&self.tail).counts();
            counts[match list {
                List::Phones => 2,
                List::Emails => 3,
            }] += 1;
            let tail = std::mem::take(&mut self.tail);
            self.tail = tail::splice(tail, &[(end..end, &new)], counts);
            return ValueChange {
                added: true,
                dropped: None,
            };
        }
        // As a `Vec`'s push and `swap_remove` would: the last value takes the dropped one's place.
        let mut all: Vec<(&[u8], Secs, &[u8])> =
            values.iter().map(|v| (v.text, v.last, v.raw)).collect();
        all.push((value.as_bytes(), at, &new));
        let oldest = all
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
            .map_or(0, |(i, _)| i);
        let (dropped, _, _) = all.swap_remove(oldest);
        if dropped == value.as_bytes() {
            return ValueChange::default(); // the new value itself: the list is as it was
        }
        let dropped: Box<str> = std::str::from_utf8(dropped).unwrap_or_default().into();
        let pieces: Vec<&[u8]> = all.iter().map(|(_, _, raw)| *raw).collect();
        self.tail = self.repacked_list(list, pieces.len(), &pieces);
        ValueChange {
            added: true,
            dropped: Some(dropped),
        }
    }

    fn repacked_list(&self, list: List, count: usize, pieces: &[&[u8]]) -> Box<[u8]> {
        let parts = tail::parts(&self.tail);
        match list {
            List::Phones => parts.pack_with(None, None, Some((count, pieces)), None),
            List::Emails => parts.pack_with(None, None, None, Some((count, pieces))),
        }
    }
}
