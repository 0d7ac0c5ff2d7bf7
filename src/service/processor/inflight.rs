//! A transaction committing on a thread of its own while the next batch is processed, and the
//! records that batch sends meanwhile, parked until its own transaction begins.
//
// The commit's round trips (the offsets into the transaction, the wait for every record's
// acknowledgement, EndTxn) took 43–45 % of the processing thread's time draining a backlog
// (BENCHMARKS.md, "Commits overlap the next batch"). The processing thread now only encodes
// the batch's changelog, computes its offsets and hands the rest over. A record sent before
// that commit ends must not join its transaction (its offsets would not cover it), so it is
// parked and produced in the next transaction. A commit that fails leaves the processor to
// rewind to the last commit that succeeded, which also drops what was parked.

use std::ops::Range;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{Producer, ThreadedProducer};

use super::{CALL_TIMEOUT, Failure, retry};
use crate::metrics::{ServiceStats, Tally};
use crate::service::delivery::{DeliveryContext, await_delivery};

/// The output producer, shared with the thread that commits its transaction.
pub(super) type OutputProducer = ThreadedProducer<DeliveryContext>;

/// A QC outcome growth per tenant: overturned, confirmed, cold-base transfers.
pub(super) type Outcomes = Vec<(String, [u64; 3])>;

/// What the processor counts once a batch has committed.
#[derive(Debug)]
pub(super) struct Committed {
    /// When the commit started on the processing thread.
    pub started: Instant,
    pub tally: Tally,
    pub outcomes: Outcomes,
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

/// Records sent while a commit is in flight, in the order sent, bytes in one buffer.
#[derive(Debug, Default)]
pub(super) struct Parked {
    topics: Vec<String>,
    bytes: Vec<u8>,
    records: Vec<ParkedRecord>,
}

#[derive(Debug)]
struct ParkedRecord {
    topic: usize,
    partition: Option<i32>,
    key: Option<Range<usize>>,
    payload: Option<Range<usize>>,
    headers: Option<OwnedHeaders>,
}

/// One record to produce: topic, partition (else the partitioner's), key, value, headers.
pub(super) type OutRecord<'a> = (
    &'a str,
    Option<i32>,
    Option<&'a [u8]>,
    Option<&'a [u8]>,
    Option<OwnedHeaders>,
);

/// Bytes a parked buffer keeps between commits; more is given back.
const KEPT_BYTES: usize = 1 << 20;

impl Parked {
    pub fn push(&mut self, (topic, partition, key, payload, headers): OutRecord<'_>) {
        let topic = match self.topics.iter().position(|t| t == topic) {
            Some(i) => i,
            None => {
                self.topics.push(topic.to_owned());
                self.topics.len() - 1
            }
        };
        let mut keep = |bytes: Option<&[u8]>| {
            bytes.map(|b| {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(b);
                start..self.bytes.len()
            })
        };
        let (key, payload) = (keep(key), keep(payload));
        self.records.push(ParkedRecord {
            topic,
            partition,
            key,
            payload,
            headers,
        });
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Bytes of keys and values held.
    pub fn bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Hands every record to `send` in order, until one fails; empties the buffer either way.
    pub fn drain(&mut self, mut send: impl FnMut(OutRecord<'_>) -> Result<(), ()>) {
        let records = std::mem::take(&mut self.records);
        let mut records = records.into_iter();
        for record in records.by_ref() {
            let slice = |range: Option<Range<usize>>| range.and_then(|r| self.bytes.get(r));
            let out = (
                self.topics[record.topic].as_str(),
                record.partition,
                slice(record.key),
                slice(record.payload),
                record.headers,
            );
            if send(out).is_err() {
                break;
            }
        }
        // The allocation is reused for the next commit's records.
        let mut reused: Vec<ParkedRecord> = records.collect::<Vec<_>>();
        reused.clear();
        self.records = reused;
        self.clear();
    }

    /// Drops what is parked (the batch is being rewound).
    pub fn clear(&mut self) {
        self.records.clear();
        self.bytes.clear();
        if self.bytes.capacity() > KEPT_BYTES {
            self.bytes.shrink_to(KEPT_BYTES);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parked_records_come_back_in_order_with_their_bytes() {
        let mut parked = Parked::default();
        parked.push(("violations", None, Some(b"k1"), Some(b"v1"), None));
        parked.push(("dead", Some(3), None, Some(b"bad"), None));
        parked.push(("violations", Some(1), Some(b"k2"), None, None));
        assert_eq!(parked.len(), 3);
        assert_eq!(parked.bytes(), 9);
        let mut seen = Vec::new();
        parked.drain(|(topic, partition, key, payload, _)| {
            seen.push((
                topic.to_owned(),
                partition,
                key.map(<[u8]>::to_vec),
                payload.map(<[u8]>::to_vec),
            ));
            Ok(())
        });
        assert_eq!(
            seen,
            vec![
                (
                    "violations".into(),
                    None,
                    Some(b"k1".to_vec()),
                    Some(b"v1".to_vec())
                ),
                ("dead".into(), Some(3), None, Some(b"bad".to_vec())),
                ("violations".into(), Some(1), Some(b"k2".to_vec()), None),
            ]
        );
        assert_eq!((parked.len(), parked.bytes()), (0, 0));
    }

    #[test]
    fn a_failed_send_stops_the_drain_and_drops_the_rest() {
        let mut parked = Parked::default();
        for i in 0..5u8 {
            parked.push(("t", None, None, Some(&[i]), None));
        }
        let mut sent = 0;
        parked.drain(|_| {
            sent += 1;
            if sent == 2 { Err(()) } else { Ok(()) }
        });
        assert_eq!(sent, 2);
        assert_eq!(parked.len(), 0);
    }
}
