//! One lead's contact entry: its phones and e-mails, and just enough history to answer "as of
//! time t" (existing? terminal? manager? last activity?) the same whatever order events came in.
//!
//! History at or after the directory's watermark is kept event by event (`recent`); what lies
//! before it is folded into a `base` (the latest event, the latest manager, the latest activity)
//! whenever the lead is updated, so an entry keeps about a lateness window of events. A question
//! about a time at or after the watermark therefore sees exactly the events up to that time,
//! however much was folded; one about an earlier time (a late call) sees the folded state.

use std::sync::Arc;

use crate::engine::Secs;

/// Most phones (and, separately, e-mails) kept per lead: the most recently reported ones.
pub const MAX_VALUES: usize = 4;

/// One phone or e-mail of a lead (normalised), with the first and last time it was reported
/// (`since` is 0 for a value reported after the watermark had passed its time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactValue {
    pub value: Box<str>,
    pub since: Secs,
    pub last: Secs,
}

/// A lead event reduced to what the questions need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub at: Secs,
    /// Orders events of equal time (the engine's hash of the event id).
    pub key: u64,
    pub terminal: bool,
    pub manager: Option<Arc<str>>,
}

impl Mark {
    fn order(&self) -> (Secs, u64) {
        (self.at, self.key)
    }
}

/// What a contact list did with a reported value: newly listed, and a value dropped for it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ValueChange {
    pub added: bool,
    pub dropped: Option<Box<str>>,
}

/// A lead as the contact directory knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactEntry {
    pub lead_id: Arc<str>,
    pub phones: Vec<ContactValue>,
    pub emails: Vec<ContactValue>,
    /// The earliest lead event (time, key) and the creation time it carries.
    pub first: Option<(Secs, u64)>,
    pub created: Secs,
    /// The latest lead event before the watermark, and the latest there that named a manager.
    pub base: Option<Mark>,
    pub base_manager: Option<((Secs, u64), Arc<str>)>,
    /// Lead events at or after the watermark, sorted by (time, key).
    pub recent: Vec<Mark>,
    /// The latest activity before the watermark; attempts at or after it.
    pub base_activity: Secs,
    pub recent_attempts: Vec<Secs>,
    /// The earliest time in `recent` or `recent_attempts` (`Secs::MAX`: none): folding is a
    /// no-op, touching nothing but this, until the watermark passes it.
    pub unfolded_from: Secs,
    /// The duplicate check of this lead has run.
    pub duplicate_checked: bool,
}

impl ContactEntry {
    pub fn new(lead_id: Arc<str>) -> Self {
        ContactEntry {
            lead_id,
            phones: Vec::new(),
            emails: Vec::new(),
            first: None,
            created: 0,
            base: None,
            base_manager: None,
            recent: Vec::new(),
            base_activity: 0,
            recent_attempts: Vec::new(),
            unfolded_from: Secs::MAX,
            duplicate_checked: false,
        }
    }

    /// Adds a lead event (folding first what lies before the watermark); returns `true` when
    /// it is the earliest event known so far.
    pub fn add_event(&mut self, mark: Mark, created: Secs, watermark: Secs) -> bool {
        self.prune(watermark);
        let earliest = self.first.is_none_or(|first| mark.order() < first);
        if earliest {
            self.first = Some(mark.order());
            self.created = created;
        }
        if mark.at < watermark {
            self.fold(mark);
        } else {
            match self
                .recent
                .binary_search_by(|m| m.order().cmp(&mark.order()))
            {
                Ok(_) => {} // the same event again
                Err(slot) => {
                    self.unfolded_from = self.unfolded_from.min(mark.at);
                    reserve_one(&mut self.recent);
                    self.recent.insert(slot, mark);
                }
            }
        }
        earliest
    }

    /// Adds an attempt (activity) at `at`.
    pub fn add_attempt(&mut self, at: Secs, watermark: Secs) {
        self.prune(watermark);
        if at < watermark {
            self.base_activity = self.base_activity.max(at);
        } else {
            self.unfolded_from = self.unfolded_from.min(at);
            reserve_one(&mut self.recent_attempts);
            self.recent_attempts.push(at);
        }
    }

    /// Folds an event before the watermark into the base.
    fn fold(&mut self, mark: Mark) {
        self.base_activity = self.base_activity.max(mark.at);
        if let Some(manager) = &mark.manager
            && self
                .base_manager
                .as_ref()
                .is_none_or(|(order, _)| mark.order() > *order)
        {
            self.base_manager = Some((mark.order(), Arc::clone(manager)));
        }
        if self.base.as_ref().is_none_or(|b| mark.order() > b.order()) {
            self.base = Some(mark);
        }
    }

    /// Folds everything before `watermark` into the base.
    pub fn prune(&mut self, watermark: Secs) {
        if watermark <= self.unfolded_from {
            return;
        }
        let split = self.recent.partition_point(|m| m.at < watermark);
        if split > 0 {
            let rest = self.recent.split_off(split);
            for mark in std::mem::replace(&mut self.recent, rest) {
                self.fold(mark);
            }
        }
        let mut latest = self.base_activity;
        self.recent_attempts.retain(|&at| {
            let keep = at >= watermark;
            if !keep {
                latest = latest.max(at);
            }
            keep
        });
        self.base_activity = latest;
        if self.recent_attempts.is_empty() {
            self.recent_attempts = Vec::new(); // `retain` keeps the allocation
        }
        let attempts = self.recent_attempts.iter().copied().min();
        self.unfolded_from = self
            .recent
            .first()
            .map(|m| m.at)
            .into_iter()
            .chain(attempts)
            .min()
            .unwrap_or(Secs::MAX);
    }

    /// The latest lead event at or before `t` (the base counts whatever `t`).
    fn latest_event(&self, t: Secs) -> Option<&Mark> {
        let upto = self.recent.partition_point(|m| m.at <= t);
        self.recent[..upto].last().or(self.base.as_ref())
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

    /// The manager named by the latest lead event at or before `t` that named one.
    pub fn manager_at(&self, t: Secs) -> Option<&Arc<str>> {
        let upto = self.recent.partition_point(|m| m.at <= t);
        self.recent[..upto]
            .iter()
            .rev()
            .find_map(|m| m.manager.as_ref())
            .or(self.base_manager.as_ref().map(|(_, m)| m))
    }

    /// The last activity (creation, stage change, attempt) at or before `t`.
    pub fn activity_at(&self, t: Secs) -> Secs {
        let events = self.latest_event(t).map_or(0, |m| m.at);
        let attempts = self
            .recent_attempts
            .iter()
            .copied()
            .filter(|&at| at <= t)
            .max()
            .unwrap_or(0);
        let created = if self.created <= t { self.created } else { 0 };
        self.base_activity.max(events).max(attempts).max(created)
    }

    pub fn has_phone_at(&self, phone: &str, t: Secs) -> bool {
        has_value_at(&self.phones, phone, t)
    }

    pub fn has_email_at(&self, email: &str, t: Secs) -> bool {
        has_value_at(&self.emails, email, t)
    }

    /// The phones / e-mails reported by `t`.
    pub fn phones_at(&self, t: Secs) -> impl Iterator<Item = &str> {
        values_at(&self.phones, t)
    }

    pub fn emails_at(&self, t: Secs) -> impl Iterator<Item = &str> {
        values_at(&self.emails, t)
    }
}

fn has_value_at(values: &[ContactValue], value: &str, t: Secs) -> bool {
    values.iter().any(|v| &*v.value == value && v.since <= t)
}

fn values_at(values: &[ContactValue], t: Secs) -> impl Iterator<Item = &str> {
    values
        .iter()
        .filter(move |v| v.since <= t)
        .map(|v| &*v.value)
}

/// Records `value` reported at `at` in a list capped at [`MAX_VALUES`]: beyond it, the value
/// reported least recently (then the greatest) is dropped, which keeps the most recently
/// reported values whatever the arrival order.
pub fn add_value(
    values: &mut Vec<ContactValue>,
    value: &str,
    at: Secs,
    watermark: Secs,
) -> ValueChange {
    let since = if at < watermark { 0 } else { at };
    if let Some(known) = values.iter_mut().find(|v| &*v.value == value) {
        known.since = known.since.min(since);
        known.last = known.last.max(at);
        return ValueChange::default();
    }
    reserve_one(values);
    values.push(ContactValue {
        value: value.into(),
        since,
        last: at,
    });
    if values.len() <= MAX_VALUES {
        return ValueChange {
            added: true,
            dropped: None,
        };
    }
    let oldest = values
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| a.last.cmp(&b.last).then_with(|| b.value.cmp(&a.value)))
        .map_or(0, |(i, _)| i);
    let dropped = values.swap_remove(oldest).value;
    if &*dropped == value {
        ValueChange::default()
    } else {
        ValueChange {
            added: true,
            dropped: Some(dropped),
        }
    }
}

/// Makes room for one more element without the doubling growth of `push`: an entry's lists
/// hold a few elements for as long as the lead is tracked, and one element in a `Vec` grown to
/// its minimum capacity of 4 leaves three unused (72 bytes of a phone list, 96 of the marks),
/// per lead, in every replica.
fn reserve_one<T>(values: &mut Vec<T>) {
    if values.len() == values.capacity() {
        values.reserve_exact(1);
    }
}
