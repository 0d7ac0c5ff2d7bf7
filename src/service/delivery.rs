//! The output producer's context: counts and logs failed deliveries.

use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::ClientContext;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};

/// Counts records the broker did not accept (after librdkafka's own retries).
#[derive(Debug, Default)]
pub struct DeliveryContext {
    failures: AtomicU64,
}

impl DeliveryContext {
    /// Deliveries failed since the producer was created.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, message)) = result {
            let previous = self.failures.fetch_add(1, Ordering::Relaxed);
            if previous % 1000 == 0 {
                tracing::warn!(%error, topic = message.topic(), failed = previous + 1, "output not delivered");
            }
        }
    }
}
