//! Phone resolution and duplicate leads in `dozvon run` with two instances (SPEC §4.8, issue 7):
//! calls without `lead_id`, read on one instance, are bound to leads another owns; duplicate
//! leads are flagged with the earlier lead of another partition — exactly `replay`'s output.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use serde_json::Value;
use support::compare::{assert_findings, read_findings};
use support::dataset::{GEN, UNTIL, generate, read_ndjson};
use support::{Reader, Service, Topics, create_topics, http, ndjson_records, produce};

const PARTITIONS: i32 = 4;

fn write(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).expect("write dataset");
}

/// The generated dataset, with every fourth bound call's `lead_id` removed (its phone stays)
/// and, for every eighth lead created with a phone, a second lead two hours later with the
/// same number written another way (a duplicate, owned by another manager); lead events in
/// time order.
fn dataset(dir: &Path) {
    let out = dir.to_str().expect("utf-8 path");
    generate(&[&GEN[..], &["--out", out]].concat());
    let mut calls = read_ndjson(&dir.join("calls.ndjson"));
    for (i, call) in calls.iter_mut().enumerate() {
        if i % 4 == 0
            && let Some(object) = call.as_object_mut()
        {
            object.remove("lead_id");
        }
    }
    write(&dir.join("calls.ndjson"), &calls);
    let mut leads = read_ndjson(&dir.join("leads.ndjson"));
    let mut seen = BTreeSet::new();
    let mut duplicates = Vec::new();
    for lead in &leads {
        let (Some(id), Some(phone), Some(at)) = (
            lead["lead_id"].as_str(),
            lead["phone"].as_str(),
            lead["occurred_at"].as_str(),
        ) else {
            continue;
        };
        if !seen.insert(id.to_owned()) || seen.len() % 8 != 0 {
            continue;
        }
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let at =
            chrono::DateTime::parse_from_rfc3339(at).expect("time") + chrono::Duration::hours(2);
        duplicates.push(serde_json::json!({
            "event_id": format!("dup-{id}"),
            "lead_id": format!("DUP-{id}"),
            "occurred_at": at.to_rfc3339(),
            "stage": "NEW",
            "manager_id": "M-dup",
            "phone": format!("8 {}", &digits[1..]),
        }));
    }
    assert!(
        duplicates.len() >= 10,
        "some duplicates: {}",
        duplicates.len()
    );
    // In time order, so that no duplicate is late (late events are resolved as of the
    // watermark, which differs between replay and a partitioned service: docs/contacts.md).
    leads.extend(duplicates);
    leads.sort_by_key(|lead| {
        lead["occurred_at"]
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
    });
    write(&dir.join("leads.ndjson"), &leads);
}

/// Source and target partitions of every call in the resolved-calls topic.
fn forwarded(topic: &str) -> Vec<(i32, i32)> {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", support::brokers())
        .set("group.id", support::unique("forwarded"))
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .set("fetch.wait.max.ms", "5")
        .create()
        .expect("consumer");
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, rdkafka::Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&tpl).expect("assign");
    let (mut pairs, mut ended) = (Vec::new(), 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while ended < PARTITIONS && std::time::Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                let source = message.headers().and_then(|h| {
                    h.iter()
                        .find(|h| h.key == "dozvon.source.partition")
                        .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok())
                });
                if let Some(source) = source {
                    pairs.push((source, message.partition()));
                }
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => ended += 1,
            _ => {}
        }
    }
    pairs
}

#[test]
fn two_instances_bind_calls_by_phone_across_instances_and_flag_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    dataset(dir.path());
    let (calls, leads) = (
        dir.path().join("calls.ndjson"),
        dir.path().join("leads.ndjson"),
    );
    let (violations, reviews) = support::replay(&calls, &leads, UNTIL);
    let kind = |k: &str| reviews.iter().filter(|r| r["kind"] == k).count();
    eprintln!(
        "replay: {} violations, {} reviews",
        violations.len(),
        reviews.len()
    );
    assert!(kind("duplicate_lead") >= 5, "duplicates flagged by replay");
    assert!(kind("call_listen") >= 20, "touches reviewed by replay");

    let topics = Topics::new("contacts");
    create_topics(&[&topics.calls, &topics.leads], PARTITIONS);
    // The data comes after both instances are up (so that the range assignor has split the
    // partitions 2 + 2 before any call is routed), within the idle timeout: partitions that
    // delivered nothing for that long would follow the wall clock, and the March data would
    // arrive late. Once all is read, they go idle and the last timers fire.
    let config = |id: &str| {
        support::service_config(
            &topics,
            "exactly_once",
            &format!("transactional_id = \"{}\"", support::unique(id)),
        )
        .replace("idle_timeout = \"1s\"", "idle_timeout = \"30s\"")
    };
    let first = Service::start(&config("first"), &[]);
    let second = Service::start(&config("second"), &[]);
    let ready = |s: &Service| http::get(&format!("http://{}/readyz", s.http_address())).0 == 200;
    let restored = |s: &Service| s.log_text().contains("task restored");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !(ready(&first) && ready(&second) && restored(&second)) {
        assert!(
            std::time::Instant::now() < deadline,
            "both ready:\n{}\n{}",
            first.log_text(),
            second.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    produce(&topics.leads, &ndjson_records(&leads));
    produce(&topics.calls, &ndjson_records(&calls));
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], PARTITIONS);
    read_findings(
        &mut reader,
        &topics,
        (violations.len(), reviews.len()),
        Duration::from_secs(180),
        || format!("{}\n{}", first.log_text(), second.log_text()),
    );
    let log = format!("{}\n{}", first.log_text(), second.log_text());
    assert_findings(&reader, &topics, &violations, &reviews, &log);

    // Calls crossed partitions, and instances: with the range assignor, one instance owns
    // partitions 0 and 1, the other 2 and 3.
    let pairs = forwarded(&topics.resolved);
    let crossed = pairs.iter().filter(|(s, t)| s / 2 != t / 2).count();
    assert!(
        crossed >= 10,
        "calls bound by phone on one instance for leads of the other: {crossed} of {}",
        pairs.len()
    );
    let sent: f64 = [&first, &second]
        .iter()
        .map(|s| http::sum(&http::metrics(s).1, "dozvon_calls_forwarded_total"))
        .sum();
    assert!(
        sent >= pairs.len() as f64,
        "every forwarded call counted: {sent} vs {}",
        pairs.len()
    );
    for service in [first, second] {
        assert!(
            service.log_text().contains("task restored"),
            "each instance owns partitions"
        );
    }
}
