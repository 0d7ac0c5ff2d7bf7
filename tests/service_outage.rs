//! A broker that stops answering mid-stream (SIGSTOP for 12 s, twice the group session timeout
//! and longer than librdkafka's request time-outs, then SIGCONT): `dozvon run` waits and retries, never dies, and its exactly-once
//! output is still exactly `replay`'s. Uses a Tansu broker of its own (scripts/tansu.sh), not
//! the suite's shared one, since it freezes it.

mod support;

use std::time::Duration;

use support::broker::PrivateBroker;
use support::compare::{assert_findings, read_findings};
use support::dataset::Generated;
use support::{Reader, Service, Topics};

#[test]
fn a_frozen_broker_is_waited_out_without_losing_or_doubling_a_finding() {
    let broker = PrivateBroker::start();
    // SAFETY: the only test of this binary, so no other thread reads the environment; set
    // before anything else runs. The harness reads the broker address from it.
    unsafe { std::env::set_var("DOZVON_TEST_BROKERS", &broker.address) };
    let data = Generated::new();
    let topics = Topics::new("outage");
    let publisher = data.publish_paced(&topics, 2, 150);
    // The freeze (12 s) outlasts the group session timeout (6 s) and librdkafka's transaction
    // request time-outs: the consumer loses its session and rejoins, a transaction fails.
    // The idle timeout outlasts the freeze: the dataset's event times lie in March, so a
    // partition that went idle during the freeze would jump to today's wall clock and close
    // days before their calls arrive (in production event time is close to the wall clock).
    let config = support::service_config(&topics, "exactly_once", "max_batch = 50")
        .replace("idle_timeout = \"1s\"", "idle_timeout = \"25s\"");
    assert!(config.contains("25s"), "idle timeout replaced");
    let mut service = Service::start(&config, &[]);
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 2);
    reader.read_until(
        Duration::from_secs(120),
        |r| r[&topics.qc_reviews].len() >= 3,
        || service.log_text(),
    );
    // Frozen mid-stream.
    broker.signal("-STOP");
    std::thread::sleep(Duration::from_secs(12));
    service.assert_running();
    broker.signal("-CONT");
    publisher.join().expect("publisher");
    let want = (data.violations.len(), data.reviews.len());
    read_findings(&mut reader, &topics, want, Duration::from_secs(180), || {
        service.log_text()
    });
    service.assert_running();
    assert_eq!(service.terminate(), Some(0), "exit status after SIGTERM");
    let log = service.log_text();
    assert!(
        log.contains("session timed out") && log.contains("Timed out"),
        "the freeze shows in the log (session lost, request time-outs):\n{log}"
    );
    assert_findings(&reader, &topics, &data.violations, &data.reviews, &log);
}
