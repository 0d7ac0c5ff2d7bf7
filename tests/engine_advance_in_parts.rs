//! An advance of the engine's clock taken in parts (`advance_clock_within`, which the service
//! uses so that a clock jump never holds all its findings at once) gives exactly the findings
//! of whole advances, in the same order.

use std::sync::Arc;

use proptest::prelude::*;

use dozvon::config::Config;
use dozvon::engine::Engine;
use dozvon::generator::{GenConfig, generate};
use dozvon::model::{Finding, InputEvent, Timestamp};

/// Findings as JSON lines, in the order they came.
fn lines(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| match f {
            Finding::Violation(v) => serde_json::to_string(v),
            Finding::Qc(q) => serde_json::to_string(q),
        })
        .map(|r| r.expect("a finding serialises"))
        .collect()
}

/// Generated records in event-time order, with duplicates.
fn events(seed: u64) -> Vec<InputEvent<'static>> {
    generate(&GenConfig {
        seed,
        days: 6,
        leads_per_day: 30,
        managers: 5,
        duplicate_rate: 0.03,
        max_disorder_ms: 0,
        ..GenConfig::default()
    })
    .into_time_ordered_events()
}

fn apply(engine: &mut Engine, event: &InputEvent<'_>, out: &mut Vec<Finding>) {
    match event {
        InputEvent::Call(call) => {
            engine.apply_call(call, out);
        }
        InputEvent::Lead(lead) => {
            engine.apply_lead_event(lead, out);
        }
    }
}

/// Whole advances after each record; then the clock jumps to `end`.
fn whole(events: &[InputEvent<'static>], end: Timestamp) -> Vec<Finding> {
    let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
    let mut out = Vec::new();
    for event in events {
        apply(&mut engine, event, &mut out);
        engine.advance_clock(event.event_time(), &mut out);
    }
    engine.advance_clock(end, &mut out);
    out
}

/// The same with every advance taken in parts of at most `limit` findings (plus what one step
/// adds), each part's findings moved out before the next, as the service sends them. Returns
/// the findings and how many advances stopped early.
fn in_parts(events: &[InputEvent<'static>], end: Timestamp, limit: usize) -> (Vec<Finding>, usize) {
    let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
    let (mut sent, mut out, mut stops) = (Vec::new(), Vec::new(), 0);
    let mut advance = |engine: &mut Engine, clock: Timestamp, out: &mut Vec<Finding>| {
        while !engine.advance_clock_within(clock, out, limit) {
            assert!(engine.behind(), "stopped early but not behind");
            stops += 1;
            sent.append(out);
        }
        assert!(!engine.behind(), "got through but still behind");
        sent.append(out);
    };
    for event in events {
        apply(&mut engine, event, &mut out);
        advance(&mut engine, event.event_time(), &mut out);
    }
    advance(&mut engine, end, &mut out);
    (sent, stops)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn findings_in_parts_equal_whole_advances(seed in 0u64..1_000, limit in 1usize..6, jump_hours in 1i64..400) {
        let events = events(seed);
        let last = events.last().map(InputEvent::event_time).expect("events");
        let end = last.plus_millis(jump_hours * 3_600_000);
        let want = whole(&events, end);
        let (got, stops) = in_parts(&events, end, limit);
        prop_assert!(stops > 0, "no advance stopped early at limit {}", limit);
        prop_assert!(!want.is_empty());
        // The same findings in the same order: the service sends them as they come.
        prop_assert_eq!(lines(&got), lines(&want));
    }
}
