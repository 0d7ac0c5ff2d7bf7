//! Unit tests of phone resolution and the directory (normalisation is tested beside its code,
//! duplicates and the resolver in `tests_duplicates.rs`), and the helpers both use.

use std::sync::Arc;

use super::*;
use crate::engine::{ContactUpdate, LeadContact, Secs};
use crate::model::Timestamp;

pub(super) const T0: Secs = 1_772_000_000;

/// A lead event update; times are seconds after `T0`.
#[derive(Clone)]
pub(super) struct Ev {
    tenant: &'static str,
    lead: &'static str,
    at: Secs,
    key: u64,
    pub(super) created: Option<Secs>,
    terminal: bool,
    manager: Option<&'static str>,
    phone: Option<&'static str>,
    email: Option<&'static str>,
}

pub(super) fn ev(lead: &'static str, at: Secs) -> Ev {
    Ev {
        tenant: "default",
        lead,
        at,
        key: u64::from(at) * 31 + lead.len() as u64,
        created: None,
        terminal: false,
        manager: None,
        phone: None,
        email: None,
    }
}

impl Ev {
    pub(super) fn phone(mut self, phone: &'static str) -> Self {
        self.phone = Some(phone);
        self
    }
    pub(super) fn email(mut self, email: &'static str) -> Self {
        self.email = Some(email);
        self
    }
    pub(super) fn manager(mut self, manager: &'static str) -> Self {
        self.manager = Some(manager);
        self
    }
    pub(super) fn terminal(mut self) -> Self {
        self.terminal = true;
        self
    }
    pub(super) fn tenant(mut self, tenant: &'static str) -> Self {
        self.tenant = tenant;
        self
    }
    pub(super) fn update(&self) -> ContactUpdate {
        ContactUpdate::Lead(LeadContact {
            tenant: Arc::from(self.tenant),
            lead_id: self.lead.into(),
            at: T0 + self.at,
            event_key: self.key,
            created: T0 + self.created.unwrap_or(self.at),
            terminal: self.terminal,
            manager_id: self.manager.map(Into::into),
            phone: self.phone.map(Into::into),
            email: self.email.map(Into::into),
        })
    }
}

pub(super) fn attempt(lead: &'static str, at: Secs) -> ContactUpdate {
    ContactUpdate::Attempt {
        tenant: Arc::from("default"),
        lead_id: lead.into(),
        at: T0 + at,
    }
}

pub(super) fn ts(at: Secs) -> Timestamp {
    Timestamp::from_compact_seconds(T0 + at)
}

pub(super) fn directory(updates: &[ContactUpdate]) -> ContactDirectory {
    let mut directory = ContactDirectory::new();
    for update in updates {
        directory.apply(update);
    }
    directory
}

pub(super) fn resolve(directory: &ContactDirectory, phone: &str, at: Secs) -> Option<String> {
    directory
        .resolve_phone("default", phone, ts(at))
        .map(|id| id.to_string())
}

pub(super) const PHONE: &str = "+7 916 123-45-67";

#[test]
fn a_call_resolves_to_the_lead_with_its_phone_in_any_format() {
    let d = directory(&[
        ev("A", 0).phone(PHONE).manager("M").update(),
        ev("B", 0).phone("+7 925 000-00-00").update(),
    ]);
    for phone in [
        "8-916-123-45-67",
        "8 (916) 1234567",
        "79161234567",
        "9161234567",
    ] {
        assert_eq!(resolve(&d, phone, 60).as_deref(), Some("A"), "{phone}");
    }
    assert_eq!(resolve(&d, "+7 999 999-99-99", 60), None);
    assert_eq!(resolve(&d, "101", 60), None, "an extension is no phone");
}

#[test]
fn terminal_leads_are_skipped_and_history_counts() {
    let d = directory(&[
        ev("A", 0).phone(PHONE).update(),
        ev("A", 1000).terminal().update(),
    ]);
    assert_eq!(resolve(&d, PHONE, 500).as_deref(), Some("A"), "open at 500");
    assert_eq!(resolve(&d, PHONE, 1000), None, "rejected at 1000");
    assert_eq!(resolve(&d, PHONE, 2000), None);
    // A QC return reopens it.
    let d = directory(&[
        ev("A", 0).phone(PHONE).update(),
        ev("A", 1000).terminal().update(),
        ev("A", 3000).update(),
    ]);
    assert_eq!(resolve(&d, PHONE, 2000), None);
    assert_eq!(resolve(&d, PHONE, 3000).as_deref(), Some("A"));
}

#[test]
fn a_lead_does_not_exist_before_its_first_event() {
    let d = directory(&[ev("A", 100).phone(PHONE).update()]);
    assert_eq!(resolve(&d, PHONE, 99), None);
    assert_eq!(resolve(&d, PHONE, 100).as_deref(), Some("A"));
    // A phone reported later is the lead's from then on.
    let d = directory(&[ev("A", 0).update(), ev("A", 100).phone(PHONE).update()]);
    assert_eq!(resolve(&d, PHONE, 50), None);
    assert_eq!(resolve(&d, PHONE, 100).as_deref(), Some("A"));
}

#[test]
fn the_most_recently_active_open_lead_wins() {
    let mut updates = vec![
        ev("A", 0).phone(PHONE).update(),
        ev("B", 100).phone("8 916 123 45 67").update(),
    ];
    assert_eq!(
        resolve(&directory(&updates), PHONE, 200).as_deref(),
        Some("B")
    );
    // An attempt on A after B's creation makes A the more recent.
    updates.push(attempt("A", 150));
    let d = directory(&updates);
    assert_eq!(resolve(&d, PHONE, 200).as_deref(), Some("A"));
    assert_eq!(resolve(&d, PHONE, 120).as_deref(), Some("B"), "as of 120");
    // A stage change of B after that wins back.
    updates.push(ev("B", 180).update());
    assert_eq!(
        resolve(&directory(&updates), PHONE, 200).as_deref(),
        Some("B")
    );
    // B rejected: A is the only open one.
    updates.push(ev("B", 190).terminal().update());
    assert_eq!(
        resolve(&directory(&updates), PHONE, 200).as_deref(),
        Some("A")
    );
}

#[test]
fn ties_go_to_the_smallest_lead_id() {
    let d = directory(&[
        ev("L2", 0).phone(PHONE).update(),
        ev("L1", 0).phone(PHONE).update(),
    ]);
    assert_eq!(resolve(&d, PHONE, 10).as_deref(), Some("L1"));
}

#[test]
fn other_tenants_never_match() {
    let d = directory(&[ev("A", 0).phone(PHONE).tenant("north").update()]);
    assert_eq!(resolve(&d, PHONE, 10), None);
    assert_eq!(
        d.resolve_phone("north", PHONE, ts(10)).as_deref(),
        Some("A")
    );
    assert_eq!(d.resolve_phone("south", PHONE, ts(10)), None);
}

#[test]
fn forgotten_leads_leave_the_index() {
    let mut d = directory(&[ev("A", 0).phone(PHONE).update()]);
    assert_eq!(d.len(), 1);
    let effect = d.apply(&ContactUpdate::Forget {
        tenant: Arc::from("default"),
        lead_id: "A".into(),
    });
    assert_eq!(effect, Effect::Forgotten);
    assert!(d.is_empty());
    assert_eq!(resolve(&d, PHONE, 10), None);
}

#[test]
fn at_most_four_phones_per_lead_the_latest_reported() {
    let phones = [
        "+7 900 000-00-01",
        "+7 900 000-00-02",
        "+7 900 000-00-03",
        "+7 900 000-00-04",
        "+7 900 000-00-05",
    ];
    let updates: Vec<ContactUpdate> = phones
        .iter()
        .enumerate()
        .map(|(i, phone)| ev("A", 10 * i as Secs).phone(phone).update())
        .collect();
    let d = directory(&updates);
    assert_eq!(
        d.entry("default", "A").map(|e| e.value_count(List::Phones)),
        Some(MAX_VALUES)
    );
    assert_eq!(resolve(&d, phones[0], 100), None, "the oldest is dropped");
    for phone in &phones[1..] {
        assert_eq!(resolve(&d, phone, 100).as_deref(), Some("A"), "{phone}");
    }
    // Delivered the other way round, the same four are kept.
    let reversed: Vec<ContactUpdate> = updates.into_iter().rev().collect();
    let r = directory(&reversed);
    assert_eq!(resolve(&r, phones[0], 100), None);
    assert_eq!(resolve(&r, phones[4], 100).as_deref(), Some("A"));
}

#[test]
fn folding_keeps_the_answers_from_the_watermark_on() {
    let before = [
        ev("A", 0).phone(PHONE).manager("M1").update(),
        ev("B", 50).phone(PHONE).manager("M2").update(),
        attempt("A", 120),
        ev("B", 200).terminal().update(),
    ];
    let after = [ev("A", 300).manager("M3").update(), attempt("B", 310)];
    let whole = directory(&[&before[..], &after[..]].concat());
    let mut folded = directory(&before);
    folded.prune("default", ts(150));
    for update in &after {
        folded.apply(update);
    }
    let a = folded.entry("default", "A").expect("A");
    assert_eq!(
        a.recent().len(),
        1,
        "A's events before 150 are folded: {a:?}"
    );
    assert!(a.recent_attempts().is_empty(), "{a:?}");
    for t in [150, 199, 200, 250, 300, 400] {
        assert_eq!(
            resolve(&folded, PHONE, t),
            resolve(&whole, PHONE, t),
            "t={t}"
        );
        for lead in ["A", "B"] {
            let manager = |d: &ContactDirectory| {
                d.entry("default", lead)
                    .and_then(|e| d.manager_name("default", e.manager_at(T0 + t)).cloned())
            };
            assert_eq!(manager(&folded), manager(&whole), "{lead} t={t}");
            let activity =
                |d: &ContactDirectory| d.entry("default", lead).map(|e| e.activity_at(T0 + t));
            assert_eq!(activity(&folded), activity(&whole), "{lead} t={t}");
        }
    }
    // Before the watermark, the folded state answers (a late call): A existed.
    assert_eq!(resolve(&folded, PHONE, 10).as_deref(), Some("A"));
    // Updates older than the watermark fold in directly.
    folded.apply(&ev("C", 100).phone(PHONE).update());
    folded.apply(&attempt("C", 140));
    assert_eq!(
        folded
            .entry("default", "C")
            .map(|c| (c.recent().len(), c.base_activity())),
        Some((0, T0 + 140))
    );
    assert_eq!(resolve(&folded, PHONE, 250).as_deref(), Some("C"));
}

#[test]
fn a_replica_built_from_whole_entries_answers_alike() {
    let updates = [
        ev("A", 0)
            .phone(PHONE)
            .email("a@x.ru")
            .manager("M1")
            .update(),
        attempt("A", 40),
        ev("B", 50)
            .phone(PHONE)
            .email("a@x.ru")
            .manager("M2")
            .update(),
        ev("B", 300).terminal().update(),
    ];
    let mut owner = directory(&updates);
    owner.prune("default", ts(100));
    let mut replica = ContactDirectory::new();
    replica.prune("default", ts(100));
    for lead in ["B", "A"] {
        let entry = owner.wire_entry("default", lead).expect("known lead");
        let effect = replica.replace("default", entry);
        assert!(matches!(effect, Effect::FirstEvent(_)), "{effect:?}");
    }
    for t in [100, 200, 299, 300] {
        assert_eq!(
            resolve(&replica, PHONE, t),
            resolve(&owner, PHONE, t),
            "t={t}"
        );
    }
    assert_eq!(
        replica.duplicate_of("default", "B"),
        owner.duplicate_of("default", "B")
    );
    // Replacing with a changed entry re-indexes it.
    let mut moved = owner.wire_entry("default", "A").expect("known lead");
    moved.phones.clear();
    assert_eq!(replica.replace("default", moved), Effect::None);
    assert_eq!(resolve(&replica, PHONE, 200).as_deref(), Some("B"));
}

#[test]
fn the_sweep_folds_leads_that_are_not_updated_again() {
    let updates = [
        ev("A", 0).phone(PHONE).manager("M1").update(),
        attempt("A", 20),
        ev("A", 30).manager("M2").update(),
    ];
    let mut d = directory(&updates);
    d.prune("default", ts(200));
    let before: Vec<_> = [40, 100, 300]
        .map(|t| {
            (
                resolve(&d, PHONE, t),
                d.wire_entry("default", "A").map(|e| e.first),
            )
        })
        .into();
    let a = d.entry("default", "A").expect("A");
    assert_eq!((a.recent().len(), a.recent_attempts().len()), (2, 1));
    // Updates of other leads sweep A's slot.
    d.apply(&ev("B", 250).update());
    d.apply(&ev("C", 260).update());
    let a = d.entry("default", "A").expect("A");
    assert!(
        a.recent().is_empty() && a.recent_attempts().is_empty(),
        "{a:?}"
    );
    assert_eq!(a.base_activity(), T0 + 30);
    let manager = d.manager_name("default", a.manager_at(T0 + 300));
    assert_eq!(manager.map(|m| &**m), Some("M2"));
    let after: Vec<_> = [40, 100, 300]
        .map(|t| {
            (
                resolve(&d, PHONE, t),
                d.wire_entry("default", "A").map(|e| e.first),
            )
        })
        .into();
    assert_eq!(before, after);
}
