//! At-least-once commits that overlap the next batches: a batch's outputs are acknowledged,
//! then its changelog is written and acknowledged, then its offsets commit — in that order,
//! batch after batch, while the processing thread goes on.
//
// The order is the one the synchronous commit had (docs/service.md, "Commits"): a changelog
// record saying a timer fired is written only once the finding it fired is acknowledged, and
// offsets never pass state or outputs, so a crash or a failed delivery repeats findings and
// never loses one. What changed is that the processing thread no longer waits for the
// acknowledgements: each closed batch waits in a queue, its records told apart from later
// ones by the delivery reports' slot (`delivery.rs`), and moves on when they are all in.

use std::collections::VecDeque;
use std::time::Instant;

use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::producer::Producer;

use super::inflight::Committed as CommittedBatch;
use super::parked::Parked;
use super::{CALL_TIMEOUT, ChangelogTo, Failure, Processor, retry};
use crate::service::delivery::{EPOCHS, Slot, await_delivery, poll_until};

/// A closed batch waiting for its acknowledgements.
#[derive(Debug)]
pub(super) struct Acking {
    /// Its outputs' slot; its changelog records go out under `EPOCHS + slot`.
    slot: Slot,
    /// Its changelog records, held until its outputs are acknowledged; `None` once sent.
    changelog: Option<Parked>,
    offsets: TopicPartitionList,
    batch: CommittedBatch,
}

/// The closed batches, oldest first.
pub(super) type AckQueue = VecDeque<Acking>;

impl Processor {
    /// The slot of the records sent now.
    pub(super) fn output_slot(&self) -> Slot {
        self.epoch % EPOCHS
    }

    /// Closes the open batch: its changelog is encoded and held, its offsets taken, and it
    /// joins the queue; the next batch's records get the next slot. With `EPOCHS` batches
    /// queued, the oldest is waited for (its slot comes round again).
    pub(super) fn close_batch<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        started: Instant,
    ) -> Result<(), Failure> {
        let slot = self.output_slot();
        let held = self
            .config
            .processing
            .held_changelog_kib
            .saturating_mul(1024);
        let mut changelog = Parked::default();
        let mut produced = false;
        let partitions: Vec<i32> = self.tasks.keys().copied().collect();
        for partition in partitions {
            let written = if produced {
                self.write_changelog_of(partition, &mut ChangelogTo::Produce(EPOCHS + slot))
            } else {
                self.write_changelog_of(partition, &mut ChangelogTo::Hold(&mut changelog))
            };
            if written.is_err() || self.failed.is_some() {
                break;
            }
            if !produced && changelog.bytes() > held {
                // A big changelog (a day closing for every lead) is not held beside the
                // outputs: once they are acknowledged it goes out as it is encoded. Held, a
                // day's close at 1M leads was a one-second spike of +150–250 MiB RSS
                // (BENCHMARKS.md, "Tasks held together").
                self.await_outputs(consumer, slot);
                if self.failed.is_some() {
                    break;
                }
                changelog.drain(|record| self.produce_in(record, EPOCHS + slot));
                produced = true;
            }
        }
        let offsets = self
            .offsets()
            .map_err(|e| Failure::from_error("offsets", &e))?;
        let batch = self.committing(started);
        self.acking.push_back(Acking {
            slot,
            changelog: (!produced).then_some(changelog),
            offsets,
            batch,
        });
        self.epoch += 1;
        if self.acking.len() >= EPOCHS {
            self.advance_acks(consumer, Some(1));
        }
        Ok(())
    }

    /// Moves the queue on as far as the acknowledgements allow. `Some(n)`: waits (up to
    /// `CALL_TIMEOUT` per step) until `n` batches have committed, or the queue is empty.
    pub(super) fn advance_acks<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        wait_for: Option<usize>,
    ) {
        let mut committed = 0;
        while self.failed.is_none() {
            let waiting = wait_for.is_some_and(|n| committed < n);
            let Some(front) = self.acking.front_mut() else {
                return;
            };
            let slot = match front.changelog {
                Some(_) => front.slot,
                None => EPOCHS + front.slot,
            };
            let context = self.producer.context();
            let settled = if waiting {
                poll_until(CALL_TIMEOUT, || context.settled(slot))
            } else {
                context.settled(slot)
            };
            let Some(failed) = settled else {
                if waiting {
                    self.fail(Failure::rewind(format!(
                        "outputs not acknowledged within {} s",
                        CALL_TIMEOUT.as_secs()
                    )));
                }
                return;
            };
            if failed > 0 {
                self.fail(Failure::rewind(format!(
                    "{failed} outputs were not delivered"
                )));
                return;
            }
            let Some(front) = self.acking.front_mut() else {
                return;
            };
            if let Some(mut changelog) = front.changelog.take() {
                let slot = EPOCHS + front.slot;
                changelog.drain(|record| self.produce_in(record, slot));
                continue;
            }
            let Some(done) = self.acking.pop_front() else {
                return;
            };
            // Waiting (a rebalance, shutdown, a full queue): synchronously. Otherwise
            // asynchronously: a commit that fails is only logged, and a later one carries
            // the offsets on — at-least-once tolerates the repeats a crash would bring.
            let mode = if waiting {
                CommitMode::Sync
            } else {
                CommitMode::Async
            };
            if done.offsets.count() > 0 {
                if let Err(error) = retry(&self.stats, || consumer.commit(&done.offsets, mode)) {
                    self.fail(Failure::from_error("commit offsets", &error));
                    return;
                }
            }
            self.committed(done.batch);
            committed += 1;
        }
    }

    /// Waits until every queued batch has committed and the open batch's outputs (`slot`)
    /// are acknowledged; a failure is recorded (`self.failed`).
    fn await_outputs<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>, slot: Slot) {
        self.advance_acks(consumer, Some(usize::MAX));
        if self.failed.is_some() {
            return;
        }
        let context = self.producer.context();
        match poll_until(CALL_TIMEOUT, || context.settled(slot)) {
            None => self.fail(Failure::rewind(format!(
                "outputs not acknowledged within {} s",
                CALL_TIMEOUT.as_secs()
            ))),
            Some(failed) if failed > 0 => self.fail(Failure::rewind(format!(
                "{failed} outputs were not delivered"
            ))),
            Some(_) => {}
        }
    }

    /// A rewind drops the queued batches: their offsets never commit. Their records still in
    /// flight are waited for, so that their reports do not count against later batches.
    pub(super) fn drop_acks(&mut self) {
        if self.acking.is_empty() {
            return;
        }
        self.acking.clear();
        if let Err(error) = await_delivery(&*self.producer, CALL_TIMEOUT) {
            tracing::warn!(%error, "records of rewound batches still in flight");
        }
        self.producer.context().forget_failures();
    }
}
