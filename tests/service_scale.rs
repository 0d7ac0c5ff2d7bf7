//! Two `dozvon run` instances in one group. A second instance joining mid-stream and leaving
//! again moves partitions twice (commit or abort at revoke, restore at assign), and the output
//! is still exactly `replay`'s. One of two instances killed (`kill -9`) mid-stream: the survivor
//! takes its partitions over, restores them from the changelog and completes the output —
//! nothing lost, nothing doubled (at-least-once: repeats only of identical findings).

mod support;

use std::thread::JoinHandle;
use std::time::Duration;

use support::compare::{assert_findings, assert_findings_by_id, read_findings};
use support::dataset::Generated;
use support::{Reader, Service, Topics};

/// A paced stream on 4 partitions (about 10 s of traffic, so the second instance joins while
/// records still arrive) and two instances in one group: the second started once the first
/// published, returned once it restored its first task (the range assignor gave it half of
/// the partitions).
struct TwoInstances {
    data: Generated,
    topics: Topics,
    publisher: JoinHandle<()>,
    reader: Reader,
    first: Service,
    second: Service,
}

fn two_instances(test: &str, guarantee: &str) -> TwoInstances {
    let data = Generated::new();
    let topics = Topics::new(test);
    let publisher = data.publish_paced(&topics, 4, 200);
    let config = |id: &str| {
        support::service_config(
            &topics,
            guarantee,
            &format!(
                "max_batch = 25\ntransactional_id = \"{}\"",
                support::unique(id)
            ),
        )
    };
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 4);
    let first = Service::start(&config("first"), &[]);
    reader.read_until(
        Duration::from_secs(120),
        |r| !r[&topics.qc_reviews].is_empty(),
        || first.log_text(),
    );
    let second = Service::start(&config("second"), &[]);
    reader.read_until(
        Duration::from_secs(120),
        |_| second.log_text().contains("task restored"),
        || second.log_text(),
    );
    TwoInstances {
        data,
        topics,
        publisher,
        reader,
        first,
        second,
    }
}

#[test]
fn an_instance_joining_and_leaving_mid_stream_changes_nothing_in_the_output() {
    let TwoInstances {
        data,
        topics,
        publisher,
        mut reader,
        mut first,
        mut second,
    } = two_instances("scale", "exactly_once");
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

/// Two instances on a paced stream; the second is killed once it works, the first (the
/// survivor) finishes.
fn one_of_two_killed(test: &str, guarantee: &str, exact: bool) {
    let TwoInstances {
        data,
        topics,
        publisher,
        mut reader,
        first: mut survivor,
        second: mut victim,
    } = two_instances(test, guarantee);
    // Let the victim work on its partitions (records still arrive), then kill it mid-batch.
    let before = reader.payloads(&topics.qc_reviews).len();
    reader.read_until(
        Duration::from_secs(60),
        |r| r[&topics.qc_reviews].len() > before + 5,
        || victim.log_text(),
    );
    victim.kill();
    let restores_before_kill = survivor.log_text().matches("task restored").count();
    publisher.join().expect("publisher");
    let want = (data.violations.len(), data.reviews.len());
    // The survivor notices after the victim's session (6 s); under exactly-once the victim's
    // open transaction is aborted by the broker after `transaction.timeout.ms` (10 s).
    read_findings(&mut reader, &topics, want, Duration::from_secs(120), || {
        format!(
            "survivor:\n{}\nvictim:\n{}",
            survivor.log_text(),
            victim.log_text()
        )
    });
    reader.read_for(Duration::from_secs(3));
    survivor.assert_running();
    assert_eq!(survivor.terminate(), Some(0), "survivor exit status");
    let log = format!(
        "survivor:\n{}\nvictim (killed):\n{}",
        survivor.log_text(),
        victim.log_text()
    );
    assert!(
        victim.log_text().contains("task restored"),
        "the victim owned partitions before it was killed:\n{log}"
    );
    assert!(
        survivor.log_text().matches("task restored").count() > restores_before_kill,
        "the survivor restored the victim's partitions from the changelog:\n{log}"
    );
    if exact {
        assert_findings(&reader, &topics, &data.violations, &data.reviews, &log);
    } else {
        assert_findings_by_id(&reader, &topics, &data.violations, &data.reviews, &log);
    }
}

#[test]
fn one_of_two_instances_killed_exactly_once_the_survivor_completes_the_output() {
    one_of_two_killed("failover-eos", "exactly_once", true);
}

#[test]
fn one_of_two_instances_killed_at_least_once_the_survivor_completes_the_output() {
    one_of_two_killed("failover-alo", "at_least_once", false);
}
