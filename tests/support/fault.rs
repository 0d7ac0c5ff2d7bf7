//! The frame of the broker-fault tests: a private broker, the generated stream published paced, one exactly-once `dozvon run`, and the check that its output is exactly `replay`'s.

use std::thread::JoinHandle;
use std::time::Duration;

use super::broker::PrivateBroker;
use super::compare::{
    assert_findings, assert_findings_by_id, read_distinct_findings, read_findings,
};
use super::dataset::Generated;
use super::{Reader, Service, Topics};

/// A generated stream being published to a private broker and processed by one service.
/// Fields drop in order: the reader and the service before the broker they talk to.
pub struct FaultRun {
    pub reader: Reader,
    pub service: Service,
    publisher: Option<JoinHandle<()>>,
    pub data: Generated,
    pub topics: Topics,
    pub broker: PrivateBroker,
}

impl FaultRun {
    /// Starts `broker`'s run: names it in `DOZVON_TEST_BROKERS` (so the test must be the only
    /// one of its binary), publishes the generated dataset to two partitions (`paced`: at 150
    /// records/s while the service runs) and starts an exactly-once service whose idle timeout
    /// is `idle_timeout`.
    ///
    /// The idle timeout must outlast the fault: the dataset's event times lie in March, so a
    /// partition that went idle during it would jump to today's wall clock and close days
    /// before their calls arrive (in production event time is close to the wall clock).
    pub fn start(broker: PrivateBroker, test: &str, idle_timeout: &str, paced: bool) -> FaultRun {
        // SAFETY: the only test of its binary (see above), so no other thread reads the
        // environment; set before anything else runs. The harness reads the address from it.
        unsafe { std::env::set_var("DOZVON_TEST_BROKERS", &broker.address) };
        let data = Generated::new();
        let topics = Topics::new(test);
        // Paced, the fault falls mid-stream and the generator's idempotent producer retries
        // through it; otherwise the whole stream is in the broker before the service starts.
        let publisher = if paced {
            Some(data.publish_paced(&topics, 2, 150))
        } else {
            data.publish(&topics, 2);
            None
        };
        let idle = format!("idle_timeout = \"{idle_timeout}\"");
        let config = super::service_config(&topics, "exactly_once", "max_batch = 50")
            .replace("idle_timeout = \"1s\"", &idle);
        assert!(config.contains(&idle), "idle timeout replaced");
        let service = Service::start(&config, &[]);
        let reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 2);
        FaultRun {
            reader,
            service,
            publisher,
            data,
            topics,
            broker,
        }
    }

    /// Reads until at least `reviews` QC reviews are out (the fault then falls mid-stream).
    pub fn wait_for_reviews(&mut self, reviews: usize) {
        let topic = self.topics.qc_reviews.clone();
        let (service, broker) = (&self.service, &self.broker);
        self.reader.read_until(
            Duration::from_secs(120),
            |r| r[&topic].len() >= reviews,
            || logs(service, broker),
        );
    }

    /// Waits for the whole stream to be published and processed, stops the service (exit 0)
    /// and asserts that its output is exactly `replay`'s; returns the service's log.
    pub fn finish(self) -> String {
        self.finish_with(true)
    }

    /// [`FaultRun::finish`], asserting only that no finding is missing and that a finding
    /// published more than once is the same each time (by id).
    pub fn finish_without_loss(self) -> String {
        self.finish_with(false)
    }

    fn finish_with(mut self, exact: bool) -> String {
        if let Some(publisher) = self.publisher.take() {
            publisher.join().expect("publisher");
        }
        let want = (self.data.violations.len(), self.data.reviews.len());
        let (service, broker) = (&self.service, &self.broker);
        if exact {
            read_findings(
                &mut self.reader,
                &self.topics,
                want,
                Duration::from_secs(240),
                || logs(service, broker),
            );
        } else {
            // Repeats count once; what is missing is named by the check below.
            read_distinct_findings(
                &mut self.reader,
                &self.topics,
                &self.data.violations,
                &self.data.reviews,
                Duration::from_secs(240),
            );
        }
        self.service.assert_running();
        assert_eq!(
            self.service.terminate(),
            Some(0),
            "exit status after SIGTERM"
        );
        let log = self.service.log_text();
        let check = if exact {
            assert_findings
        } else {
            assert_findings_by_id
        };
        check(
            &self.reader,
            &self.topics,
            &self.data.violations,
            &self.data.reviews,
            &log,
        );
        log
    }
}

/// The service's log, then the broker's.
fn logs(service: &Service, broker: &PrivateBroker) -> String {
    format!("{}\nbroker:\n{}", service.log_text(), broker.log_text())
}
