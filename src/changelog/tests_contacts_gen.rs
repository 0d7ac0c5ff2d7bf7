//! Generators of contact entries and markers for the contacts topic's tests.

use std::sync::Arc;

use proptest::prelude::*;

use super::Marker;
use crate::contacts::{ContactEntry, ContactValue, List, Managers, Mark, PackedMark, StoredEntry};

/// One step of a lead's history, applied through `ContactEntry`'s own methods.
#[derive(Clone, Debug)]
enum Op {
    Event {
        at: u32,
        key: u64,
        terminal: bool,
        manager: Option<u8>,
        created: u32,
    },
    Attempt(u32),
    Phone(u8, u32),
    Email(u8, u32),
    Prune,
    Check,
}

fn op() -> impl Strategy<Value = (Op, u32)> {
    let op = prop_oneof![
        (
            0u32..3000,
            any::<u64>(),
            any::<bool>(),
            any::<Option<u8>>(),
            0u32..3000
        )
            .prop_map(|(at, key, terminal, manager, created)| Op::Event {
                at,
                key,
                terminal,
                manager: manager.map(|m| m % 5),
                created,
            }),
        (0u32..3000).prop_map(Op::Attempt),
        (any::<u8>(), 0u32..3000).prop_map(|(v, at)| Op::Phone(v % 8, at)),
        (any::<u8>(), 0u32..3000).prop_map(|(v, at)| Op::Email(v % 8, at)),
        Just(Op::Prune),
        Just(Op::Check),
    ];
    (op, 0u32..300)
}

/// An entry built by the directory's own operations, times offset from `origin`.
fn built() -> impl Strategy<Value = ContactEntry> {
    (
        "\\PC{0,12}",
        0u32..=u32::MAX - 20_000,
        proptest::collection::vec(op(), 0..40),
    )
        .prop_map(|(lead_id, origin, ops)| {
            let mut managers = Managers::default();
            let mut entry = StoredEntry::new(&lead_id, 0);
            let mut watermark = origin;
            for (op, advance) in ops {
                watermark += advance;
                match op {
                    Op::Event {
                        at,
                        key,
                        terminal,
                        manager,
                        created,
                    } => {
                        let name = manager.map(|m| format!("manager-{m}"));
                        let mark = PackedMark {
                            at: origin + at,
                            key,
                            who: managers.intern(name.as_deref()),
                            terminal,
                        };
                        entry.add_event(mark, origin + created, watermark);
                    }
                    Op::Attempt(at) => entry.add_attempt(origin + at, watermark),
                    Op::Phone(v, at) => {
                        let phone = format!("+7900{v}");
                        entry.add_value(List::Phones, &phone, origin + at, watermark);
                    }
                    Op::Email(v, at) => {
                        let email = format!("л{v}@example.org");
                        entry.add_value(List::Emails, &email, origin + at, watermark);
                    }
                    Op::Prune => entry.prune(watermark),
                    Op::Check => {
                        entry.start_duplicate_check();
                    }
                }
            }
            entry.to_wire(&managers)
        })
}

fn value() -> impl Strategy<Value = ContactValue> {
    ("\\PC{0,10}", any::<u32>(), any::<u32>()).prop_map(|(value, since, last)| ContactValue {
        value: value.into(),
        since,
        last,
    })
}

fn mark() -> impl Strategy<Value = Mark> {
    (
        any::<u32>(),
        any::<u64>(),
        any::<bool>(),
        proptest::option::of("\\PC{0,8}"),
    )
        .prop_map(|(at, key, terminal, manager)| Mark {
            at,
            key,
            terminal,
            manager: manager.map(Arc::from),
        })
}

/// An entry with every field filled directly, extreme values included (the invariants the
/// decoder checks hold: `recent` sorted, `unfolded_from` not after its earliest time).
fn filled() -> impl Strategy<Value = ContactEntry> {
    let history = (
        proptest::option::of((any::<u32>(), any::<u64>())),
        any::<u32>(),
        proptest::option::of(mark()),
        proptest::option::of((any::<u32>(), any::<u64>(), "\\PC{1,8}")),
    );
    let recent = (
        proptest::collection::vec(mark(), 0..5),
        any::<u32>(),
        proptest::collection::vec(any::<u32>(), 0..5),
        any::<u32>(),
        any::<bool>(),
    );
    (
        "\\PC{0,12}",
        proptest::collection::vec(value(), 0..5),
        proptest::collection::vec(value(), 0..5),
        history,
        recent,
    )
        .prop_map(|(lead_id, phones, emails, history, recent)| {
            let (first, created, base, base_manager) = history;
            let (mut marks, base_activity, attempts, unfolded, duplicate_checked) = recent;
            marks.sort_by_key(|m| (m.at, m.key));
            marks.dedup_by_key(|m| (m.at, m.key));
            let earliest = marks.first().map(|m| m.at).into_iter();
            let earliest = earliest.chain(attempts.iter().copied()).min();
            ContactEntry {
                lead_id: lead_id.into(),
                phones,
                emails,
                first,
                created,
                base,
                base_manager: base_manager.map(|(at, key, m)| ((at, key), Arc::from(m))),
                recent: marks,
                base_activity,
                recent_attempts: attempts,
                unfolded_from: earliest.map_or(unfolded, |e| e.min(unfolded)),
                duplicate_checked,
            }
        })
}

pub fn entry() -> impl Strategy<Value = ContactEntry> {
    prop_oneof![built(), filled()]
}

pub fn marker() -> impl Strategy<Value = Marker> {
    (
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(clock, released)| Marker { clock, released })
}
