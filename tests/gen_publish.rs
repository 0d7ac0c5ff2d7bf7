//! `generator::publish` against the test broker (Tansu from scripts/test.sh, or any Kafka in
//! DOZVON_TEST_BROKERS): generated traffic reaches Kafka complete, in delivery order per lead,
//! keyed and co-partitioned by `lead_id`; a stop flag ends a paced run early with everything
//! sent delivered.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use dozvon::codec::{Encoding, decode_call, decode_lead};
use dozvon::generator::publish::{Pace, PublishError, PublishOptions, PublishReport, publish};
use dozvon::generator::{GenConfig, GeneratedEvent, generate, generate_into};
use dozvon::model::{CallRecord, InputEvent, LeadEvent};

mod support;

use support::{brokers, unique};

const PARTITIONS: i32 = 4;

fn small_config() -> GenConfig {
    GenConfig {
        seed: 7,
        days: 3,
        managers: 3,
        leads_per_day: 15,
        duplicate_rate: 0.05,
        ..GenConfig::default()
    }
}

fn delivery_order(config: &GenConfig) -> Vec<GeneratedEvent> {
    let mut events = Vec::new();
    generate_into(config, &mut |event| events.push(event));
    events
}

fn options(name: &str, encoding: Encoding, pace: Pace) -> PublishOptions {
    PublishOptions {
        calls_topic: unique(&format!("{name}-calls")),
        leads_topic: unique(&format!("{name}-leads")),
        encoding,
        pace,
        create_partitions: Some(PARTITIONS),
        properties: vec![("message.timeout.ms".to_owned(), "30000".to_owned())],
        ..PublishOptions::new(brokers())
    }
}

/// One consumed message: partition, key, payload, in offset order per partition.
struct Consumed {
    partition: i32,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
}

/// Reads every partition of `topic` from the beginning until each reports EOF.
fn consume_all(topic: &str) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", format!("{topic}-reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("session.timeout.ms", "6000")
        .set("fetch.wait.max.ms", "5")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    let mut at_end = BTreeSet::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while at_end.len() < PARTITIONS as usize {
        assert!(
            Instant::now() < deadline,
            "{topic}: only partitions {at_end:?} drained within 60 s ({} messages read)",
            out.len()
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                assert!(
                    !at_end.contains(&message.partition()),
                    "{topic}: a message after EOF of partition {}",
                    message.partition()
                );
                out.push(Consumed {
                    partition: message.partition(),
                    key: message.key().map(<[u8]>::to_vec),
                    payload: message.payload().expect("a payload").to_vec(),
                });
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition);
            }
            Some(Err(error)) => eprintln!("transient consumer error: {error}"),
            None => {}
        }
    }
    out
}

/// Calls and lead events read back, decoded, each with its partition and key.
struct ReadBack {
    calls: Vec<(i32, Option<Vec<u8>>, CallRecord<'static>)>,
    leads: Vec<(i32, Option<Vec<u8>>, LeadEvent<'static>)>,
}

fn read_back(options: &PublishOptions) -> ReadBack {
    let calls = consume_all(&options.calls_topic)
        .into_iter()
        .map(|m| {
            let call = decode_call(&m.payload)
                .expect("a call decodes")
                .into_owned();
            (m.partition, m.key, call)
        })
        .collect();
    let leads = consume_all(&options.leads_topic)
        .into_iter()
        .map(|m| {
            let lead = decode_lead(&m.payload)
                .expect("a lead event decodes")
                .into_owned();
            (m.partition, m.key, lead)
        })
        .collect();
    ReadBack { calls, leads }
}

/// Java's `Utils.murmur2` (the default partitioner's hash), to check the partition choice.
fn java_murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

fn java_partition(key: &str) -> i32 {
    (java_murmur2(key.as_bytes()) & 0x7fff_ffff) % PARTITIONS
}

fn sorted_json<T: serde::Serialize>(records: impl Iterator<Item = T>) -> Vec<String> {
    let mut out: Vec<String> = records
        .map(|r| serde_json::to_string(&r).expect("serializes"))
        .collect();
    out.sort();
    out
}

#[test]
fn published_traffic_reads_back_complete_keyed_and_co_partitioned() {
    let config = small_config();
    let dataset = generate(&config);
    let events = delivery_order(&config);
    assert!(
        dataset.calls.iter().any(|c| c.lead_id.is_none()),
        "the dataset should include calls without lead_id"
    );
    assert!(dataset.len() > 200, "dataset too small: {}", dataset.len());
    let options = options("publish", Encoding::Json, Pace::Unlimited);

    let report = publish(&events, &options, &AtomicBool::new(false)).expect("published");
    eprintln!(
        "published {} calls + {} leads in {:?}: {:.0} records/s",
        report.calls,
        report.leads,
        report.elapsed,
        report.rate()
    );
    assert!(!report.stopped);
    assert_eq!(report.calls, dataset.calls.len() as u64);
    assert_eq!(report.leads, dataset.leads.len() as u64);

    let back = read_back(&options);
    // Exactly the dataset, duplicates included.
    assert_eq!(back.calls.len(), dataset.calls.len());
    assert_eq!(back.leads.len(), dataset.leads.len());
    assert_eq!(
        sorted_json(back.calls.iter().map(|(_, _, c)| c)),
        sorted_json(dataset.calls.iter())
    );
    assert_eq!(
        sorted_json(back.leads.iter().map(|(_, _, l)| l)),
        sorted_json(dataset.leads.iter())
    );

    // Keys are lead ids; a lead's records share one partition number in both topics, the one
    // the Java client would pick.
    let mut partition_of: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for (partition, key, call) in &back.calls {
        assert_eq!(
            key.as_deref(),
            call.lead_id.as_deref().map(str::as_bytes),
            "key of call {}",
            call.call_id
        );
        if let Some(lead_id) = &call.lead_id {
            partition_of
                .entry(lead_id.to_string())
                .or_default()
                .insert(*partition);
        }
    }
    for (partition, key, lead) in &back.leads {
        assert_eq!(
            key.as_deref(),
            Some(lead.lead_id.as_bytes()),
            "key of lead event {}",
            lead.event_id
        );
        partition_of
            .entry(lead.lead_id.to_string())
            .or_default()
            .insert(*partition);
    }
    for (lead_id, partitions) in &partition_of {
        assert_eq!(
            partitions,
            &BTreeSet::from([java_partition(lead_id)]),
            "partitions of lead {lead_id}"
        );
    }
    let used: BTreeSet<i32> = partition_of.values().flatten().copied().collect();
    assert!(used.len() > 1, "all leads on one partition: {used:?}");

    // Per lead, records arrive in the order they were published (the delivery order).
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in &events {
        let (lead_id, json) = match event {
            InputEvent::Call(call) => (call.lead_id.as_deref(), serde_json::to_string(call)),
            InputEvent::Lead(lead) => (Some(&*lead.lead_id), serde_json::to_string(lead)),
        };
        if let Some(lead_id) = lead_id {
            let kind = if matches!(event, InputEvent::Call(_)) {
                "call"
            } else {
                "lead"
            };
            expected
                .entry(format!("{kind} {lead_id}"))
                .or_default()
                .push(json.expect("serializes"));
        }
    }
    let mut actual: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, _, call) in &back.calls {
        if let Some(lead_id) = &call.lead_id {
            actual
                .entry(format!("call {lead_id}"))
                .or_default()
                .push(serde_json::to_string(call).expect("serializes"));
        }
    }
    for (_, _, lead) in &back.leads {
        actual
            .entry(format!("lead {}", lead.lead_id))
            .or_default()
            .push(serde_json::to_string(lead).expect("serializes"));
    }
    assert_eq!(
        actual, expected,
        "per-lead order differs from delivery order"
    );
}

#[test]
fn stop_ends_a_paced_run_early_and_delivers_what_was_sent() {
    let config = small_config();
    let events = delivery_order(&config);
    let total = events.len() as u64;
    let rate = 50.0;
    let options = options("stop", Encoding::AvroSingleObject, Pace::Rate(rate));

    let stop = AtomicBool::new(false);
    let report: PublishReport = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            stop.store(true, Ordering::Relaxed);
        });
        publish(&events, &options, &stop).expect("published until stopped")
    });
    eprintln!(
        "stopped after {} of {total} records: {report:?}",
        report.records()
    );
    assert!(report.stopped);
    assert!(report.records() > 0, "nothing sent before the stop");
    assert!(report.records() < total, "not stopped early");
    // Paced: about `rate` records a second, never a burst.
    assert!(
        report.records() as f64 <= rate * report.elapsed.as_secs_f64() + 2.0,
        "{} records in {:?} exceeds {rate}/s",
        report.records(),
        report.elapsed
    );

    let back = read_back(&options);
    assert_eq!(back.calls.len() as u64, report.calls);
    assert_eq!(back.leads.len() as u64, report.leads);
    // What was sent is a prefix of the delivery order.
    let sent = &events[..report.records() as usize];
    let sent_calls = sent.iter().filter_map(|e| match e {
        InputEvent::Call(call) => Some(call),
        InputEvent::Lead(_) => None,
    });
    let sent_leads = sent.iter().filter_map(|e| match e {
        InputEvent::Lead(lead) => Some(lead),
        InputEvent::Call(_) => None,
    });
    assert_eq!(
        sorted_json(back.calls.iter().map(|(_, _, c)| c)),
        sorted_json(sent_calls)
    );
    assert_eq!(
        sorted_json(back.leads.iter().map(|(_, _, l)| l)),
        sorted_json(sent_leads)
    );
}

#[test]
fn missing_or_differently_partitioned_topics_are_refused() {
    let none: [GeneratedEvent; 0] = [];
    let stop = AtomicBool::new(false);
    let missing = PublishOptions {
        create_partitions: None,
        ..options("missing", Encoding::Json, Pace::Unlimited)
    };
    match publish(none.iter(), &missing, &stop) {
        Err(PublishError::MissingTopic { topic }) => assert_eq!(topic, missing.calls_topic),
        other => panic!("expected a missing topic, got {other:?}"),
    }

    let two = PublishOptions {
        create_partitions: Some(2),
        ..options("mismatch", Encoding::Json, Pace::Unlimited)
    };
    let report = publish(none.iter(), &two, &stop).expect("topics created");
    assert_eq!(report.records(), 0);
    let four = PublishOptions {
        calls_topic: two.calls_topic.clone(),
        ..options("mismatch", Encoding::Json, Pace::Unlimited)
    };
    match publish(none.iter(), &four, &stop) {
        Err(PublishError::PartitionMismatch { calls, leads, .. }) => {
            assert_eq!((calls, leads), (2, PARTITIONS as usize));
        }
        other => panic!("expected a partition mismatch, got {other:?}"),
    }
}
