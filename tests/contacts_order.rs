//! Property: with phone resolution and duplicate detection (docs/contacts.md), delivering events
//! out of order within `allowed_lateness` and repeating records changes neither the findings nor
//! which calls are resolved.

mod findings;

use std::borrow::Cow;
use std::sync::Arc;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use dozvon::config::Config;
use dozvon::contacts::ContactStats;
use dozvon::engine::Engine;
use dozvon::model::{CallRecord, Direction, Disposition, InputEvent, LeadEvent, Timestamp};
use dozvon::replay::Driver;
use findings::canonical;

/// Monday 2026-03-02 09:00 Moscow.
const START_MS: i64 = 1_772_431_200_000;
const HOUR_MS: i64 = 3_600_000;

/// A client number (last digit `n`) in one of the ways PBXs and CRMs write it.
fn written(n: u32, style: u32) -> String {
    match style % 4 {
        0 => format!("+7 916 000-00-0{n}"),
        1 => format!("8916000000{n}"),
        2 => format!("8 (916) 000-00-0{n}"),
        _ => format!("916000000{n}"),
    }
}

fn at(ms: i64) -> Timestamp {
    Timestamp::saturating_from_millis(ms - ms.rem_euclid(1000))
}

/// A small sales floor where leads share three phone numbers and two e-mails: duplicates,
/// rejections, QC returns, and calls with and without `lead_id`.
fn world(seed: u64) -> Vec<InputEvent<'static>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut events = Vec::new();
    let leads = rng.random_range(3..8);
    let manager = |rng: &mut StdRng| Some(Cow::Owned(format!("M{}", rng.random_range(1..4))));
    for lead in 0..leads {
        let lead_id = format!("L{lead}");
        let mut t = START_MS + rng.random_range(0..48 * HOUR_MS);
        let phone = rng
            .random_bool(0.85)
            .then(|| written(rng.random_range(1..4), rng.random()));
        let email = rng
            .random_bool(0.3)
            .then(|| ["Anna@X.ru", "boris@x.ru"][rng.random_range(0..2)].to_owned());
        let stages: &[&str] = match rng.random_range(0..4) {
            0 => &["NEW"],
            1 => &["NEW", "IN_PROCESS"],
            2 => &["NEW", "JUNK"],
            _ => &["NEW", "JUNK", "IN_PROCESS", "CONVERTED"],
        };
        for (i, stage) in stages.iter().enumerate() {
            events.push(InputEvent::Lead(LeadEvent {
                event_id: Cow::Owned(format!("{lead_id}-e{i}")),
                tenant: None,
                lead_id: Cow::Owned(lead_id.clone()),
                occurred_at: at(t),
                stage: Cow::Borrowed(stage),
                manager_id: manager(&mut rng),
                created_at: None,
                channel: None,
                phone: (i == 0).then(|| phone.clone().map(Cow::Owned)).flatten(),
                email: (i == 0).then(|| email.clone().map(Cow::Owned)).flatten(),
                rejection_reason: None,
            }));
            t += rng.random_range(HOUR_MS / 6..30 * HOUR_MS);
        }
    }
    for call in 0..rng.random_range(10..40) {
        let bound = rng.random_bool(0.3);
        let answered = rng.random_bool(0.3);
        events.push(InputEvent::Call(CallRecord {
            call_id: Cow::Owned(format!("c{call}")),
            tenant: None,
            lead_id: bound.then(|| Cow::Owned(format!("L{}", rng.random_range(0..leads)))),
            phone: Cow::Owned(written(rng.random_range(1..5), rng.random())),
            manager_id: manager(&mut rng),
            direction: if rng.random_bool(0.7) {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            started_at: at(START_MS + rng.random_range(0..72 * HOUR_MS)),
            talk_seconds: if answered { 60 } else { 0 },
            disposition: if answered {
                Disposition::Answered
            } else {
                Disposition::NoAnswer
            },
            recording_url: None,
        }));
    }
    events.sort_by_key(InputEvent::event_time);
    events
}

/// Each event is delivered at `time + delay` with `delay < lateness`; some are delivered twice.
fn disorder(
    events: &[InputEvent<'static>],
    seed: u64,
    lateness_ms: i64,
    repeat: f64,
) -> Vec<InputEvent<'static>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut keyed = Vec::new();
    for event in events {
        let copies = if rng.random_bool(repeat) { 2 } else { 1 };
        for _ in 0..copies {
            let delay = rng.random_range(0..lateness_ms);
            keyed.push((
                event.event_time().millis() + delay,
                rng.random::<u64>(),
                event.clone(),
            ));
        }
    }
    keyed.sort_by_key(|(key, tie, _)| (*key, *tie));
    keyed.into_iter().map(|(_, _, event)| event).collect()
}

fn run(events: &[InputEvent<'static>], until: Option<Timestamp>) -> (Vec<String>, ContactStats) {
    let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
    let mut driver = Driver::resolving(&mut engine);
    let mut findings = Vec::new();
    for event in events {
        driver.feed(event, &mut findings);
    }
    let finished = driver.finish(until, &mut findings);
    (canonical(&findings), finished.contacts.unwrap_or_default())
}

fn lateness_ms() -> i64 {
    let lateness = Config::default().default_tenant.rules.allowed_lateness;
    i64::try_from(lateness.as_millis()).unwrap_or(i64::MAX)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn resolution_and_duplicates_do_not_depend_on_delivery_order(
        world_seed in 0u64..100_000,
        shuffle_seed in any::<u64>(),
        repeat in prop::sample::select(vec![0.0, 0.25]),
    ) {
        let events = world(world_seed);
        let until = events.iter().map(InputEvent::event_time).max();
        let (expected, expected_stats) = run(&events, until);
        let shuffled = disorder(&events, shuffle_seed, lateness_ms(), repeat);
        let (actual, actual_stats) = run(&shuffled, until);
        prop_assert_eq!(expected, actual);
        prop_assert_eq!(expected_stats.duplicate_leads, actual_stats.duplicate_leads);
        if repeat == 0.0 {
            // A repeated call is resolved again (then ignored by the engine): compare unrepeated.
            prop_assert_eq!(expected_stats, actual_stats);
        }
    }
}

#[test]
fn the_worlds_exercise_resolution_and_duplicates() {
    let mut total = ContactStats::default();
    for seed in 0..30 {
        let events = world(seed);
        let until = events.iter().map(InputEvent::event_time).max();
        let (_, stats) = run(&events, until);
        total.resolved_calls += stats.resolved_calls;
        total.unresolved_calls += stats.unresolved_calls;
        total.duplicate_leads += stats.duplicate_leads;
    }
    assert!(total.resolved_calls > 50, "{total:?}");
    assert!(total.unresolved_calls > 20, "{total:?}");
    assert!(total.duplicate_leads > 10, "{total:?}");
}

#[test]
fn delivery_beyond_the_lateness_can_change_the_resolution() {
    // A call to a lead's number, then the lead is rejected. Delivered after the watermark has
    // passed the rejection, the call is late: it is resolved as of the watermark and finds no
    // open lead.
    let lead = |id: &str, ms: i64, stage: &'static str| {
        InputEvent::Lead(LeadEvent {
            event_id: Cow::Owned(format!("{id}-{stage}")),
            tenant: None,
            lead_id: Cow::Owned(id.to_owned()),
            occurred_at: at(ms),
            stage: Cow::Borrowed(stage),
            manager_id: None,
            created_at: None,
            channel: None,
            phone: Some(Cow::Owned(written(1, 0))),
            email: None,
            rejection_reason: None,
        })
    };
    let call = InputEvent::Call(CallRecord {
        call_id: Cow::Borrowed("c"),
        tenant: None,
        lead_id: None,
        phone: Cow::Owned(written(1, 1)),
        manager_id: None,
        direction: Direction::Outbound,
        started_at: at(START_MS + HOUR_MS),
        talk_seconds: 0,
        disposition: Disposition::NoAnswer,
        recording_url: None,
    });
    let created = lead("A", START_MS, "NEW");
    let rejected = lead("A", START_MS + 2 * HOUR_MS, "JUNK");
    let until = Some(at(START_MS + 4 * HOUR_MS));
    let (_, in_order) = run(&[created.clone(), call.clone(), rejected.clone()], until);
    assert_eq!(in_order.resolved_calls, 1);
    let mut other = lead("B", START_MS + 3 * HOUR_MS, "NEW");
    if let InputEvent::Lead(b) = &mut other {
        b.phone = Some(Cow::Owned(written(2, 0)));
    }
    let (_, late) = run(&[created, rejected, other, call], until);
    assert_eq!((late.resolved_calls, late.unresolved_calls), (0, 1));
}
