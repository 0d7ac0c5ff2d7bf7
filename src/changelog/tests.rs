use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::types::Value;
use proptest::prelude::*;

use super::*;
use crate::config::Config;
use crate::engine::Engine;
use crate::generator::{GenConfig, generate};
use crate::replay::Driver;

/// The state of an engine halfway through a generated dataset: leads in every condition.
fn exported() -> Vec<StateChange<'static>> {
    let events = generate(&GenConfig {
        days: 6,
        leads_per_day: 20,
        managers: 4,
        ..GenConfig::default()
    })
    .into_time_ordered_events();
    let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
    let mut driver = Driver::new(&mut engine);
    for event in &events[..events.len() * 2 / 3] {
        driver.feed(event, &mut Vec::new());
    }
    // A lead event at the clock waits for the watermark: a pending event in the state.
    let waiting = crate::model::LeadEvent {
        event_id: "waiting".into(),
        tenant: None,
        lead_id: "W".into(),
        occurred_at: engine.clock(),
        stage: "NEW".into(),
        manager_id: Some("m".into()),
        created_at: None,
        channel: Some("web".into()),
        phone: None,
        email: None,
        rejection_reason: Some("—".into()),
    };
    engine.apply_lead_event(&waiting, &mut Vec::new());
    let mut out = Vec::new();
    engine.export(&mut out);
    out.iter().map(StateChange::to_owned_change).collect()
}

#[test]
fn every_record_round_trips() {
    let changes = exported();
    assert!(changes.len() > 50);
    let with_pending = changes
        .iter()
        .filter(|c| matches!(c, StateChange::Lead(l) if !l.pending.is_empty()))
        .count();
    let with_episode = changes
        .iter()
        .filter(|c| matches!(c, StateChange::Lead(l) if l.episode.is_some()))
        .count();
    assert!(with_pending > 0 && with_episode > 0, "varied state");
    for change in changes.iter().chain([&StateChange::Forget {
        tenant: "t/1".into(),
        lead_id: "L-9".into(),
    }]) {
        let (key, value) = encode(change);
        assert_eq!(&decode(&key, value.as_deref()).expect("decodes"), change);
    }
}

/// A batch encoded back to back into one buffer gives each change's own record, tombstones
/// included, and the buffer is reused after `clear`.
#[test]
fn a_batch_holds_each_record_as_encoded_alone() {
    let mut changes = exported();
    changes.insert(
        3,
        StateChange::Forget {
            tenant: "t/1".into(),
            lead_id: "L-9".into(),
        },
    );
    let mut batch = Encoded::default();
    for round in 0..2 {
        batch.clear();
        for change in &changes {
            batch.push(change);
        }
        assert_eq!(batch.len(), changes.len(), "round {round}");
        for ((key, value), change) in batch.records().zip(&changes) {
            let (alone_key, alone_value) = encode(change);
            assert_eq!(key, &alone_key[..]);
            assert_eq!(value, alone_value.as_deref());
            assert_eq!(&decode(key, value).expect("decodes"), change);
        }
    }
    assert!(batch.records().any(|(_, value)| value.is_none()));
}

/// Our hand-written bytes are exactly what the schemas in `schemas/` describe: apache_avro
/// reads every datum with them, to the last byte, and sees the same values.
#[test]
fn the_bytes_follow_the_schemas() {
    // apache_avro fixes its allocation cap at its first use in the process: the codec's.
    crate::codec::schema::avro_allocation_limit();
    let lead_schema = Schema::parse_str(LEAD_SCHEMA).expect("lead schema");
    let tenant_schema = Schema::parse_str(TENANT_SCHEMA).expect("tenant schema");
    for change in exported() {
        let (_, value) = encode(&change);
        let value = value.expect("a value");
        let schema = match change {
            StateChange::Lead(_) => &lead_schema,
            _ => &tenant_schema,
        };
        let mut datum = &value[10..];
        let reader = apache_avro::reader::datum::GenericDatumReader::builder(schema)
            .build()
            .expect("a datum reader");
        let read = reader.read_value(&mut datum).expect("avro reads it");
        assert!(datum.is_empty(), "apache_avro consumed every byte");
        let Value::Record(fields) = read else {
            panic!("a record");
        };
        match &change {
            StateChange::Lead(lead) => {
                assert_eq!(
                    fields[1],
                    ("lead_id".into(), Value::String(lead.lead_id.to_string()))
                );
                let Value::Array(seen) = &fields[14].1 else {
                    panic!("seen is an array: {:?}", fields[14]);
                };
                assert_eq!(seen.len(), lead.seen.len());
                let Value::Array(pending) = &fields[15].1 else {
                    panic!("pending is an array");
                };
                assert_eq!(pending.len(), lead.pending.len());
            }
            StateChange::Tenant(t) => {
                assert_eq!(
                    fields[0],
                    ("tenant".into(), Value::String(t.tenant.to_string()))
                );
                assert_eq!(fields[1].1, Value::Long(t.overturned as i64));
            }
            StateChange::Forget { .. } => unreachable!("export has no tombstones"),
        }
    }
    for (what, source, fingerprint) in schemas() {
        assert_ne!(fingerprint, 0, "{what}: {source}");
    }
}

#[test]
fn foreign_values_are_refused_with_a_reason() {
    let change = exported().into_iter().next().expect("a change");
    let (key, value) = encode(&change);
    let mut value = value.expect("a value");
    let mut unknown = value.clone();
    unknown[2] ^= 0xff;
    assert!(matches!(
        decode(&key, Some(&unknown)),
        Err(ChangelogError::UnknownSchema { .. })
    ));
    assert_eq!(
        decode(&key, Some(b"{\"json\": true}")),
        Err(ChangelogError::NotSingleObject)
    );
    let mut other_key = key.clone();
    other_key.push(b'x');
    assert!(matches!(
        decode(&other_key, Some(&value)),
        Err(ChangelogError::Mismatch { .. })
    ));
    value.push(0);
    assert_eq!(
        decode(&key, Some(&value)),
        Err(ChangelogError::TrailingBytes { extra: 1 })
    );
    assert!(matches!(decode(&[], None), Err(ChangelogError::Key(_))));
    assert!(matches!(
        decode(b"T\x02ab", None),
        Err(ChangelogError::Key(_))
    ));
}

proptest! {
    /// Truncated or corrupted values give an error (or, rarely, another valid record), never a
    /// panic or a huge allocation.
    #[test]
    fn corrupt_values_never_panic(cut in 0usize..400, flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..4)) {
        let changes = exported();
        for change in changes.iter().take(30) {
            let (key, value) = encode(change);
            let mut value = value.expect("a value");
            for &(at, byte) in &flips {
                let len = value.len();
                value[10 + at % (len - 10)] ^= byte;
            }
            value.truncate(value.len().min(10 + cut));
            let _ = decode(&key, Some(&value));
        }
    }
}
