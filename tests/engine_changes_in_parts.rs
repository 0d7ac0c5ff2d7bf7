//! A commit's changes built in parts — any split points, parts built on threads of their own —
//! are the records one sequential pass builds, in the same order.

use std::sync::Arc;

use proptest::prelude::*;

use dozvon::config::Config;
use dozvon::engine::{Engine, StateChange};
use dozvon::generator::{GenConfig, generate};
use dozvon::model::InputEvent;
use dozvon::replay::Driver;

/// Two tenants' generated records merged in event-time order.
fn events(seed: u64) -> Vec<InputEvent<'static>> {
    let tenant = |name: &str, seed: u64| {
        generate(&GenConfig {
            seed,
            tenant: Some(name.to_owned()),
            id_prefix: format!("{name}-"),
            days: 6,
            leads_per_day: 20,
            managers: 4,
            duplicate_rate: 0.02,
            max_disorder_ms: 0,
            ..GenConfig::default()
        })
        .into_time_ordered_events()
    };
    let mut events = tenant("north", seed);
    events.extend(tenant("south", seed.wrapping_add(1)));
    events.sort_by_key(InputEvent::event_time);
    events
}

fn config() -> Arc<Config> {
    // Short retention, so leads are evicted (forgotten in the changelog) within the data.
    let config =
        Config::from_toml_str("[state]\nterminal_retention = \"2d\"\nidle_retention = \"3d\"")
            .expect("config");
    Arc::new(config)
}

fn tracked() -> Engine {
    let mut engine = Engine::new(config()).expect("engine");
    engine.track_changes();
    engine
}

/// The changes of `engine` built in the parts `cuts` mark (each part on a thread of its own).
fn in_parts(engine: &mut Engine, cuts: &[usize]) -> Vec<StateChange<'static>> {
    let changed = engine.take_changed();
    let view = engine.change_view(&changed);
    let len = view.len();
    assert_eq!(len, changed.len());
    let mut bounds: Vec<usize> = cuts.iter().map(|&cut| cut % (len + 1)).collect();
    bounds.extend([0, len]);
    bounds.sort_unstable();
    let view = &view;
    std::thread::scope(|scope| {
        let parts: Vec<_> = bounds
            .windows(2)
            .map(|pair| {
                let range = pair[0]..pair[1];
                scope.spawn(move || {
                    let mut out = Vec::new();
                    view.build(range, |change| out.push(change.to_owned_change()));
                    out
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("a part's thread"))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn parts_build_what_one_pass_builds(
        seed in 0u64..1_000,
        commit_every in 5usize..200,
        cuts in proptest::collection::vec(0usize..10_000, 0..5),
    ) {
        let events = events(seed);
        let (mut whole, mut split) = (tracked(), tracked());
        let mut findings = Vec::new();
        let mut commits = 0;
        for batch in events.chunks(commit_every) {
            for engine in [&mut whole, &mut split] {
                let mut driver = Driver::new(engine);
                for event in batch {
                    driver.feed(event, &mut findings);
                }
            }
            let mut expected = Vec::new();
            whole.take_changes(&mut expected);
            let got = in_parts(&mut split, &cuts);
            prop_assert_eq!(&got, &expected);
            commits += usize::from(!expected.is_empty());
        }
        prop_assert!(commits > 0);
        // Taken means gone: nothing is left for the next commit.
        prop_assert!(split.take_changed().is_empty());
    }
}
