//! Unit tests of duplicate detection and of the resolver (holding calls, flagging duplicates).

use std::borrow::Cow;
use std::sync::Arc;

use super::tests::{PHONE, directory, ev, ts};
use super::*;
use crate::config::Config;
use crate::engine::{ContactUpdate, Secs};
use crate::model::{CallRecord, Direction, Disposition, MatchedOn, QcKind};

fn duplicate(updates: &[ContactUpdate], lead: &str) -> Option<Duplicate> {
    directory(updates).duplicate_of("default", lead)
}

#[test]
fn a_new_lead_with_an_earlier_leads_phone_is_a_duplicate() {
    let updates = [
        ev("A", 0).phone(PHONE).manager("M1").update(),
        ev("A", 100).manager("M2").update(),
        ev("B", 500)
            .phone("8 (916) 123-45-67")
            .manager("M9")
            .update(),
    ];
    let found = duplicate(&updates, "B").expect("B duplicates A");
    assert_eq!(&*found.earlier_lead_id, "A");
    assert_eq!(found.earlier_manager_id.as_deref(), Some("M2"));
    assert_eq!(found.manager_id.as_deref(), Some("M9"));
    assert_eq!(found.matched_on, MatchedOn::Phone);
    assert_eq!(found.at, ts(500));
    assert_eq!(
        duplicate(&updates, "A"),
        None,
        "the earlier lead is no duplicate"
    );
}

#[test]
fn an_email_match_is_a_duplicate_too() {
    let updates = [
        ev("A", 0)
            .email("Ivan.Petrov@Mail.ru")
            .manager("M1")
            .update(),
        ev("B", 500)
            .email(" ivan.petrov@mail.RU")
            .phone(PHONE)
            .update(),
    ];
    let found = duplicate(&updates, "B").expect("B duplicates A");
    assert_eq!(
        (&*found.earlier_lead_id, found.matched_on),
        ("A", MatchedOn::Email)
    );
    // Both match: the phone is named.
    let both = [
        ev("A", 0).email("ivan@mail.ru").phone(PHONE).update(),
        ev("B", 500).email("ivan@mail.ru").phone(PHONE).update(),
    ];
    assert_eq!(
        duplicate(&both, "B").map(|d| d.matched_on),
        Some(MatchedOn::Phone)
    );
}

#[test]
fn no_duplicate_of_a_terminal_lead_or_another_tenants() {
    let closed = [
        ev("A", 0).phone(PHONE).update(),
        ev("A", 100).terminal().update(),
        ev("B", 500).phone(PHONE).update(),
    ];
    assert_eq!(duplicate(&closed, "B"), None);
    // Closed only after B appeared: B was a duplicate when it came.
    let later = [
        ev("A", 0).phone(PHONE).update(),
        ev("B", 500).phone(PHONE).update(),
        ev("A", 600).terminal().update(),
    ];
    assert_eq!(
        duplicate(&later, "B").map(|d| d.earlier_lead_id.to_string()),
        Some("A".to_owned())
    );
    // A lead that comes in already rejected (or converted) has nothing to hand over.
    let junk = [
        ev("A", 0).phone(PHONE).update(),
        ev("B", 500).phone(PHONE).terminal().update(),
    ];
    assert_eq!(duplicate(&junk, "B"), None);
    let other_tenant = [
        ev("A", 0).phone(PHONE).tenant("north").update(),
        ev("B", 500).phone(PHONE).update(),
    ];
    assert_eq!(duplicate(&other_tenant, "B"), None);
}

#[test]
fn the_earliest_created_of_several_earlier_leads_is_named() {
    let mut second = ev("B", 300).phone(PHONE);
    second.created = Some(200);
    let updates = [
        ev("C", 100).email("x@y.ru").update(),
        second.update(),
        ev("A", 250).phone(PHONE).update(),
        ev("N", 500).phone(PHONE).email("x@y.ru").update(),
    ];
    let found = duplicate(&updates, "N").expect("N duplicates");
    assert_eq!(
        (&*found.earlier_lead_id, found.matched_on),
        ("C", MatchedOn::Email)
    );
    // B was created earlier (created_at) than A but first seen after A's first event: when A
    // came, B was unknown, and B is no new lead next to the younger A. Neither is flagged.
    assert_eq!(duplicate(&updates[1..3], "A"), None);
    assert_eq!(duplicate(&updates[1..3], "B"), None);
}

fn call(id: &str, phone: &str, at: Secs) -> CallRecord<'static> {
    CallRecord {
        call_id: Cow::Owned(id.to_owned()),
        tenant: None,
        lead_id: None,
        phone: Cow::Owned(phone.to_owned()),
        manager_id: None,
        direction: Direction::Outbound,
        started_at: ts(at),
        talk_seconds: 0,
        disposition: Disposition::NoAnswer,
        recording_url: None,
    }
}

#[test]
fn the_resolver_holds_calls_until_the_watermark_passes_them() {
    let mut resolver = Resolver::new(Arc::new(Config::default()));
    let lateness: Secs = 600;
    assert!(
        resolver
            .hold_call(call("c1", "8 916 123 45 67", 100))
            .is_none()
    );
    let unusable = resolver.hold_call(call("c0", "anonymous", 100));
    assert!(unusable.is_some_and(|c| c.lead_id.is_none()));
    resolver.apply(&ev("A", 90).phone(PHONE).update());
    assert_eq!(
        resolver.next_due(ts(100 + lateness)),
        None,
        "not yet passed"
    );
    // The lead is rejected at 150; the call at 100 still belongs to it.
    resolver.apply(&ev("A", 150).terminal().update());
    match resolver.next_due(ts(101 + lateness)) {
        Some(Due::Call(call)) => assert_eq!(call.lead_id.as_deref(), Some("A")),
        other => panic!("{other:?}"),
    }
    assert_eq!(resolver.next_due(ts(10_000)), None);
    assert_eq!(
        resolver.stats(),
        &ContactStats {
            resolved_calls: 1,
            unresolved_calls: 1,
            duplicate_leads: 0
        }
    );
}

#[test]
fn the_resolver_flags_a_duplicate_once_with_a_stable_id() {
    let mut resolver = Resolver::new(Arc::new(Config::default()));
    resolver.apply(&ev("A", 0).phone(PHONE).manager("M1").update());
    resolver.apply(
        &ev("B", 100)
            .email("b@x.ru")
            .phone(PHONE)
            .manager("M2")
            .update(),
    );
    resolver.apply(&ev("B", 200).update());
    let mut reviews = Vec::new();
    while let Some(due) = resolver.next_remaining(None) {
        match due {
            Due::Review(review) => reviews.push(review),
            Due::Call(call) => panic!("{call:?}"),
        }
    }
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    let review = &reviews[0];
    assert_eq!(review.kind, QcKind::DuplicateLead);
    assert_eq!(review.lead_id, "B");
    assert_eq!(review.manager_id.as_deref(), Some("M2"));
    assert_eq!(review.earlier_lead_id.as_deref(), Some("A"));
    assert_eq!(review.earlier_manager_id.as_deref(), Some("M1"));
    assert_eq!(review.matched_on, Some(MatchedOn::Phone));
    assert_eq!(review.detected_at, ts(100));
    assert_eq!(
        review.review_id,
        crate::engine::duplicate_lead_review_id("default", "B")
    );
    assert_eq!(resolver.stats().duplicate_leads, 1);
}
