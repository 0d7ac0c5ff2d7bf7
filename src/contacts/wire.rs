//! A contact entry as the contacts topic carries it (`schemas/contact_entry.avsc`): manager ids as strings, lists as `Vec`s; and its conversion to and from the stored entry.

use std::sync::Arc;

use super::entry::{List, StoredEntry};
use super::managers::Managers;
use super::tail::{self, MARK, PackedMark, Sections};
use crate::engine::Secs;

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

/// A lead's contact entry, field by field as published (see [`StoredEntry`] for the meaning).
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
    /// The earliest time in `recent` or `recent_attempts` (`Secs::MAX`: none).
    pub unfolded_from: Secs,
    /// The duplicate check of this lead has run.
    pub duplicate_checked: bool,
}

impl ContactEntry {
    /// An entry with nothing but its lead id.
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
}

fn packed_mark(mark: &Mark, managers: &mut Managers) -> PackedMark {
    PackedMark {
        at: mark.at,
        key: mark.key,
        who: managers.intern(mark.manager.as_deref()),
        terminal: mark.terminal,
    }
}

fn wire_mark(mark: PackedMark, managers: &Managers) -> Mark {
    Mark {
        at: mark.at,
        key: mark.key,
        terminal: mark.terminal,
        manager: managers.name(mark.who).cloned(),
    }
}

fn packed_values(values: &[ContactValue]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for v in values {
        bytes.extend_from_slice(&tail::value_bytes(&v.value, v.since, v.last));
    }
    bytes
}

impl StoredEntry {
    /// The stored form of `entry`, its managers interned in `managers`, owned by `owner`.
    pub fn from_wire(entry: &ContactEntry, managers: &mut Managers, owner: i32) -> Self {
        let mut marks = Vec::with_capacity(entry.recent.len() * MARK);
        for mark in &entry.recent {
            marks.extend_from_slice(&packed_mark(mark, managers).bytes());
        }
        let attempts: Vec<u8> = entry
            .recent_attempts
            .iter()
            .flat_map(|at| at.to_le_bytes())
            .collect();
        let (phones, emails) = (packed_values(&entry.phones), packed_values(&entry.emails));
        let tail = tail::pack(Sections {
            id: entry.lead_id.as_bytes(),
            marks: &[&marks],
            attempts: &[&attempts],
            phones: (entry.phones.len(), &[&phones]),
            emails: (entry.emails.len(), &[&emails]),
        });
        let mut stored = StoredEntry::with_tail(tail, owner);
        if let Some((at, key)) = entry.first {
            stored.set_first(at, key);
        }
        stored.created = entry.created;
        if let Some(base) = &entry.base {
            stored.set_base(packed_mark(base, managers));
        }
        if let Some(((at, key), manager)) = &entry.base_manager {
            stored.named_at = *at;
            stored.named_key = *key;
            stored.named_who = managers.intern(Some(manager));
        }
        stored.base_activity = entry.base_activity;
        stored.unfolded_from = entry.unfolded_from;
        if entry.duplicate_checked {
            stored.start_duplicate_check();
        }
        stored
    }

    /// The entry as published, manager symbols named from `managers`.
    pub fn to_wire(&self, managers: &Managers) -> ContactEntry {
        let values = |list| {
            self.values(list)
                .map(|v| ContactValue {
                    value: v.as_str().into(),
                    since: v.since,
                    last: v.last,
                })
                .collect()
        };
        ContactEntry {
            lead_id: self.lead_id().into(),
            phones: values(List::Phones),
            emails: values(List::Emails),
            first: self.first(),
            created: self.created(),
            base: self.base().map(|m| wire_mark(m, managers)),
            base_manager: self.base_manager().and_then(|(order, who)| {
                let name = managers.name(who)?;
                Some((order, Arc::clone(name)))
            }),
            recent: self
                .recent()
                .iter()
                .map(|m| wire_mark(m, managers))
                .collect(),
            base_activity: self.base_activity(),
            recent_attempts: self.recent_attempts().iter().collect(),
            unfolded_from: self.unfolded_from(),
            duplicate_checked: self.duplicate_checked(),
        }
    }
}
