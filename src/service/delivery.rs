//! The output producer's context (counts and logs failed deliveries) and waiting for its deliveries.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, Producer, ProducerContext};

/// How many epochs of records the delivery reports tell apart: at-least-once, a batch's
/// records are acknowledged while the next batches are sent (`processor/acking.rs`).
pub const EPOCHS: usize = 4;

/// A delivery-report slot: epoch `e`'s outputs are `e % EPOCHS`, its changelog records
/// `EPOCHS + e % EPOCHS`.
pub type Slot = usize;

/// Counts records the broker did not accept (after librdkafka's own retries), and records in
/// flight and failed per slot.
#[derive(Debug, Default)]
pub struct DeliveryContext {
    failures: AtomicU64,
    in_flight: [AtomicU64; 2 * EPOCHS],
    failed: [AtomicU64; 2 * EPOCHS],
}

impl DeliveryContext {
    /// A record of `slot` is about to be handed to librdkafka.
    pub fn sending(&self, slot: Slot) {
        self.in_flight[slot % (2 * EPOCHS)].fetch_add(1, Ordering::Relaxed);
    }

    /// A record counted by [`DeliveryContext::sending`] was refused: no report will come.
    pub fn refused(&self, slot: Slot) {
        self.in_flight[slot % (2 * EPOCHS)].fetch_sub(1, Ordering::Release);
    }

    /// `None` while a record of `slot` awaits its report; then how many of them failed since
    /// the last call (and the count starts again).
    pub fn settled(&self, slot: Slot) -> Option<u64> {
        let slot = slot % (2 * EPOCHS);
        if self.in_flight[slot].load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(self.failed[slot].swap(0, Ordering::AcqRel))
    }

    /// Forgets the failures of every slot (the batches they belonged to were rewound).
    pub fn forget_failures(&self) {
        for failed in &self.failed {
            failed.store(0, Ordering::Relaxed);
        }
    }
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Slot;

    fn delivery(&self, result: &DeliveryResult<'_>, slot: Slot) {
        let slot = slot % (2 * EPOCHS);
        if let Err((error, message)) = result {
            self.failed[slot].fetch_add(1, Ordering::Relaxed);
            let previous = self.failures.fetch_add(1, Ordering::Relaxed);
            if previous % 1000 == 0 {
                tracing::warn!(%error, topic = message.topic(), failed = previous + 1, "output not delivered");
            }
        }
        self.in_flight[slot].fetch_sub(1, Ordering::Release);
    }
}

/// Waits until every record produced so far is delivered (or failed) and its report served,
/// for at most `timeout`.
///
/// rust-rdkafka's `flush` on a `ThreadedProducer` checks with `rd_kafka_flush(0)` and, while
/// records are in flight, polls the producer's queue for up to 100 ms — a queue its background
/// thread is also polling and takes every report from, so each flush that finds anything in
/// flight costs a whole 100 ms (measured: a transaction commit took ~110 ms, the EndTxn round
/// trip ~45 of them). Checking the in-flight count every half millisecond costs at most that.
pub fn await_delivery<P: Producer<C>, C: ProducerContext>(
    producer: &P,
    timeout: Duration,
) -> KafkaResult<()> {
    poll_until(timeout, || (producer.in_flight_count() == 0).then_some(()))
        .ok_or(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut))
}

/// Checks `ready` every half millisecond until it answers, for at most `timeout`.
pub fn poll_until<T>(timeout: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(answer) = ready() {
            return Some(answer);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_settles_when_its_last_record_is_reported_with_its_failures_once() {
        let context = DeliveryContext::default();
        context.sending(1);
        context.sending(1);
        context.sending(EPOCHS + 1);
        assert_eq!(context.settled(1), None);
        context.in_flight[1].fetch_sub(1, Ordering::Release);
        context.failed[1].fetch_add(1, Ordering::Relaxed);
        assert_eq!(context.settled(1), None);
        context.refused(1);
        assert_eq!(context.settled(1), Some(1));
        assert_eq!(context.settled(1), Some(0), "failures are told once");
        assert_eq!(
            context.settled(EPOCHS + 1),
            None,
            "the changelog slot is its own"
        );
        assert_eq!(context.settled(2), Some(0));
    }
}
