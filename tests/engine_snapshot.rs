//! State survives a restart: an engine rebuilt from the changes another engine recorded up to
//! any point of the stream continues with exactly the findings of an uninterrupted run.

mod findings;

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use dozvon::config::Config;
use dozvon::engine::{Engine, StateChange};
use dozvon::generator::{GenConfig, generate};
use dozvon::model::{Finding, InputEvent, Timestamp};
use dozvon::replay::Driver;
use findings::canonical;

const UNTIL: &str = "2026-06-01T00:00:00Z";

fn until() -> Timestamp {
    Timestamp::parse_rfc3339(UNTIL).expect("until")
}

/// Generated records in event-time order, with duplicates, and every 37th call delivered
/// 40 records later (often beyond the allowed lateness: late calls and retractions).
fn events(seed: u64) -> Vec<InputEvent<'static>> {
    let mut events = generate(&GenConfig {
        seed,
        days: 8,
        leads_per_day: 25,
        managers: 5,
        duplicate_rate: 0.03,
        max_disorder_ms: 0,
        ..GenConfig::default()
    })
    .into_time_ordered_events();
    let mut i = 0;
    while i + 40 < events.len() {
        if matches!(events[i], InputEvent::Call(_)) && i % 37 == 0 {
            let late = events.remove(i);
            events.insert(i + 40, late);
        }
        i += 1;
    }
    events
}

fn config() -> Arc<Config> {
    // Short retention, so leads are evicted (and forgotten in the changelog) within the data.
    let config =
        Config::from_toml_str("[state]\nterminal_retention = \"2d\"\nidle_retention = \"4d\"")
            .expect("config");
    Arc::new(config)
}

fn uninterrupted(events: &[InputEvent<'static>]) -> Vec<String> {
    let mut engine = Engine::new(config()).expect("engine");
    let mut findings = Vec::new();
    let mut driver = Driver::new(&mut engine);
    for event in events {
        driver.feed(event, &mut findings);
    }
    driver.finish(Some(until()), &mut findings);
    canonical(&findings)
}

fn feed(engine: &mut Engine, events: &[InputEvent<'static>], findings: &mut Vec<Finding>) {
    let mut driver = Driver::new(engine);
    for event in events {
        driver.feed(event, findings);
    }
}

/// Key of a changelog entry: (tenant, lead id; "" for the tenant's counters).
fn key(change: &StateChange) -> (String, String) {
    match change {
        StateChange::Lead(lead) => (lead.tenant.to_string(), lead.lead_id.to_string()),
        StateChange::Tenant(tenant) => (tenant.tenant.to_string(), String::new()),
        StateChange::Forget { tenant, lead_id } => (tenant.to_string(), lead_id.to_string()),
    }
}

/// Runs `events[..cut]` committing every `commit_every` records, "crashes", restores a new
/// engine from the changelog (`compacted`: the latest entry per key, tombstones applied; else
/// every entry in order), and runs the rest.
fn interrupted(
    events: &[InputEvent<'static>],
    cut: usize,
    commit_every: usize,
    compacted: bool,
) -> Vec<String> {
    let mut log: Vec<StateChange> = Vec::new();
    let mut findings = Vec::new();
    let mut first = Engine::new(config()).expect("engine");
    first.track_changes();
    for batch in events[..cut].chunks(commit_every) {
        feed(&mut first, batch, &mut findings);
        first.take_changes(&mut log);
    }
    let clock = first.clock();
    drop(first);

    let entries: Vec<StateChange> = if compacted {
        let mut latest: BTreeMap<(String, String), StateChange> = BTreeMap::new();
        for change in log {
            match change {
                StateChange::Forget { .. } => {
                    latest.remove(&key(&change));
                }
                other => {
                    latest.insert(key(&other), other);
                }
            }
        }
        latest.into_values().collect()
    } else {
        log
    };
    let mut second = Engine::new(config()).expect("engine");
    for entry in &entries {
        second.restore(entry).expect("restore");
    }
    let mut on_restore = Vec::new();
    second.advance_clock(clock, &mut on_restore);
    assert!(
        on_restore.is_empty(),
        "restoring the clock fires nothing already fired: {on_restore:?}"
    );
    let mut driver = Driver::new(&mut second);
    for event in &events[cut..] {
        driver.feed(event, &mut findings);
    }
    driver.finish(Some(until()), &mut findings);
    canonical(&findings)
}

#[test]
fn restored_at_fixed_points_the_findings_are_those_of_an_uninterrupted_run() {
    let events = events(11);
    let want = uninterrupted(&events);
    assert!(want.len() > 100, "a dataset with findings: {}", want.len());
    for rule in [
        "no_attempts_today",
        "daily_attempts_shortfall",
        "premature_rejection",
        "first_call_sla_breach",
        "stale_lead",
        "retraction",
        "call_listen",
        "rejection_recheck",
    ] {
        let quoted = format!("\"{rule}\"");
        assert!(
            want.iter().any(|f| f.contains(&quoted)),
            "the data exercises {rule}"
        );
    }
    for cut in [
        1,
        events.len() / 7,
        events.len() / 3,
        events.len() / 2,
        events.len() - 3,
    ] {
        for compacted in [false, true] {
            let got = interrupted(&events, cut, 50, compacted);
            assert!(
                got == want,
                "cut at {cut} of {} (compacted: {compacted}): {} findings instead of {}; first \
                 difference: {:?}",
                events.len(),
                got.len(),
                want.len(),
                got.iter().zip(&want).find(|(g, w)| g != w)
            );
        }
    }
}

#[test]
fn a_full_export_restores_the_same_state() {
    let events = events(5);
    // Default retention: nothing is evicted, every kind of state is still there.
    let cut = events.len() * 9 / 10;
    let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
    feed(&mut engine, &events[..cut], &mut Vec::new());
    let mut exported = Vec::new();
    engine.export(&mut exported);
    let mut restored = Engine::new(Arc::new(Config::default())).expect("engine");
    for entry in &exported {
        restored.restore(entry).expect("restore");
    }
    let mut again = Vec::new();
    restored.export(&mut again);
    fn sorted(mut v: Vec<StateChange<'_>>) -> Vec<StateChange<'_>> {
        v.sort_by_key(key);
        v
    }
    assert_eq!(sorted(again), sorted(exported));
    assert_eq!(restored.tracked_leads(), engine.tracked_leads());
    assert_eq!(
        restored.queued_work().1,
        engine.queued_work().1,
        "pending lead events"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn restored_anywhere_the_findings_are_unchanged(
        seed in 0u64..1000,
        cut_fraction in 0.0f64..1.0,
        commit_every in 1usize..400,
    ) {
        let events = events(seed);
        let cut = ((events.len() as f64) * cut_fraction) as usize;
        let want = uninterrupted(&events);
        let got = interrupted(&events, cut, commit_every, true);
        prop_assert!(got == want, "seed {} cut {} every {}: {} vs {} findings",
            seed, cut, commit_every, got.len(), want.len());
    }
}
