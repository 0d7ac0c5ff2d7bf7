//! A broker that stops answering mid-stream (SIGSTOP for 12 s, twice the group session timeout
//! and longer than librdkafka's request time-outs, then SIGCONT): `dozvon run` waits and retries, never dies, and its exactly-once
//! output is still exactly `replay`'s. Uses a Tansu broker of its own (scripts/tansu.sh), not
//! the suite's shared one, since it freezes it.

mod support;

use std::time::Duration;

use support::broker::PrivateBroker;
use support::fault::FaultRun;

#[test]
fn a_frozen_broker_is_waited_out_without_losing_or_doubling_a_finding() {
    // The freeze (12 s) outlasts the group session timeout (6 s) and librdkafka's transaction
    // request time-outs: the consumer loses its session and rejoins, a transaction fails.
    let mut run = FaultRun::start(PrivateBroker::start(), "outage", "25s", true);
    run.wait_for_reviews(3);
    // Frozen mid-stream.
    run.broker.signal("-STOP");
    std::thread::sleep(Duration::from_secs(12));
    run.service.assert_running();
    run.broker.signal("-CONT");
    let log = run.finish();
    assert!(
        log.contains("session timed out") && log.contains("Timed out"),
        "the freeze shows in the log (session lost, request time-outs):\n{log}"
    );
}
