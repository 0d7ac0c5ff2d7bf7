//! A transaction committing on a thread of its own while the next batch is processed.
//
// The commit's round trips (the offsets into the transaction, the wait for every record's
// acknowledgement, EndTxn) took 43–45 % of the processing thread's time draining a backlog
// (BENCHMARKS.md, "Commits overlap the next batch"). The processing thread now only encodes
// the batch's changelog, computes its offsets and hands the rest over. A record sent before
// that commit ends must not join its transaction (its offsets would not cover it), so it is
// parked and produced in the next transaction. A commit that fails leaves the processor to
// rewind to the last commit that succeeded, which also drops what was parked.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::producer::{Producer, ThreadedProducer};

use super::{CALL_TIMEOUT, Failure, retry};
use crate::metrics::{ServiceStats, Tally};
use crate::service::delivery::{DeliveryContext, await_delivery};
use crate::service::outcomes::Totals;

/// The output producer, shared with the thread that commits its transaction.
pub(super) type OutputProducer = ThreadedProducer<DeliveryContext>;

/// What the processor counts once a batch has committed.
#[derive(Debug)]
pub(super) struct Committed {
    /// When the commit started on the processing thread.
    pub started: Instant,
    pub tally: Tally,
    /// What each tenant's QC outcome totals grew by.
    pub outcomes: Vec<(String, Totals)>,
}

/// A batch whose transaction is being committed on its own thread.
#[derive(Debug)]
pub(super) struct InFlight {
    handle: JoinHandle<Result<(), Failure>>,
    batch: Committed,
}

impl InFlight {
    /// Starts the thread that puts `offsets` into the open transaction, waits until every
    /// record of it is acknowledged and commits it, or, with `inject_abort` (fault
    /// injection), fails instead of committing.
    pub fn start(
        producer: Arc<OutputProducer>,
        offsets: TopicPartitionList,
        group: ConsumerGroupMetadata,
        stats: Arc<ServiceStats>,
        batch: Committed,
        inject_abort: bool,
    ) -> Result<Self, Failure> {
        let handle = std::thread::Builder::new()
            .name("dozvon-commit".into())
            .spawn(move || commit_transaction(&producer, &offsets, &group, &stats, inject_abort))
            .map_err(|e| Failure::rewind(format!("cannot start the commit thread: {e}")))?;
        Ok(InFlight { handle, batch })
    }

    /// Whether the commit has ended (waiting for it returns at once).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the commit to end: the batch it committed, or why it failed.
    pub fn wait(self) -> Result<Committed, Failure> {
        match self.handle.join() {
            Ok(Ok(())) => Ok(self.batch),
            Ok(Err(failure)) => Err(failure),
            Err(_) => Err(Failure::rewind("the commit thread panicked")),
        }
    }
}

/// The commit's round trips: offsets into the transaction, every record acknowledged, EndTxn.
fn commit_transaction(
    producer: &OutputProducer,
    offsets: &TopicPartitionList,
    group: &ConsumerGroupMetadata,
    stats: &ServiceStats,
    inject_abort: bool,
) -> Result<(), Failure> {
    let started = Instant::now();
    retry(stats, || {
        producer.send_offsets_to_transaction(offsets, group, CALL_TIMEOUT)
    })
    .map_err(|e| Failure::from_error("send offsets to transaction", &e))?;
    let offsets_sent = started.elapsed();
    // commit_transaction flushes too, but slowly (see `await_delivery`).
    await_delivery(producer, CALL_TIMEOUT)
        .map_err(|e| Failure::from_error("flush before the commit", &e))?;
    if inject_abort {
        return Err(Failure::rewind("injected abort (DOZVON_FAULT_ABORT_EVERY)"));
    }
    retry(stats, || producer.commit_transaction(CALL_TIMEOUT))
        .map_err(|e| Failure::from_error("commit transaction", &e))?;
    tracing::debug!(
        send_offsets_ms = millis(offsets_sent),
        commit_ms = millis(started.elapsed() - offsets_sent),
        "transaction committed"
    );
    Ok(())
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
