//! Generator contract: determinism, delivery order, duplicates, ids, validation and streaming.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Timelike, Weekday};
use chrono_tz::Tz;
use dozvon::generator::{
    self, Dataset, GenConfig, GeneratedEvent, MAX_CALL_SKEW_MS, generate, generate_into,
};
use dozvon::model::{CallRecord, Direction, LeadEvent, Timestamp};

fn local(ts: Timestamp, tz: Tz) -> chrono::DateTime<Tz> {
    ts.to_datetime().with_timezone(&tz)
}

fn in_working_hours(ts: Timestamp, tz: Tz) -> bool {
    let t = local(ts, tz);
    !matches!(t.weekday(), Weekday::Sat | Weekday::Sun) && (9..18).contains(&t.hour())
}

fn ndjson(dataset: &Dataset) -> (Vec<u8>, Vec<u8>) {
    let (mut calls, mut leads) = (Vec::new(), Vec::new());
    dataset.write_ndjson(&mut calls, &mut leads).unwrap();
    (calls, leads)
}

fn merged(config: &GenConfig) -> Vec<GeneratedEvent> {
    let mut events = Vec::new();
    generate_into(config, &mut |event| events.push(event));
    events
}

/// Creation time per lead, from its `NEW` event.
fn creations(dataset: &Dataset) -> HashMap<String, Timestamp> {
    let new = dataset.leads.iter().filter(|l| l.stage == "NEW");
    new.map(|l| (l.lead_id.to_string(), l.created_at.unwrap()))
        .collect()
}

#[test]
fn same_config_gives_byte_identical_output() {
    let config = GenConfig::default();
    let first = ndjson(&generate(&config));
    assert_eq!(first, ndjson(&generate(&config)));
    assert!(first.0.len() > 100_000 && first.1.len() > 50_000);
    let other = GenConfig {
        seed: 7,
        ..GenConfig::default()
    };
    assert_ne!(first, ndjson(&generate(&other)));
}

#[test]
fn generate_and_generate_into_agree() {
    let config = GenConfig::default();
    let dataset = generate(&config);
    let events = merged(&config);
    assert_eq!(events.len(), dataset.len());
    let calls: Vec<&CallRecord> = events
        .iter()
        .filter_map(|e| match e {
            GeneratedEvent::Call(c) => Some(c),
            GeneratedEvent::Lead(_) => None,
        })
        .collect();
    let leads: Vec<&LeadEvent> = events
        .iter()
        .filter_map(|e| match e {
            GeneratedEvent::Lead(l) => Some(l),
            GeneratedEvent::Call(_) => None,
        })
        .collect();
    assert!(calls.iter().copied().eq(dataset.calls.iter()));
    assert!(leads.iter().copied().eq(dataset.leads.iter()));
    let latest = events.iter().map(GeneratedEvent::event_time).max();
    assert_eq!(dataset.latest_event_time(), latest);
}

fn assert_bounded_disorder(times: impl Iterator<Item = Timestamp>, max_disorder_ms: i64) -> i64 {
    let mut seen_max = i64::MIN / 2;
    let mut worst = 0;
    for t in times {
        let t = t.millis();
        assert!(
            t > seen_max - max_disorder_ms,
            "record {t} delivered too late after {seen_max}"
        );
        worst = worst.max(seen_max - t);
        seen_max = seen_max.max(t);
    }
    worst
}

#[test]
fn delivery_disorder_stays_below_the_bound() {
    let config = GenConfig::default();
    let events = merged(&config);
    let worst = assert_bounded_disorder(
        events.iter().map(GeneratedEvent::event_time),
        config.max_disorder_ms,
    );
    // Records really are out of order, by minutes.
    assert!(
        worst > config.max_disorder_ms / 2,
        "worst disorder {worst} ms"
    );
    let dataset = generate(&config);
    assert_bounded_disorder(
        dataset.calls.iter().map(|c| c.started_at),
        config.max_disorder_ms,
    );
    assert_bounded_disorder(
        dataset.leads.iter().map(|l| l.occurred_at),
        config.max_disorder_ms,
    );

    let ordered = GenConfig {
        max_disorder_ms: 0,
        duplicate_rate: 0.0,
        ..GenConfig::default()
    };
    let times: Vec<Timestamp> = merged(&ordered)
        .iter()
        .map(GeneratedEvent::event_time)
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "zero disorder must deliver in event-time order"
    );
}

fn id_of(event: &GeneratedEvent) -> &str {
    match event {
        GeneratedEvent::Call(c) => &c.call_id,
        GeneratedEvent::Lead(l) => &l.event_id,
    }
}

#[test]
fn ids_are_unique_apart_from_exact_duplicates() {
    for rate in [0.01, 0.05] {
        let config = GenConfig {
            duplicate_rate: rate,
            ..GenConfig::default()
        };
        let events = merged(&config);
        let mut by_id: HashMap<&str, Vec<&GeneratedEvent>> = HashMap::new();
        for event in &events {
            by_id.entry(id_of(event)).or_default().push(event);
        }
        let mut duplicated = 0;
        for copies in by_id.values() {
            assert!(copies.len() <= 2, "an id delivered {} times", copies.len());
            if copies.len() == 2 {
                assert_eq!(copies[0], copies[1], "duplicates must be exact copies");
                duplicated += 1;
            }
        }
        let observed = f64::from(duplicated) / by_id.len() as f64;
        assert!(
            observed > rate * 0.6 && observed < rate * 1.5,
            "duplicate rate {observed} for configured {rate}"
        );
    }
    let none = GenConfig {
        duplicate_rate: 0.0,
        ..GenConfig::default()
    };
    let events = merged(&none);
    assert_eq!(
        events.iter().map(id_of).collect::<HashSet<_>>().len(),
        events.len()
    );
}

#[test]
fn every_record_validates_and_round_trips_through_ndjson() {
    let dataset = generate(&GenConfig::default());
    assert!(!dataset.is_empty());
    dataset.calls.iter().for_each(|c| c.validate().unwrap());
    dataset.leads.iter().for_each(|l| l.validate().unwrap());
    let (calls, leads) = ndjson(&dataset);
    let calls = String::from_utf8(calls).unwrap();
    let leads = String::from_utf8(leads).unwrap();
    let parsed: Vec<CallRecord> = calls
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, dataset.calls);
    let parsed: Vec<LeadEvent> = leads
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, dataset.leads);
    assert!(
        !calls.contains("\"tenant\""),
        "no tenant configured, no tenant field"
    );
}

#[test]
fn tenant_and_prefix_are_applied() {
    let a = GenConfig {
        tenant: Some("acme".to_owned()),
        id_prefix: "a".to_owned(),
        days: 2,
        ..GenConfig::default()
    };
    let b = GenConfig {
        id_prefix: "b".to_owned(),
        ..a.clone()
    };
    let (da, db) = (generate(&a), generate(&b));
    assert!(da.calls.iter().all(|c| c.tenant.as_deref() == Some("acme")));
    assert!(da.leads.iter().all(|l| l.tenant.as_deref() == Some("acme")));
    assert!(
        da.leads
            .iter()
            .all(|l| l.lead_id.starts_with("aL") && l.event_id.starts_with("aE"))
    );
    assert!(da.calls.iter().all(|c| c.call_id.starts_with("aC")));
    let ids_a: HashSet<&str> = da.leads.iter().map(|l| &*l.lead_id).collect();
    assert!(db.leads.iter().all(|l| !ids_a.contains(&*l.lead_id)));
}

#[test]
fn calls_follow_creation_and_mostly_fall_in_working_hours() {
    let config = GenConfig::default();
    let tz = config.timezone;
    let dataset = generate(&config);
    let created = creations(&dataset);
    for call in &dataset.calls {
        if let Some(lead) = &call.lead_id {
            let at = created[&**lead];
            assert!(call.started_at.millis() >= at.millis() - MAX_CALL_SKEW_MS);
        }
    }
    for event in &dataset.leads {
        assert!(event.occurred_at >= created[&*event.lead_id]);
        assert_eq!(event.created_at, Some(created[&*event.lead_id]));
    }
    let outbound: Vec<&CallRecord> = dataset
        .calls
        .iter()
        .filter(|c| c.direction == Direction::Outbound)
        .collect();
    let inside = outbound
        .iter()
        .filter(|c| in_working_hours(c.started_at, tz))
        .count();
    let share = inside as f64 / outbound.len() as f64;
    assert!(
        share > 0.95 && share < 1.0,
        "share of outbound calls in working hours: {share}"
    );
}

#[test]
fn streaming_buffers_only_live_leads() {
    let config = GenConfig {
        days: 90,
        leads_per_day: 30,
        ..GenConfig::default()
    };
    let mut delivered = 0u64;
    let stats = generator::stream(&config, &mut |_| delivered += 1);
    assert_eq!(stats.records, delivered);
    assert_eq!(stats.leads, 90 * 30);
    assert!(stats.duplicates > 0 && stats.duplicates < stats.records / 50);
    assert!(
        (stats.peak_buffered as u64) < stats.records / 4,
        "peak buffer {} of {} records",
        stats.peak_buffered,
        stats.records
    );
}

#[test]
fn handles_dst_zones_and_tiny_configs() {
    let berlin = GenConfig {
        timezone: chrono_tz::Europe::Berlin,
        start: NaiveDate::from_ymd_opt(2026, 3, 26).unwrap(),
        days: 6,
        ..GenConfig::default()
    };
    let dataset = generate(&berlin);
    dataset.calls.iter().for_each(|c| c.validate().unwrap());
    let outbound = dataset
        .calls
        .iter()
        .filter(|c| c.direction == Direction::Outbound);
    let (inside, total) = outbound.fold((0, 0), |(i, t), c| {
        (
            i + usize::from(in_working_hours(c.started_at, berlin.timezone)),
            t + 1,
        )
    });
    assert!(inside * 100 > total * 95);
    let empty = GenConfig {
        days: 0,
        ..GenConfig::default()
    };
    assert!(generate(&empty).is_empty());
    assert_eq!(generate(&empty).latest_event_time(), None);
    let lone = GenConfig {
        managers: 1,
        leads_per_day: 3,
        days: 3,
        ..GenConfig::default()
    };
    let dataset = generate(&lone);
    assert!(
        dataset
            .calls
            .iter()
            .filter_map(|c| c.manager_id.as_deref())
            .all(|m| m == "m01" || m == "qc01")
    );
}
