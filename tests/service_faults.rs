//! Exactly-once under faults, against a real broker: aborted transactions leave no trace in
//! the output, and a zombie instance fenced by its successor publishes nothing and stops.

mod support;

use std::time::{Duration, Instant};

use dozvon::service::{ABORT_EVERY_VAR, RESUME_FILE_VAR, STALL_COMMIT_VAR};
use support::compare::{assert_findings, read_findings};
use support::dataset::Generated;
use support::{Reader, Service, Topics};

#[test]
fn aborted_transactions_leave_no_trace() {
    let data = Generated::new();
    let topics = Topics::new("aborts");
    data.publish(&topics, 2);
    let config = support::service_config(&topics, "exactly_once", "max_batch = 40");
    // Every third transaction is aborted: the batch is rewound and the tasks rebuilt.
    let mut service = Service::start(&config, &[(ABORT_EVERY_VAR, "3")]);
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 2);
    let want = (data.violations.len(), data.reviews.len());
    read_findings(&mut reader, &topics, want, Duration::from_secs(120), || {
        service.log_text()
    });
    service.assert_running();
    // Redone batches are counted once: the counters hold what was committed.
    let (text, metrics) = support::http::metrics(&service);
    assert_eq!(service.terminate(), Some(0));
    let log = service.log_text();
    let aborts = log.matches("injected abort").count();
    assert!(
        aborts >= 3,
        "at least three transactions aborted ({aborts}):\n{log}"
    );
    assert_findings(&reader, &topics, &data.violations, &data.reviews, &log);
    assert!(metrics["dozvon_aborts_total"] >= 3.0, "{text}");
    assert_eq!(
        support::http::sum(&metrics, "dozvon_input_records_total{"),
        data.events() as f64,
        "every input record counted once\n{text}"
    );
    assert_eq!(
        support::http::sum(&metrics, "dozvon_findings_total{"),
        (data.violations.len() + data.reviews.len()) as f64,
        "every finding counted once\n{text}"
    );
}

#[test]
fn a_fenced_zombie_publishes_nothing_and_stops() {
    let data = Generated::new();
    let topics = Topics::new("fencing");
    data.publish(&topics, 2);
    let id = support::unique("txn");
    let config = support::service_config(
        &topics,
        "exactly_once",
        &format!("max_batch = 40\ntransactional_id = \"{id}\""),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let resume = dir.path().join("resume");
    let resume_path = resume.to_str().expect("utf-8 path");
    // The zombie: its third transaction stops before the commit, outputs written.
    let mut zombie = Service::start(
        &config,
        &[(STALL_COMMIT_VAR, "3"), (RESUME_FILE_VAR, resume_path)],
    );
    wait_for_log(&zombie, "stalling before the commit");
    // Its successor, with the same transactional id, fences it when its producer starts.
    let mut successor = Service::start(&config, &[]);
    wait_for_log(&successor, "transactional producer ready");
    std::fs::write(&resume, b"go").expect("resume file");
    let code = zombie_exit(&mut zombie);
    let zombie_log = zombie.log_text();
    assert_eq!(
        code,
        Some(1),
        "the zombie exits with an error:\n{zombie_log}"
    );
    assert!(
        zombie_log.contains("fenced"),
        "the zombie says it was fenced:\n{zombie_log}"
    );
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 2);
    let want = (data.violations.len(), data.reviews.len());
    read_findings(&mut reader, &topics, want, Duration::from_secs(120), || {
        successor.log_text()
    });
    successor.assert_running();
    assert_eq!(successor.terminate(), Some(0));
    assert_findings(
        &reader,
        &topics,
        &data.violations,
        &data.reviews,
        &format!(
            "zombie:\n{zombie_log}\nsuccessor:\n{}",
            successor.log_text()
        ),
    );
}

/// Waits (up to 60 s) until the service's log contains `text`.
fn wait_for_log(service: &Service, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !service.log_text().contains(text) {
        assert!(
            Instant::now() < deadline,
            "no {text:?} in the log within 60 s:\n{}",
            service.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The zombie's exit code once it has stopped by itself (up to 60 s).
fn zombie_exit(service: &mut Service) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(code) = service.exit_code() {
            return code;
        }
        assert!(
            Instant::now() < deadline,
            "the fenced instance still runs after 60 s:\n{}",
            service.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
