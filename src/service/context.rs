//! The consumer's context: routes rebalances and client errors to the processor.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
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
                        let end = if p.ls_offset >= 0 {
                            p.ls_offset
                        } else {
                            p.hi_offset
                        };
                        (end >= 0 && p.app_offset >= 0)
                            .then(|| (topic.clone(), p.partition, (end - p.app_offset).max(0)))
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

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            self.processor().on_assign(partitions);
        }
    }
}
