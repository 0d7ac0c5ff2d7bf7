//! The consumer's context: routes rebalances and client errors to the processor.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;

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
