//! The broker killed (SIGKILL) and started again mid-stream, twice, on the same SQLite store:
//! `dozvon run` reconnects and its exactly-once output is still exactly `replay`'s — no finding
//! lost, none doubled (issue 4, item 5c). Uses a Tansu broker of its own (scripts/tansu.sh with
//! `sqlite://`), not the suite's shared one.

mod support;

use std::time::Duration;

use support::broker::PrivateBroker;
use support::fault::FaultRun;

#[test]
fn a_broker_restart_loses_and_doubles_no_finding() {
    let mut run = FaultRun::start(PrivateBroker::start_durable(), "broker-restart", "30s");
    let reviews = run.data.reviews.len();
    assert!(reviews >= 10, "enough QC reviews to restart between");
    for (round, after) in [(1, 3), (2, reviews / 2)] {
        run.wait_for_reviews(after);
        run.broker.kill();
        std::thread::sleep(Duration::from_secs(2));
        run.service.assert_running();
        run.broker.restart();
        eprintln!("broker restarted ({round})");
    }
    run.finish();
}
