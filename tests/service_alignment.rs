//! Back-pressure of event-time alignment against a real broker: the input partition that runs ahead, and the task that runs ahead of the other, are paused and resumed, and the output still equals `replay`'s.

mod support;

use std::time::Duration;

use support::compare::{assert_findings, read_findings};
use support::dataset::Generated;
use support::http::{metrics_when, sum};
use support::{Reader, Service, Topics};

#[test]
fn a_partition_running_ahead_is_paused_and_the_output_still_equals_replay() {
    let data = Generated::new();
    let topics = Topics::new("alignment");
    // The whole backlog is there before the service starts: the leads topic (fewer records,
    // more event time per fetch) runs ahead of the calls at once.
    data.publish(&topics, 2);
    let config = support::service_config(&topics, "exactly_once", "alignment_buffer = 10");
    let mut service = Service::start(&config, &[]);
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 2);
    let want = (data.violations.len(), data.reviews.len());
    read_findings(&mut reader, &topics, want, Duration::from_secs(180), || {
        service.log_text()
    });
    // Drained: every partition resumed (the gauge is set whenever one is paused or resumed).
    let (_, samples) = metrics_when(
        &service,
        "dozvon_alignment_paused_partitions",
        0.0,
        Duration::from_secs(30),
    );
    let pauses = sum(&samples, "dozvon_alignment_pauses_total");
    let ahead = sum(
        &samples,
        r#"dozvon_alignment_pauses_total{reason="task_ahead"}"#,
    );
    let paused_now = sum(&samples, "dozvon_alignment_paused_partitions");
    assert_eq!(service.terminate(), Some(0), "exit status after SIGTERM");
    let log = service.log_text();
    assert!(pauses >= 1.0, "no partition was paused:\n{log}");
    // Until both partitions' routers have published a marker, and whenever one partition is
    // fetched ahead, the task ahead keeps its lead events waiting: past the (tiny) mark it is
    // paused on both inputs.
    assert!(ahead >= 1.0, "no task was paused for running ahead:\n{log}");
    assert_eq!(paused_now, 0.0, "every partition resumed once drained");
    assert_findings(&reader, &topics, &data.violations, &data.reviews, &log);
}
