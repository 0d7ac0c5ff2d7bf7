//! `dozvon run` against a real broker: the SPEC §7 scenario and a generated dataset give
//! exactly the `replay` output; poison records are dead-lettered and processing goes on.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Reader, Service, Topics, canonical, create_topics, ndjson_records, produce};

/// A final watermark past every timer of the March 2026 datasets (all leads evicted by then),
/// which the service reaches too once its idle partitions follow the wall clock.
const UNTIL: &str = "2026-11-01T00:00:00Z";

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

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
    let (nv, nr) = (want_violations.len(), want_reviews.len());
    reader.read_until(
        Duration::from_secs(120),
        |r| r[&topics.violations].len() >= nv && r[&topics.qc_reviews].len() >= nr,
        || service.log_text(),
    );
    reader.read_for(Duration::from_secs(3));
    service.assert_running();
    assert_eq!(service.terminate(), Some(0), "exit status after SIGTERM");
    assert_eq!(
        canonical(&reader.payloads(&topics.violations)),
        canonical(&want_violations),
        "violations differ from replay"
    );
    assert_eq!(
        canonical(&reader.payloads(&topics.qc_reviews)),
        canonical(&want_reviews),
        "QC reviews differ from replay"
    );
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
