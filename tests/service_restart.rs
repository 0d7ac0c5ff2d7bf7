//! `dozvon run` stopped mid-stream and started again: the new instance rebuilds its tasks from
//! the changelog and the committed offsets, and the output of both together is `replay`'s.

mod support;

use std::time::{Duration, Instant};

use support::compare::{assert_findings_by_id, by_id, read_distinct_findings};
use support::dataset::Generated;
use support::{Reader, Service, Topics};

/// Runs the generated dataset through a first instance stopped (SIGTERM) after a few findings,
/// then a second one, and compares everything published with `replay` by finding id.
fn restart_matches_replay(test: &str, guarantee: &str) {
    let data = Generated::new();
    let topics = Topics::new(test);
    data.publish(&topics, 2);
    let config = support::service_config(&topics, guarantee, "max_batch = 50");
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 2);
    let mut first = Service::start(&config, &[]);
    reader.read_until(
        Duration::from_secs(120),
        |r| r[&topics.qc_reviews].len() >= 5,
        || first.log_text(),
    );
    assert_eq!(first.terminate(), Some(0), "first instance exit status");
    let mut second = Service::start(&config, &[]);
    // What is missing is named by the check below.
    read_distinct_findings(
        &mut reader,
        &topics,
        &data.violations,
        &data.reviews,
        Duration::from_secs(120),
    );
    assert_eq!(second.terminate(), Some(0), "second instance exit status");
    let logs = format!(
        "first instance:\n{}\nsecond instance:\n{}",
        first.log_text(),
        second.log_text()
    );
    assert!(
        logs.contains("task restored"),
        "the second instance restored its tasks:\n{logs}"
    );
    assert_findings_by_id(&reader, &topics, &data.violations, &data.reviews, &logs);
    if guarantee == "exactly_once" {
        assert_eq!(
            reader.payloads(&topics.violations).len(),
            by_id(&data.violations, "violation_id").len(),
            "no violation published twice"
        );
        assert_eq!(
            reader.payloads(&topics.qc_reviews).len(),
            by_id(&data.reviews, "review_id").len(),
            "no QC review published twice"
        );
    }
}

#[test]
fn restart_at_least_once_completes_the_output_without_changing_it() {
    restart_matches_replay("restart-alo", "at_least_once");
}

#[test]
fn restart_exactly_once_completes_the_output_exactly() {
    restart_matches_replay("restart-eos", "exactly_once");
}

/// A restart after everything was published (idle partitions had moved the clock to the wall
/// clock and fired every timer) publishes nothing more: the restored tasks resume at the clock
/// committed with the offsets, so no timer fires twice.
#[test]
fn restart_after_completion_fires_no_timer_twice() {
    let data = Generated::new();
    let topics = Topics::new("restart-idle");
    data.publish(&topics, 2);
    let config = support::service_config(&topics, "exactly_once", "");
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 2);
    let (nv, nr) = (data.violations.len(), data.reviews.len());
    let mut first = Service::start(&config, &[]);
    reader.read_until(
        Duration::from_secs(120),
        |r| r[&topics.violations].len() >= nv && r[&topics.qc_reviews].len() >= nr,
        || first.log_text(),
    );
    // Let a few more commits pass with idle partitions, then stop.
    reader.read_for(Duration::from_secs(2));
    assert_eq!(first.terminate(), Some(0), "first instance exit status");
    let mut second = Service::start(&config, &[]);
    // Restored, idle for longer than idle_timeout (1 s), a few commit intervals.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !second.log_text().contains("task restored") && Instant::now() < deadline {
        reader.read_for(Duration::from_millis(200));
    }
    reader.read_for(Duration::from_secs(4));
    second.assert_running();
    assert_eq!(second.terminate(), Some(0), "second instance exit status");
    let log = format!(
        "first instance:\n{}\nsecond instance:\n{}",
        first.log_text(),
        second.log_text()
    );
    assert!(
        log.contains("task restored"),
        "the second instance restored:\n{log}"
    );
    assert_eq!(
        reader.payloads(&topics.violations).len(),
        nv,
        "no violation published again\n{log}"
    );
    assert_eq!(
        reader.payloads(&topics.qc_reviews).len(),
        nr,
        "no QC review published again\n{log}"
    );
}
