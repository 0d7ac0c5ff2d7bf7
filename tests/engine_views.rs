//! The engine's read-only views (query API): one lead's state, today's due list, scorecards.

use std::borrow::Cow;
use std::sync::Arc;

use dozvon::config::Config;
use dozvon::engine::{DueList, Engine};
use dozvon::model::{CallRecord, Direction, Disposition, InputEvent, LeadEvent, Timestamp};

fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("test timestamp")
}

fn call(
    id: &str,
    lead: &str,
    manager: &str,
    at: &str,
    direction: Direction,
) -> InputEvent<'static> {
    InputEvent::Call(CallRecord {
        call_id: Cow::Owned(id.into()),
        tenant: None,
        lead_id: Some(Cow::Owned(lead.into())),
        phone: Cow::Borrowed("+7 999 000-00-01"),
        manager_id: Some(Cow::Owned(manager.into())),
        direction,
        started_at: ts(at),
        talk_seconds: 0,
        disposition: Disposition::NoAnswer,
        recording_url: None,
    })
}

fn attempt(id: &str, lead: &str, at: &str) -> InputEvent<'static> {
    call(id, lead, "M", at, Direction::Outbound)
}

fn touch(id: &str, lead: &str, at: &str) -> InputEvent<'static> {
    match call(id, lead, "M", at, Direction::Inbound) {
        InputEvent::Call(mut c) => {
            c.disposition = Disposition::Answered;
            c.talk_seconds = 45;
            InputEvent::Call(c)
        }
        other => other,
    }
}

fn stage(id: &str, lead: &str, manager: &str, at: &str, stage: &str) -> InputEvent<'static> {
    InputEvent::Lead(LeadEvent {
        event_id: Cow::Owned(id.into()),
        tenant: None,
        lead_id: Cow::Owned(lead.into()),
        occurred_at: ts(at),
        stage: Cow::Owned(stage.into()),
        manager_id: Some(Cow::Owned(manager.into())),
        created_at: None,
        channel: None,
        phone: None,
        email: None,
        rejection_reason: Some(Cow::Borrowed("не берет трубку")),
    })
}

/// Feeds `events` in order (the clock following them), then moves the clock to `clock`.
fn engine_at(events: &[InputEvent<'static>], clock: &str) -> Engine {
    let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
    feed(&mut engine, events, clock);
    engine
}

fn feed(engine: &mut Engine, events: &[InputEvent<'static>], clock: &str) {
    let mut out = Vec::new();
    for event in events {
        match event {
            InputEvent::Call(c) => engine.apply_call(c, &mut out),
            InputEvent::Lead(l) => engine.apply_lead_event(l, &mut out),
        };
        let at = engine.clock().max(event.event_time());
        engine.advance_clock(at, &mut out);
    }
    engine.advance_clock(ts(clock), &mut out);
}

/// SPEC §7 up to the given clock: created Mon 10:00, 3 attempts Mon, 2 Tue, none Wed.
fn spec7() -> Vec<InputEvent<'static>> {
    vec![
        stage("l1", "L", "M", "2026-03-02T10:00:00+03:00", "NEW"),
        attempt("c1", "L", "2026-03-02T10:10:00+03:00"),
        attempt("c2", "L", "2026-03-02T13:00:00+03:00"),
        attempt("c3", "L", "2026-03-02T17:00:00+03:00"),
        attempt("c4", "L", "2026-03-03T10:00:00+03:00"),
        attempt("c5", "L", "2026-03-03T15:00:00+03:00"),
    ]
}

fn lead_ids(list: &DueList, no_attempt_only: bool) -> Vec<&str> {
    list.leads
        .iter()
        .filter(|l| !no_attempt_only || l.no_attempt(list.touch_satisfies_day))
        .map(|l| l.lead_id.as_str())
        .collect()
}

#[test]
fn wednesday_of_the_spec_scenario() {
    let engine = engine_at(&spec7(), "2026-03-04T15:00:00+03:00");
    let due = engine
        .due_today("default", None, engine.clock())
        .expect("default tenant");
    assert_eq!(due.date.to_string(), "2026-03-04");
    assert!(due.business_day);
    assert_eq!(lead_ids(&due, true), ["L"]);
    let l = &due.leads[0];
    assert_eq!((l.day_of_period, l.attempts_today, l.required), (3, 0, 3));
    assert_eq!(l.manager_id.as_deref(), Some("M"));

    let view = engine.lead_view("default", "L").expect("lead L");
    assert_eq!(view.stage.as_deref(), Some("NEW"));
    assert_eq!(view.stage_kind, Some("cadence"));
    assert_eq!(view.first_call_sla, "met");
    let episode = view.episode.expect("episode");
    assert!(episode.creation);
    assert_eq!((episode.attempts_total, episode.required_total), (5, 15));
    let days: Vec<String> = episode
        .days
        .iter()
        .map(|d| format!("{} {} {} {}", d.day_of_period, d.date, d.status, d.attempts))
        .collect();
    assert_eq!(
        days,
        [
            "1 2026-03-02 compliant 3",
            "2 2026-03-03 violation 2",
            "3 2026-03-04 open 0",
            "4 2026-03-05 upcoming 0",
            "5 2026-03-06 upcoming 0",
        ]
    );
    // Wednesday closes at midnight; it is judged once the watermark passes it.
    assert_eq!(
        view.next_deadlines.day_close,
        Some(ts("2026-03-05T00:00:00+03:00"))
    );
    assert!(view.next_deadlines.stale_check.is_some());
    assert_eq!(view.next_deadlines.first_call, None);

    let cards = engine.scorecards("default", engine.clock());
    let m = &cards[&Some("M".to_owned())];
    assert_eq!((m.days_judged, m.days_compliant), (2, 1));
    assert_eq!(m.violations.get("daily_attempts_shortfall"), Some(&1));
    assert_eq!(
        (
            m.attempts_today,
            m.leads_due_today,
            m.leads_no_attempt_today
        ),
        (0, 1, 1)
    );
    assert_eq!(m.compliant_days_percent(), Some(50.0));
}

#[test]
fn thursday_after_the_rejection() {
    let mut events = spec7();
    events.push(stage("l2", "L", "M", "2026-03-05T11:00:00+03:00", "JUNK"));
    let engine = engine_at(&events, "2026-03-05T15:00:00+03:00");
    let due = engine
        .due_today("default", None, engine.clock())
        .expect("default tenant");
    assert!(due.leads.is_empty(), "a rejected lead is not due: {due:?}");
    let view = engine.lead_view("default", "L").expect("lead L");
    assert_eq!(
        (view.stage.as_deref(), view.stage_kind),
        (Some("JUNK"), Some("rejected"))
    );
    assert!(view.episode.is_none());
    let cards = engine.scorecards("default", engine.clock());
    let m = &cards[&Some("M".to_owned())];
    assert_eq!((m.days_judged, m.days_compliant), (3, 1));
    for rule in [
        "daily_attempts_shortfall",
        "no_attempts_today",
        "premature_rejection",
    ] {
        assert_eq!(m.violations.get(rule), Some(&1), "{rule}: {m:?}");
    }
}

#[test]
fn who_is_due_and_who_is_not() {
    let events = [
        stage("a0", "A", "M", "2026-03-02T10:00:00+03:00", "NEW"),
        // B belongs to another manager.
        stage("b0", "B", "N", "2026-03-02T10:00:00+03:00", "NEW"),
        // C got a touch today: the day is satisfied without an attempt.
        stage("c0", "C", "M", "2026-03-02T10:00:00+03:00", "NEW"),
        touch("ct", "C", "2026-03-04T11:00:00+03:00"),
        // D was called once today: due, but not on the no-attempt list.
        stage("d0", "D", "M", "2026-03-02T10:00:00+03:00", "NEW"),
        attempt("d1", "D", "2026-03-04T11:30:00+03:00"),
        // E was created today after the 13:00 cutoff: day 1 is tomorrow.
        stage("e0", "E", "M", "2026-03-04T13:30:00+03:00", "NEW"),
        // F's period (Mon 23 Feb .. Fri 27 Feb) is over.
        stage("f0", "F", "M", "2026-02-23T10:00:00+03:00", "NEW"),
    ];
    let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
    // F first: its creation is the oldest event.
    feed(
        &mut engine,
        &events[events.len() - 1..],
        "2026-02-23T10:00:00+03:00",
    );
    feed(
        &mut engine,
        &events[..events.len() - 1],
        "2026-03-04T14:00:00+03:00",
    );
    let due = engine
        .due_today("default", None, engine.clock())
        .expect("default tenant");
    assert_eq!(lead_ids(&due, false), ["A", "B", "C", "D"]);
    assert_eq!(lead_ids(&due, true), ["A", "B"]);
    let mine = engine
        .due_today("default", Some("M"), engine.clock())
        .expect("tenant");
    assert_eq!(lead_ids(&mine, true), ["A"]);
    let nobody = engine
        .due_today("default", Some("nobody"), engine.clock())
        .expect("tenant");
    assert!(nobody.leads.is_empty());
    assert!(
        engine
            .due_today("no-such-tenant", None, engine.clock())
            .is_none()
    );
    assert!(engine.lead_view("default", "Z").is_none());

    let cards = engine.scorecards("default", engine.clock());
    let m = &cards[&Some("M".to_owned())];
    assert_eq!((m.leads_due_today, m.leads_no_attempt_today), (3, 1));
    assert_eq!((m.attempts_today, m.touches), (1, 1));
    let n = &cards[&Some("N".to_owned())];
    assert_eq!((n.leads_due_today, n.leads_no_attempt_today), (1, 1));
    let figures = engine.tenant_figures(engine.clock());
    let default = figures
        .iter()
        .find(|f| f.tenant == "default")
        .expect("default tenant figures");
    assert_eq!((default.leads_tracked, default.no_attempt_today), (6, 2));

    // A later date given by another partition's clock is the one answered for.
    let later = engine
        .due_today("default", None, ts("2026-03-05T10:00:00+03:00"))
        .expect("tenant");
    assert_eq!(later.date.to_string(), "2026-03-05");
    // An earlier one is not: today never goes back behind this engine's clock.
    let earlier = engine
        .due_today("default", None, ts("2026-03-02T10:00:00+03:00"))
        .expect("tenant");
    assert_eq!(earlier.date.to_string(), "2026-03-04");

    // Saturday: nobody is due.
    let mut out = Vec::new();
    engine.advance_clock(ts("2026-03-07T12:00:00+03:00"), &mut out);
    let saturday = engine
        .due_today("default", None, engine.clock())
        .expect("tenant");
    assert!(!saturday.business_day);
    assert!(saturday.leads.is_empty());
}

#[test]
fn a_late_call_that_retracts_a_day_counts_it_compliant() {
    let mut engine = engine_at(&spec7(), "2026-03-04T10:00:00+03:00");
    let before = engine.scorecards("default", engine.clock())[&Some("M".to_owned())].clone();
    assert_eq!((before.days_judged, before.days_compliant), (2, 1));
    // Tuesday's third attempt arrives after Tuesday was judged (beyond the allowed lateness).
    feed(
        &mut engine,
        &[attempt("c6", "L", "2026-03-03T17:00:00+03:00")],
        "2026-03-04T10:00:00+03:00",
    );
    let after = &engine.scorecards("default", engine.clock())[&Some("M".to_owned())];
    assert_eq!((after.days_judged, after.days_compliant), (2, 2));
    assert_eq!(after.violations.get("retraction"), Some(&1));
    let view = engine.lead_view("default", "L").expect("lead L");
    let tuesday = &view.episode.expect("episode").days[1];
    assert_eq!((tuesday.attempts, tuesday.status), (3, "compliant"));
}

#[test]
fn a_retraction_after_reassignment_credits_the_manager_who_was_judged() {
    let mut events = spec7();
    // Wednesday morning the lead goes to manager N (same stage: a reassignment).
    events.push(stage("r1", "L", "N", "2026-03-04T09:00:00+03:00", "NEW"));
    let mut engine = engine_at(&events, "2026-03-04T10:00:00+03:00");
    assert_eq!(
        engine
            .lead_view("default", "L")
            .and_then(|v| v.manager_id)
            .as_deref(),
        Some("N")
    );
    feed(
        &mut engine,
        &[attempt("c6", "L", "2026-03-03T17:00:00+03:00")],
        "2026-03-04T10:00:00+03:00",
    );
    let cards = engine.scorecards("default", engine.clock());
    let m = &cards[&Some("M".to_owned())];
    assert_eq!((m.days_judged, m.days_compliant), (2, 2), "{cards:?}");
    assert_eq!(m.violations.get("retraction"), Some(&1));
    let n = cards
        .get(&Some("N".to_owned()))
        .cloned()
        .unwrap_or_default();
    assert_eq!((n.days_judged, n.days_compliant), (0, 0), "{cards:?}");
}
