//! `dozvon run` reading Asterisk CDR rows from a real broker: the SPEC §7 scenario's calls as CDR
//! legs keyed by `linkedid` (so a call's legs share a partition, its lead's events maybe not)
//! give replay's findings with replay's ids; an internal call is skipped, a malformed row
//! dead-lettered with its reason.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::asterisk;
use support::compare::{FormatRun, assert_findings, run_to_a_dead_letter_and_a_skipped_call};
use support::dataset::{UNTIL, fixture, read_ndjson};
use support::{Reader, Service, Topics, create_topics, produce};

const ASTERISK_CALLS: &str = "[kafka.format]\ncalls = \"asterisk\"\n";

/// `records` keyed by `field` (`linkedid` for CDR rows, `lead_id` for lead events).
fn keyed(records: &[Value], field: &str) -> Vec<(Option<String>, Vec<u8>)> {
    records
        .iter()
        .map(|record| {
            let key = record[field].as_str().map(str::to_owned);
            (key, record.to_string().into_bytes())
        })
        .collect()
}

#[test]
fn asterisk_legs_through_kafka_across_partitions_equal_replay() {
    let dir = fixture("spec-7");
    let (want_violations, want_reviews) =
        support::replay(&dir.join("calls.ndjson"), &dir.join("leads.ndjson"), UNTIL);
    let calls = read_ndjson(&dir.join("calls.ndjson"));
    let mut cdrs = asterisk::cdrs(&calls);
    let start =
        chrono::DateTime::parse_from_rfc3339(calls[0]["started_at"].as_str().expect("started_at"))
            .expect("RFC 3339");
    cdrs.push(asterisk::internal_call(
        "internal-1",
        start + chrono::TimeDelta::minutes(5),
    ));
    let mut rows = asterisk::by_hangup(cdrs);
    assert!(rows.len() > calls.len() + 1, "some calls have several legs");
    let malformed = serde_json::json!({"uniqueid": "bad-1", "linkedid": "bad-1", "src": "101"});
    rows.insert(1, malformed.clone());

    let topics = Topics::new("asterisk");
    create_topics(&[&topics.calls, &topics.leads], 2);
    produce(
        &topics.leads,
        &keyed(&read_ndjson(&dir.join("leads.ndjson")), "lead_id"),
    );
    produce(&topics.calls, &keyed(&rows, "linkedid"));

    let config = support::service_config(&topics, "exactly_once", ASTERISK_CALLS);
    let want = (want_violations.len(), want_reviews.len());
    let FormatRun {
        reader,
        text,
        metrics,
        log,
    } = run_to_a_dead_letter_and_a_skipped_call(&config, &topics, 2, want);
    let skipped = r#"dozvon_input_records_total{input="calls",result="skipped"}"#;
    assert_findings(&reader, &topics, &want_violations, &want_reviews, &log);
    assert!(
        metrics["dozvon_calls_forwarded_total"] >= calls.len() as f64,
        "every merged call is routed to its lead's partition\n{text}"
    );
    assert_eq!(
        metrics.get(skipped).copied(),
        Some(1.0),
        "the internal call\n{text}"
    );
    let dead = &reader.records[&topics.dead_letter];
    assert_eq!(dead.len(), 1, "only the malformed row: {dead:?}");
    assert_eq!(dead[0].payload, malformed.to_string().into_bytes());
    let kind = dead[0].headers.get("dozvon.error.kind").cloned();
    assert_eq!(kind.as_deref(), Some(&b"missing"[..]), "{dead:?}");
}

#[test]
fn a_generated_dataset_as_cdr_legs_with_aborted_transactions_equals_replay() {
    // Queue calls, failed and unanswered calls, calls without a lead id (bound by phone),
    // records out of order and some twice, across two partitions; every third transaction
    // aborted, so legs and merged calls are read again from held-back offsets.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8 path");
    support::dataset::generate(&[&asterisk::GENERATED[..], &["--out", out]].concat());
    let (calls_path, leads_path) = (
        dir.path().join("calls.ndjson"),
        dir.path().join("leads.ndjson"),
    );
    let (want_violations, want_reviews) = support::replay(&calls_path, &leads_path, UNTIL);
    let calls = read_ndjson(&calls_path);
    assert!(
        calls.iter().any(|c| c.get("lead_id").is_none()),
        "calls to bind by phone"
    );
    let rows = asterisk::by_hangup(asterisk::cdrs(&calls));

    let topics = Topics::new("asterisk-gen");
    create_topics(&[&topics.calls, &topics.leads], 2);
    produce(&topics.leads, &keyed(&read_ndjson(&leads_path), "lead_id"));
    produce(&topics.calls, &keyed(&rows, "linkedid"));

    let config = support::service_config(
        &topics,
        "exactly_once",
        &format!("max_batch = 40\n{ASTERISK_CALLS}"),
    );
    let mut service = Service::start(&config, &[(dozvon::service::ABORT_EVERY_VAR, "3")]);
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 2);
    // Read until replay's counts are out (or time is up: the comparison names what differs).
    let deadline = Instant::now() + Duration::from_secs(240);
    while Instant::now() < deadline
        && (reader.records[&topics.violations].len() < want_violations.len()
            || reader.records[&topics.qc_reviews].len() < want_reviews.len())
    {
        reader.read_for(Duration::from_secs(1));
    }
    reader.read_for(Duration::from_secs(3));
    service.assert_running();
    assert_eq!(service.terminate(), Some(0), "exit status after SIGTERM");
    let log = service.log_text();
    assert_findings(&reader, &topics, &want_violations, &want_reviews, &log);
    assert!(
        log.matches("injected abort").count() >= 3,
        "transactions aborted:\n{log}"
    );
}
