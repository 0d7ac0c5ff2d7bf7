//! A changelog written by dozvon 0.1.0 (schema v1, committed under tests/fixtures) is restored
//! by this dozvon: a newer version must keep reading the state of an older one.

use std::sync::Arc;

use dozvon::changelog::{decode, encode};
use dozvon::config::Config;
use dozvon::engine::{Applied, Engine, StateChange};
use dozvon::model::{CallRecord, Direction, Disposition, Timestamp};

const FIXTURE: &str = include_str!("fixtures/changelog-v1/changelog.txt");

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// (key, value) of every record of the fixture.
fn records() -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    FIXTURE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (key, value) = line.split_once(' ').expect("KEY VALUE");
            (unhex(key), (value != "-").then(|| unhex(value)))
        })
        .collect()
}

#[test]
fn a_v1_changelog_restores_and_the_engine_carries_on() {
    let records = records();
    assert_eq!(records.len(), 20, "18 leads, the tenant, a tombstone");
    let changes: Vec<StateChange> = records
        .iter()
        .map(|(k, v)| decode(k, v.as_deref()).expect("a v1 record decodes"))
        .collect();
    let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
    for change in &changes {
        engine.restore(change).expect("restores");
    }
    assert_eq!(engine.tracked_leads(), 18);
    let clock = Timestamp::parse_rfc3339("2026-03-05T07:59:51Z").expect("clock");
    let mut fired = Vec::new();
    engine.advance_clock(clock, &mut fired);
    assert!(
        fired.is_empty(),
        "nothing restored was already due: {fired:?}"
    );

    let l3 = engine.lead_view("default", "gL3").expect("gL3 restored");
    assert_eq!(l3.stage.as_deref(), Some("IN_PROCESS"));
    let episode = l3.episode.expect("in its dialing period");
    assert_eq!(episode.days[0].date.to_string(), "2026-03-02");
    assert!(episode.attempts_total > 0);
    assert_eq!(
        engine
            .lead_view("default", "gL11")
            .and_then(|v| v.stage_kind),
        Some("rejected")
    );
    let cards = engine.scorecards("default", engine.clock());
    assert!(
        cards.values().map(|c| c.days_judged).sum::<u32>() > 0,
        "{cards:?}"
    );

    // Seen records stay seen: a repeated call is a duplicate; a new one counts.
    let call = |id: &str| CallRecord {
        call_id: id.to_owned().into(),
        tenant: None,
        lead_id: Some("gL3".into()),
        phone: "+7 900 000-00-00".into(),
        manager_id: None,
        direction: Direction::Outbound,
        started_at: clock,
        talk_seconds: 0,
        disposition: Disposition::Busy,
        recording_url: None,
    };
    let mut out = Vec::new();
    assert_eq!(
        engine.apply_call(&call("fresh-call"), &mut out),
        Applied::Ok
    );
    assert_eq!(
        engine.apply_call(&call("fresh-call"), &mut out),
        Applied::Duplicate
    );

    // While v1 is the current schema, encoding what was read gives the same bytes.
    for (change, (key, value)) in changes.iter().zip(&records) {
        assert_eq!(&encode(change), &(key.clone(), value.clone()));
    }
}
