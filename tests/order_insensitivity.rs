//! Property: delivering events out of order within `allowed_lateness` and repeating records
//! does not change the findings (SPEC §4.9, §4 "deterministic id").

mod findings;

use std::sync::Arc;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use dozvon::config::Config;
use dozvon::generator::{GenConfig, generate};
use dozvon::model::InputEvent;
use dozvon::replay::run_events;
use findings::canonical;

fn dataset_events(seed: u64) -> Vec<InputEvent<'static>> {
    let dataset = generate(&GenConfig {
        seed,
        days: 6,
        leads_per_day: 15,
        managers: 4,
        duplicate_rate: 0.0,
        max_disorder_ms: 0,
        ..GenConfig::default()
    });
    dataset.into_time_ordered_events()
}

/// Each event is delivered at `time + delay` with `delay < lateness`; some are delivered twice.
fn disorder(
    events: &[InputEvent<'static>],
    seed: u64,
    lateness_ms: i64,
    duplicate_rate: f64,
) -> Vec<InputEvent<'static>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut keyed: Vec<(i64, u64, InputEvent<'static>)> = Vec::new();
    for event in events {
        let copies = if rng.random_bool(duplicate_rate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = rng.random_range(0..lateness_ms);
            keyed.push((
                event.event_time().millis() + delay,
                rng.random(),
                event.clone(),
            ));
        }
    }
    keyed.sort_by_key(|(key, tie, _)| (*key, *tie));
    keyed.into_iter().map(|(_, _, event)| event).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn shuffling_within_lateness_and_duplicating_does_not_change_findings(
        data_seed in 0u64..10_000,
        shuffle_seed in any::<u64>(),
        duplicate_rate in 0.0f64..0.3,
    ) {
        let config = Arc::new(Config::default());
        let lateness_ms = i64::try_from(config.default_tenant.rules.allowed_lateness.as_millis()).unwrap_or(i64::MAX);
        let events = dataset_events(data_seed);
        let until = events.iter().map(InputEvent::event_time).max();
        let expected = canonical(&run_events(config.clone(), events.clone(), until).expect("engine"));
        prop_assert!(!expected.is_empty(), "the dataset must produce findings");
        let shuffled = disorder(&events, shuffle_seed, lateness_ms, duplicate_rate);
        let actual = canonical(&run_events(config, shuffled, until).expect("engine"));
        prop_assert_eq!(expected, actual);
    }
}

#[test]
fn delivery_beyond_the_lateness_can_change_findings() {
    // The property above is not vacuous: with delays far beyond the allowed lateness,
    // some days close before their calls arrive and the findings differ.
    let config = Arc::new(Config::default());
    let events = dataset_events(7);
    let until = events.iter().map(InputEvent::event_time).max();
    let expected = canonical(&run_events(config.clone(), events.clone(), until).expect("engine"));
    let shuffled = disorder(&events, 1, 3 * 24 * 3600 * 1000, 0.0);
    let actual = canonical(&run_events(config, shuffled, until).expect("engine"));
    assert_ne!(expected, actual);
}
