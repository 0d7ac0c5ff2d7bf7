//! Two `dozvon run` instances in one group, exactly-once: a second instance joining mid-stream
//! and leaving again moves partitions twice (commit or abort at revoke, restore at assign), and
//! the output is still exactly `replay`'s.

mod support;

use std::time::Duration;

use support::compare::{assert_findings, read_findings};
use support::dataset::Generated;
use support::{Reader, Service, Topics};

#[test]
fn an_instance_joining_and_leaving_mid_stream_changes_nothing_in_the_output() {
    let data = Generated::new();
    let topics = Topics::new("scale");
    // About 10 s of traffic, so the second instance joins while records still arrive.
    let publisher = data.publish_paced(&topics, 4, 200);
    let config = |id: &str| {
        support::service_config(
            &topics,
            "exactly_once",
            &format!(
                "max_batch = 25\ntransactional_id = \"{}\"",
                support::unique(id)
            ),
        )
    };
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 4);
    let mut first = Service::start(&config("first"), &[]);
    reader.read_until(
        Duration::from_secs(120),
        |r| !r[&topics.qc_reviews].is_empty(),
        || first.log_text(),
    );
    // The second joins: the range assignor gives it half of the partitions.
    let mut second = Service::start(&config("second"), &[]);
    reader.read_until(
        Duration::from_secs(120),
        |_| second.log_text().contains("task restored"),
        || second.log_text(),
    );
    // ... and leaves again: the first takes them back.
    assert_eq!(second.terminate(), Some(0), "second instance exit status");
    publisher.join().expect("publisher");
    let want = (data.violations.len(), data.reviews.len());
    read_findings(&mut reader, &topics, want, Duration::from_secs(120), || {
        first.log_text()
    });
    first.assert_running();
    assert_eq!(first.terminate(), Some(0), "first instance exit status");
    let log = format!(
        "first:\n{}\nsecond:\n{}",
        first.log_text(),
        second.log_text()
    );
    assert!(
        log.matches("partitions assigned").count() >= 3,
        "the partitions moved (assignments: first, second joins, second leaves):\n{log}"
    );
    assert_findings(&reader, &topics, &data.violations, &data.reviews, &log);
}
