//! The consumer's context: routes rebalances and client errors to the processor.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;

use super::processor::Processor;

/// Owns the processor so the rebalance callback (run by librdkafka inside `poll`, on the
/// processing thread) can commit and drop tasks. The lock is never held across `poll`.
pub struct ServiceContext {
    processor: Mutex<Processor>,
}

impl ServiceContext {
    pub fn new(processor: Processor) -> Self {
        ServiceContext {
            processor: Mutex::new(processor),
        }
    }

    pub fn processor(&self) -> MutexGuard<'_, Processor> {
        // Only the processing thread locks; a panic there ends the service anyway.
        self.processor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClientContext for ServiceContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "kafka client error");
        self.processor().client_error(&error);
    }

    /// librdkafka statistics (every `statistics.interval.ms`): the consumer lag per assigned
    /// input partition. librdkafka's own `consumer_lag` counts from the group's committed
    /// offset, which it never learns when offsets commit through the producer's transaction;
    /// so the lag here is from the consumer's position (`app_offset`) to the partition's end
    /// (`ls_offset`, the last stable offset a read_committed consumer can reach).
    fn stats(&self, statistics: Statistics) {
        let lags: Vec<(String, i32, i64)> = statistics
            .topics
            .iter()
            .flat_map(|(topic, t)| {
                t.partitions
                    .values()
                    .filter(|p| p.partition >= 0 && p.desired)
                    .filter_map(move |p| {
                        let lag = lag(p.ls_offset, p.hi_offset, p.app_offset)?;
                        Some((topic.clone(), p.partition, lag))
                    })
            })
            .collect();
        self.processor().consumer_lag(&lags);
    }
}

impl ConsumerContext for ServiceContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => self.processor().on_revoke(consumer, partitions),
            Rebalance::Assign(_) => {}
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance error"),
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            // librdkafka keeps a partition paused (back-pressure, `flow.rs`) across a
            // revocation and a new assignment; a newly assigned partition starts unpaused.
            if let Err(error) = consumer.resume(partitions) {
                tracing::warn!(%error, "resuming assigned partitions");
            }
            self.processor().on_assign(partitions);
        }
    }
}

/// Records from the consumer's position to the end a read_committed consumer can reach (the
/// last stable offset, else the high watermark); `None` while either is unknown (< 0).
fn lag(ls_offset: i64, hi_offset: i64, app_offset: i64) -> Option<i64> {
    let end = if ls_offset >= 0 { ls_offset } else { hi_offset };
    (end >= 0 && app_offset >= 0).then(|| (end - app_offset).max(0))
}

#[cfg(test)]
mod tests {
    use super::lag;

    #[test]
    fn lag_runs_from_the_position_to_the_last_stable_offset() {
        assert_eq!(
            lag(120, 130, 100),
            Some(20),
            "an open transaction is not reachable"
        );
        assert_eq!(
            lag(-1, 130, 100),
            Some(30),
            "no stable offset reported: the high watermark"
        );
        assert_eq!(lag(100, 100, 100), Some(0));
        assert_eq!(
            lag(100, 100, 104),
            Some(0),
            "a position past a stale end is no lag"
        );
        assert_eq!(lag(100, 100, -1001), None, "nothing consumed yet");
        assert_eq!(lag(-1, -1001, 5), None);
    }
}
