//! `dozvon run` against a real broker: the SPEC §7 scenario and a generated dataset give
//! exactly the `replay` output; poison records are dead-lettered and processing goes on.

mod support;

use std::path::Path;
use std::time::Duration;

use support::compare::{assert_findings, read_findings};
use support::dataset::{Generated, UNTIL, fixture};
use support::{Reader, Service, Topics, create_topics, ndjson_records, produce};

/// Produces both files, runs the service until it has published the replay's output, and
/// checks the sets are equal (and stay so for a moment more).
fn run_matches_replay(test: &str, calls: &Path, leads: &Path, partitions: i32, guarantee: &str) {
    let (want_violations, want_reviews) = support::replay(calls, leads, UNTIL);
    assert!(
        !want_violations.is_empty() && !want_reviews.is_empty(),
        "a scenario with findings"
    );
    let topics = Topics::new(test);
    create_topics(&[&topics.calls, &topics.leads], partitions);
    produce(&topics.calls, &ndjson_records(calls));
    produce(&topics.leads, &ndjson_records(leads));
    let mut service = Service::start(&support::service_config(&topics, guarantee, ""), &[]);
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], partitions);
    let want = (want_violations.len(), want_reviews.len());
    read_findings(&mut reader, &topics, want, Duration::from_secs(120), || {
        service.log_text()
    });
    service.assert_running();
    assert_eq!(service.terminate(), Some(0), "exit status after SIGTERM");
    let log = service.log_text();
    assert_findings(&reader, &topics, &want_violations, &want_reviews, &log);
}

#[test]
fn spec_7_scenario_through_kafka_equals_replay() {
    let dir = fixture("spec-7");
    run_matches_replay(
        "spec7",
        &dir.join("calls.ndjson"),
        &dir.join("leads.ndjson"),
        1,
        "at_least_once",
    );
}

#[test]
fn generated_dataset_through_run_equals_replay() {
    let data = Generated::new();
    let topics = Topics::new("generated");
    data.publish(&topics, 4);
    let mut service = Service::start(&support::service_config(&topics, "exactly_once", ""), &[]);
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 4);
    let want = (data.violations.len(), data.reviews.len());
    read_findings(&mut reader, &topics, want, Duration::from_secs(180), || {
        service.log_text()
    });
    assert_eq!(service.terminate(), Some(0), "exit status after SIGTERM");
    let log = service.log_text();
    assert_findings(&reader, &topics, &data.violations, &data.reviews, &log);
}

#[test]
fn poison_records_are_dead_lettered_and_processing_continues() {
    let topics = Topics::new("poison");
    create_topics(&[&topics.calls, &topics.leads], 1);
    let lead = br#"{"event_id":"e1","lead_id":"P1","occurred_at":"2026-03-02T10:00:00+03:00","stage":"NEW","manager_id":"M"}"#;
    let good_call = br#"{"call_id":"c-good","lead_id":"P1","phone":"+7 999","manager_id":"M","direction":"outbound","started_at":"2026-03-02T10:05:00+03:00","talk_seconds":95,"disposition":"answered","recording_url":"https://pbx/r/1"}"#;
    let not_json = b"\x00\x01garbage".to_vec();
    let missing_field = br#"{"call_id":"c-bad","lead_id":"P1","direction":"outbound"}"#.to_vec();
    produce(&topics.leads, &[(Some("P1".into()), lead.to_vec())]);
    support::produce_with_headers(
        &topics.calls,
        &[
            (
                Some("P1".into()),
                Some(not_json.clone()),
                vec![("trace-id", "t-1")],
            ),
            (Some("P1".into()), Some(missing_field.clone()), vec![]),
            (Some("P1".into()), None, vec![]),
            (Some("P1".into()), Some(good_call.to_vec()), vec![]),
        ],
    );
    let mut service = Service::start(&support::service_config(&topics, "exactly_once", ""), &[]);
    let mut reader = Reader::new(&[&topics.dead_letter, &topics.qc_reviews], 1);
    reader.read_until(
        Duration::from_secs(120),
        |r| r[&topics.dead_letter].len() >= 3 && !r[&topics.qc_reviews].is_empty(),
        || service.log_text(),
    );
    reader.read_for(Duration::from_secs(2));
    service.assert_running();
    assert_eq!(service.terminate(), Some(0));
    let dead = &reader.records[&topics.dead_letter];
    assert_eq!(dead.len(), 3, "exactly the three bad records: {dead:?}");
    let header = |i: usize, key: &str| {
        String::from_utf8(dead[i].headers.get(key).cloned().unwrap_or_default()).expect("utf-8")
    };
    for (i, record) in dead.iter().enumerate() {
        assert_eq!(record.key.as_deref(), Some(&b"P1"[..]), "original key kept");
        assert_eq!(header(i, "dozvon.source.topic"), topics.calls);
        assert_eq!(header(i, "dozvon.source.partition"), "0");
        assert_eq!(header(i, "dozvon.source.offset"), i.to_string());
        assert!(!header(i, "dozvon.error").is_empty(), "a reason");
    }
    assert_eq!(dead[0].payload, not_json, "original bytes kept");
    assert_eq!(header(0, "trace-id"), "t-1", "original headers kept");
    assert_eq!(dead[1].payload, missing_field);
    assert!(
        header(1, "dozvon.error").contains("started_at")
            || header(1, "dozvon.error").contains("phone"),
        "the reason names a missing field: {}",
        header(1, "dozvon.error")
    );
    assert_eq!(header(2, "dozvon.error.kind"), "empty");
    let reviews = reader.payloads(&topics.qc_reviews);
    assert_eq!(
        reviews.len(),
        1,
        "the good call after the bad ones was processed: {reviews:?}"
    );
    assert_eq!(reviews[0]["call_id"], "c-good");
    assert_eq!(reviews[0]["kind"], "call_listen");
}
