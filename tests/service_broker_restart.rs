//! The broker killed (SIGKILL) and started again mid-stream, twice, on the same SQLite store:
//! `dozvon run` reconnects, restores nothing it did not commit, and its exactly-once output is
//! still exactly `replay`'s — no finding lost, none doubled (issue 4, item 5c). Uses a Tansu
//! broker of its own (scripts/tansu.sh with `sqlite://`), not the suite's shared one.

mod support;

use std::time::Duration;

use support::broker::PrivateBroker;
use support::compare::{assert_findings, read_findings};
use support::dataset::Generated;
use support::{Reader, Service, Topics};

#[test]
fn a_broker_restart_loses_and_doubles_no_finding() {
    let mut broker = PrivateBroker::start_durable();
    // SAFETY: the only test of this binary, so no other thread reads the environment; set
    // before anything else runs. The harness reads the broker address from it.
    unsafe { std::env::set_var("DOZVON_TEST_BROKERS", &broker.address) };
    let data = Generated::new();
    let topics = Topics::new("broker-restart");
    // Paced, so that the restarts fall mid-stream; the generator's idempotent producer retries
    // through them.
    let publisher = data.publish_paced(&topics, 2, 150);
    // The idle timeout outlasts the outage: the dataset's event times lie in March, so a
    // partition that went idle while the broker was down would jump to today's wall clock and
    // close days before their calls arrive (in production event time is close to the wall clock).
    let config = support::service_config(&topics, "exactly_once", "max_batch = 50")
        .replace("idle_timeout = \"1s\"", "idle_timeout = \"30s\"");
    assert!(config.contains("30s"), "idle timeout replaced");
    let mut service = Service::start(&config, &[]);
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 2);
    assert!(
        data.reviews.len() >= 10,
        "enough QC reviews to restart between"
    );
    for (round, reviews) in [(1, 3), (2, data.reviews.len() / 2)] {
        reader.read_until(
            Duration::from_secs(120),
            |r| r[&topics.qc_reviews].len() >= reviews,
            || format!("{}\nbroker:\n{}", service.log_text(), broker.log_text()),
        );
        broker.kill();
        std::thread::sleep(Duration::from_secs(2));
        service.assert_running();
        broker.restart();
        eprintln!("broker restarted ({round})");
    }
    publisher.join().expect("publisher");
    let want = (data.violations.len(), data.reviews.len());
    read_findings(&mut reader, &topics, want, Duration::from_secs(240), || {
        format!("{}\nbroker:\n{}", service.log_text(), broker.log_text())
    });
    service.assert_running();
    assert_eq!(service.terminate(), Some(0), "exit status after SIGTERM");
    let log = service.log_text();
    assert_findings(&reader, &topics, &data.violations, &data.reviews, &log);
}
