//! Boundary cases of each rule through the library API (no files, no I/O).

use std::borrow::Cow;
use std::sync::Arc;

use dozvon::config::Config;
use dozvon::engine::Engine;
use dozvon::model::{
    CallRecord, Direction, Disposition, Finding, InputEvent, LeadEvent, QcKind, Rule, Timestamp,
};
use dozvon::replay::{Driver, run_events};

fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("test timestamp")
}

fn attempt(id: &str, lead: &str, at: &str) -> InputEvent<'static> {
    call(id, lead, at, Direction::Outbound, Disposition::NoAnswer, 0)
}

fn call(
    id: &str,
    lead: &str,
    at: &str,
    direction: Direction,
    disposition: Disposition,
    talk: u32,
) -> InputEvent<'static> {
    InputEvent::Call(CallRecord {
        call_id: Cow::Owned(id.into()),
        tenant: None,
        lead_id: Some(Cow::Owned(lead.into())),
        phone: Cow::Borrowed("+7 999 000-00-01"),
        manager_id: Some(Cow::Borrowed("m1")),
        direction,
        started_at: ts(at),
        talk_seconds: talk,
        disposition,
        recording_url: None,
    })
}

fn stage(id: &str, lead: &str, at: &str, stage: &str) -> InputEvent<'static> {
    InputEvent::Lead(LeadEvent {
        event_id: Cow::Owned(id.into()),
        tenant: None,
        lead_id: Cow::Owned(lead.into()),
        occurred_at: ts(at),
        stage: Cow::Owned(stage.into()),
        manager_id: Some(Cow::Borrowed("m1")),
        created_at: None,
        channel: None,
        phone: None,
        email: None,
        rejection_reason: None,
    })
}

fn with_channel(event: InputEvent<'static>, channel: &str) -> InputEvent<'static> {
    match event {
        InputEvent::Lead(mut lead) => {
            lead.channel = Some(Cow::Owned(channel.into()));
            InputEvent::Lead(lead)
        }
        other => other,
    }
}

fn run(config: Config, events: Vec<InputEvent<'static>>, until: &str) -> Vec<Finding> {
    run_events(Arc::new(config), events, Some(ts(until))).expect("engine")
}

fn rules_of(findings: &[Finding]) -> Vec<(Rule, Option<String>)> {
    let mut rules: Vec<_> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::Violation(v) => Some((v.rule, v.business_day.map(|d| d.to_string()))),
            Finding::Qc(_) => None,
        })
        .collect();
    rules.sort();
    rules
}

fn config(toml: &str) -> Config {
    Config::from_toml_str(toml).expect("test config")
}

#[test]
fn sla_across_a_night() {
    // Created Tue 02:00: due Tue 09:15 (15 working minutes after the 09:00 start).
    let on_time = vec![
        stage("e1", "A", "2026-03-03T02:00:00+03:00", "NEW"),
        attempt("a1", "A", "2026-03-03T09:15:00+03:00"),
    ];
    assert!(
        !rules_of(&run(
            Config::default(),
            on_time,
            "2026-03-03T12:00:00+03:00"
        ))
        .iter()
        .any(|(r, _)| *r == Rule::FirstCallSlaBreach)
    );
    let late = vec![
        stage("e1", "A", "2026-03-03T02:00:00+03:00", "NEW"),
        attempt("a1", "A", "2026-03-03T09:16:00+03:00"),
    ];
    let findings = run(Config::default(), late, "2026-03-03T12:00:00+03:00");
    let breach = findings.iter().find_map(|f| match f {
        Finding::Violation(v) if v.rule == Rule::FirstCallSlaBreach => Some(v),
        _ => None,
    });
    let breach = breach.expect("breach");
    assert_eq!(breach.deadline, Some(ts("2026-03-03T09:15:00+03:00")));
    assert_eq!(breach.detected_at, ts("2026-03-03T09:15:00+03:00"));
}

#[test]
fn sla_across_a_holiday_and_per_channel() {
    // Monday 2026-03-09 is a holiday: Fri 17:55 + 15 min = Tue 09:10; paid_ads (5m) = Tue 09:00 → Fri 18:00... 5m fits Friday.
    let cfg = config(
        "[calendar]\nholidays = [\"2026-03-09\"]\n[rules]\nfirst_call_sla_by_channel = { paid_ads = \"5m\" }\n",
    );
    let events = vec![
        stage("e1", "A", "2026-03-06T17:55:00+03:00", "NEW"),
        attempt("a1", "A", "2026-03-10T09:09:00+03:00"),
        with_channel(
            stage("e2", "B", "2026-03-06T17:56:00+03:00", "NEW"),
            "paid_ads",
        ),
        attempt("b1", "B", "2026-03-10T09:05:00+03:00"),
    ];
    let findings = run(cfg, events, "2026-03-10T12:00:00+03:00");
    let breaches: Vec<_> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::Violation(v) if v.rule == Rule::FirstCallSlaBreach => {
                Some((v.lead_id.as_str(), v.deadline))
            }
            _ => None,
        })
        .collect();
    // A is due Tue 09:10 (holiday skipped) and was called 09:09; B (paid_ads, 4 min left Friday
    // + 1 min Tuesday) was due Tue 09:01 and called 09:05.
    assert_eq!(breaches, vec![("B", Some(ts("2026-03-10T09:01:00+03:00")))]);
}

#[test]
fn dst_change_keeps_local_days() {
    // Europe/Berlin switches to summer time on Sun 2026-03-29. A call at 23:30 local on
    // Monday 03-30 (21:30 UTC) belongs to Monday; Monday closes at local midnight (22:00 UTC).
    let cfg = config("[calendar]\ntimezone = \"Europe/Berlin\"\n");
    let events = vec![
        stage("e1", "A", "2026-03-27T10:00:00+01:00", "NEW"),
        attempt("a1", "A", "2026-03-27T10:05:00+01:00"),
        attempt("a2", "A", "2026-03-27T11:05:00+01:00"),
        attempt("a3", "A", "2026-03-27T12:05:00+01:00"),
        attempt("a4", "A", "2026-03-30T10:00:00+02:00"),
        attempt("a5", "A", "2026-03-30T15:00:00+02:00"),
        attempt("a6", "A", "2026-03-30T23:30:00+02:00"),
    ];
    let findings = run(cfg, events, "2026-03-31T00:30:00+02:00");
    assert!(rules_of(&findings).is_empty(), "{findings:?}");
    // Without the 23:30 call, Monday is a shortfall detected at local midnight.
    let cfg = config("[calendar]\ntimezone = \"Europe/Berlin\"\n");
    let events = vec![
        stage("e1", "A", "2026-03-27T10:00:00+01:00", "NEW"),
        attempt("a1", "A", "2026-03-27T10:05:00+01:00"),
        attempt("a2", "A", "2026-03-27T11:05:00+01:00"),
        attempt("a3", "A", "2026-03-27T12:05:00+01:00"),
        attempt("a4", "A", "2026-03-30T10:00:00+02:00"),
        attempt("a5", "A", "2026-03-30T15:00:00+02:00"),
    ];
    let findings = run(cfg, events, "2026-03-31T00:30:00+02:00");
    let Some(Finding::Violation(v)) = findings.first() else {
        panic!("expected a violation, got {findings:?}")
    };
    assert_eq!(v.rule, Rule::DailyAttemptsShortfall);
    assert_eq!(
        v.business_day.map(|d| d.to_string()).as_deref(),
        Some("2026-03-30")
    );
    assert_eq!(v.detected_at, ts("2026-03-31T00:00:00+02:00"));
    assert_eq!(v.attempts_on_day, Some(2));
    assert_eq!(v.attempts_total, Some(5));
}

#[test]
fn duplicates_are_ignored() {
    let events = vec![
        stage("e1", "A", "2026-03-02T09:30:00+03:00", "NEW"),
        stage("e1", "A", "2026-03-02T09:30:00+03:00", "NEW"),
        attempt("a1", "A", "2026-03-02T09:35:00+03:00"),
        attempt("a2", "A", "2026-03-02T10:35:00+03:00"),
        attempt("a2", "A", "2026-03-02T10:35:00+03:00"),
    ];
    let findings = run(Config::default(), events, "2026-03-03T01:00:00+03:00");
    assert_eq!(
        rules_of(&findings),
        vec![(Rule::DailyAttemptsShortfall, Some("2026-03-02".into()))]
    );
}

#[test]
fn touch_satisfies_the_day_unless_configured_otherwise() {
    let events = || {
        vec![
            stage("e1", "A", "2026-03-02T09:30:00+03:00", "NEW"),
            call(
                "a1",
                "A",
                "2026-03-02T09:35:00+03:00",
                Direction::Inbound,
                Disposition::Answered,
                31,
            ),
        ]
    };
    let findings = run(Config::default(), events(), "2026-03-03T01:00:00+03:00");
    // An inbound touch satisfies the day, but is no attempt, so the SLA is breached.
    assert_eq!(rules_of(&findings), vec![(Rule::FirstCallSlaBreach, None)]);
    assert!(
        findings
            .iter()
            .any(|f| matches!(f, Finding::Qc(q) if q.kind == QcKind::CallListen))
    );
    let strict = config("[rules]\ntouch_satisfies_day = false\n");
    let findings = run(strict, events(), "2026-03-03T01:00:00+03:00");
    assert_eq!(
        rules_of(&findings),
        vec![
            (Rule::NoAttemptsToday, Some("2026-03-02".into())),
            (Rule::FirstCallSlaBreach, None)
        ]
    );
}

#[test]
fn late_call_retracts_the_daily_violation() {
    let config = Arc::new(Config::default());
    let mut engine = Engine::new(config).expect("engine");
    let mut driver = Driver::new(&mut engine);
    let mut findings = Vec::new();
    for event in [
        stage("e1", "A", "2026-03-02T09:00:00+03:00", "NEW"),
        attempt("a1", "A", "2026-03-02T09:05:00+03:00"),
        attempt("a2", "A", "2026-03-02T10:05:00+03:00"),
        // Tuesday 10:00: Monday closed long ago (watermark Tue 09:50).
        attempt("a3", "A", "2026-03-03T10:00:00+03:00"),
    ] {
        driver.feed(&event, &mut findings);
    }
    let shortfall = findings
        .iter()
        .find_map(|f| match f {
            Finding::Violation(v) if v.rule == Rule::DailyAttemptsShortfall => {
                Some(v.violation_id.clone())
            }
            _ => None,
        })
        .expect("Monday flagged");
    // The PBX delivers Monday's third call late.
    driver.feed(
        &attempt("a0", "A", "2026-03-02T17:00:00+03:00"),
        &mut findings,
    );
    let retraction = findings.last().expect("a finding");
    let Finding::Violation(retraction) = retraction else {
        panic!("expected a retraction, got {retraction:?}")
    };
    assert_eq!(retraction.rule, Rule::Retraction);
    assert_eq!(retraction.retracts.as_deref(), Some(shortfall.as_str()));
    assert_eq!(engine.stats().calls_late, 1);
}

#[test]
fn late_call_that_does_not_make_the_day_compliant_retracts_nothing() {
    let events = vec![
        stage("e1", "A", "2026-03-02T09:00:00+03:00", "NEW"),
        attempt("a1", "A", "2026-03-02T09:05:00+03:00"),
        attempt("a3", "A", "2026-03-03T10:00:00+03:00"),
        attempt("a0", "A", "2026-03-02T17:00:00+03:00"),
    ];
    let findings = run(Config::default(), events, "2026-03-03T12:00:00+03:00");
    assert_eq!(
        rules_of(&findings),
        vec![(Rule::DailyAttemptsShortfall, Some("2026-03-02".into()))]
    );
}

#[test]
fn exempt_reason_is_not_premature_but_is_rechecked() {
    let cfg = config("[rules]\nexempt_reasons = [\"неверный номер\"]\n");
    let mut junk = stage("e2", "A", "2026-03-02T11:00:00+03:00", "JUNK");
    if let InputEvent::Lead(lead) = &mut junk {
        lead.rejection_reason = Some(Cow::Borrowed("Неверный номер"));
    }
    let events = vec![
        stage("e1", "A", "2026-03-02T09:00:00+03:00", "NEW"),
        attempt("a1", "A", "2026-03-02T09:05:00+03:00"),
        junk,
    ];
    let findings = run(cfg, events, "2026-03-02T12:00:00+03:00");
    assert!(rules_of(&findings).is_empty(), "{findings:?}");
    let review = findings.iter().find_map(|f| match f {
        Finding::Qc(q) => Some(q),
        Finding::Violation(_) => None,
    });
    let review = review.expect("recheck");
    assert_eq!(review.kind, QcKind::RejectionRecheck);
    assert!(!review.premature);
    assert_eq!(review.attempts_total, Some(1));
}

#[test]
fn stale_lead_is_reported_once_per_quiet_spell() {
    let events = vec![
        stage("e1", "A", "2026-03-02T09:00:00+03:00", "NEW"),
        stage("e2", "A", "2026-03-02T10:00:00+03:00", "PROCESSED"),
        // Quiet until Mon 03-09; the spell Mon..Thu reported at Thu's close; activity again:
        stage("e3", "A", "2026-03-10T10:00:00+03:00", "IN_PROCESS"),
        stage("e4", "A", "2026-03-10T10:30:00+03:00", "PROCESSED"),
    ];
    let findings = run(Config::default(), events, "2026-03-20T12:00:00+03:00");
    let stale: Vec<_> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::Violation(v) if v.rule == Rule::StaleLead => Some(v.detected_at),
            _ => None,
        })
        .collect();
    // Monday's spell closes Thu 03-05; Tuesday 03-10's spell closes Fri 03-13.
    assert_eq!(
        stale,
        vec![
            ts("2026-03-06T00:00:00+03:00"),
            ts("2026-03-14T00:00:00+03:00")
        ]
    );
}

#[test]
fn converted_and_rejected_leads_are_never_stale() {
    let events = vec![
        stage("e1", "A", "2026-03-02T09:00:00+03:00", "NEW"),
        stage("e2", "A", "2026-03-02T10:00:00+03:00", "CONVERTED"),
        stage("e3", "B", "2026-03-02T09:00:00+03:00", "NEW"),
        stage("e4", "B", "2026-03-02T10:00:00+03:00", "JUNK"),
    ];
    let findings = run(Config::default(), events, "2026-03-20T12:00:00+03:00");
    assert!(
        !rules_of(&findings)
            .iter()
            .any(|(r, _)| *r == Rule::StaleLead)
    );
}

#[test]
fn calls_without_lead_id_are_counted() {
    let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
    let mut orphan = attempt("x1", "A", "2026-03-02T10:00:00+03:00");
    if let InputEvent::Call(call) = &mut orphan {
        call.lead_id = None;
    }
    let mut findings = Vec::new();
    Driver::new(&mut engine).feed(&orphan, &mut findings);
    assert_eq!(engine.stats().unresolved_calls, 1);
    assert!(findings.is_empty());
}

#[test]
fn terminal_leads_are_evicted_after_the_retention() {
    let cfg = config("[state]\nterminal_retention = \"2d\"\nidle_retention = \"30d\"\n");
    let mut engine = Engine::new(Arc::new(cfg)).expect("engine");
    let mut driver = Driver::new(&mut engine);
    let mut findings = Vec::new();
    for event in [
        stage("e1", "A", "2026-03-02T09:00:00+03:00", "NEW"),
        stage("e2", "A", "2026-03-02T10:00:00+03:00", "CONVERTED"),
        stage("e3", "B", "2026-03-02T09:00:00+03:00", "NEW"),
    ] {
        driver.feed(&event, &mut findings);
    }
    driver.finish(Some(ts("2026-03-05T12:00:00+03:00")), &mut findings);
    assert_eq!(engine.tracked_leads(), 1, "A evicted, B (in work) kept");
    assert_eq!(engine.stats().evicted_leads, 1);
}

#[test]
fn qc_outcomes_are_counted_against_the_rejecting_manager() {
    let mut junk = stage("e2", "A", "2026-03-02T11:00:00+03:00", "JUNK");
    let mut returned = stage("e3", "A", "2026-03-03T11:00:00+03:00", "IN_PROCESS");
    if let InputEvent::Lead(lead) = &mut returned {
        lead.manager_id = Some(Cow::Borrowed("m2"));
    }
    if let InputEvent::Lead(lead) = &mut junk {
        lead.rejection_reason = Some(Cow::Borrowed("не интересно"));
    }
    let events = vec![
        stage("e1", "A", "2026-03-02T09:00:00+03:00", "NEW"),
        junk,
        returned,
        stage("e4", "B", "2026-03-02T09:00:00+03:00", "NEW"),
        stage("e5", "B", "2026-03-02T10:00:00+03:00", "JUNK"),
        stage("e6", "B", "2026-03-02T11:00:00+03:00", "COLD_BASE"),
        stage("e7", "C", "2026-03-02T09:00:00+03:00", "NEW"),
        stage("e8", "C", "2026-03-02T10:00:00+03:00", "JUNK"),
        stage("e9", "C", "2026-03-02T11:00:00+03:00", "SPAM"),
    ];
    let cfg = config("[stages]\nrejected = [\"JUNK\", \"SPAM\"]\n");
    let mut engine = Engine::new(Arc::new(cfg)).expect("engine");
    let mut driver = Driver::new(&mut engine);
    let mut findings = Vec::new();
    for event in &events {
        driver.feed(event, &mut findings);
    }
    driver.finish(Some(ts("2026-03-03T12:00:00+03:00")), &mut findings);
    assert_eq!(
        engine.overturned_rejections("default"),
        vec![("m1".to_owned(), 1)]
    );
    let outcomes = engine.qc_outcomes("default").expect("tenant");
    assert_eq!(
        (
            outcomes.overturned,
            outcomes.cold_base_transfers,
            outcomes.confirmations
        ),
        (1, 1, 1)
    );
    // Only moves into a rejected stage from outside one ask for a re-check: A, B and C once each.
    let rechecks = findings
        .iter()
        .filter(|f| matches!(f, Finding::Qc(q) if q.kind == QcKind::RejectionRecheck))
        .count();
    assert_eq!(rechecks, 3);
}
