//! The task's side of the changelog topic: its changes written with each commit, and its
//! state read back (from the beginning to the end of its partition) when it is rebuilt.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::restore::Restored;
use crate::changelog::{self, ChangelogError};
use crate::config::Config;
use crate::engine::{Engine, EngineError};
use crate::keyhash::Map;

/// How long a restore waits for the changelog topic's metadata.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a task's state could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("reading the changelog: {0}")]
    Kafka(#[from] KafkaError),
    /// The changelog holds something this dozvon cannot read: never guess, stop.
    #[error("changelog {topic} partition {partition} offset {offset}: {source}")]
    Corrupt {
        topic: String,
        partition: i32,
        offset: i64,
        source: ChangelogError,
    },
    #[error("restoring a changelog record: {0}")]
    Engine(#[from] EngineError),
    #[error("stopped while restoring")]
    Stopped,
}

/// The changelog reader's context: reaching the end of the partition is the expected way a
/// restore ends, not an error worth a log line.
pub(super) struct RestoreContext;

impl rdkafka::ClientContext for RestoreContext {
    fn error(&self, error: KafkaError, reason: &str) {
        // librdkafka reports the end of the partition both ways.
        if !matches!(
            error,
            KafkaError::PartitionEOF(_)
                | KafkaError::Global(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
        ) {
            tracing::warn!(%error, reason, "changelog reader");
        }
    }
}

impl rdkafka::consumer::ConsumerContext for RestoreContext {}

/// A task's engine rebuilt from its changelog partition, with what the restore read.
pub type Rebuilt = Result<(Engine, Restored), RestoreError>;

/// Rebuilds an engine for each of `partitions` from its changelog partition, up to `parallel`
/// partitions at once (each with its own reader and thread); the results come in the order of
/// `partitions`. A restore is mostly decoding and applying records on one core, so partitions
/// restored side by side use the machine's other cores.
pub fn rebuild(
    config: &Arc<Config>,
    client: &ClientConfig,
    topic: &str,
    partitions: &[i32],
    parallel: usize,
    stop: &AtomicBool,
) -> Vec<Rebuilt> {
    let rebuild_one = |partition: i32| {
        let _span = tracing::info_span!("restore", partition).entered();
        let mut engine = Engine::new(Arc::clone(config))?;
        let report = read_into(client, topic, partition, &mut engine, stop)?;
        Ok((engine, report))
    };
    let workers = parallel.clamp(1, partitions.len().max(1));
    if workers == 1 {
        return partitions.iter().map(|&p| rebuild_one(p)).collect();
    }
    // Each worker takes the next partition not yet taken, so a long partition does not hold up
    // the others.
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Rebuilt)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&partition) = partitions.get(index) else {
                            return done;
                        };
                        done.push((index, rebuild_one(partition)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, result)| result).collect()
}

/// Reads changelog partition `partition` of `topic` from its beginning to its end into
/// `engine` (read_committed: only what committed transactions wrote).
///
/// Only the latest record of each key is decoded and applied, in the order of their offsets:
/// what a compacted topic would hold, so the result is the same, and a changelog whose
/// compaction lags (or a broker that never compacts) costs a copy per superseded record
/// instead of a decode and an engine update.
pub fn read_into(
    client: &ClientConfig,
    topic: &str,
    partition: i32,
    engine: &mut Engine,
    stop: &AtomicBool,
) -> Result<Restored, RestoreError> {
    let started = Instant::now();
    let mut report = Restored::default();
    let latest = read_latest(client, topic, partition, stop, &mut report)?;
    let mut records: Vec<(Box<[u8]>, Latest)> = latest.into_iter().collect();
    records.sort_unstable_by_key(|(_, latest)| latest.offset);
    for (key, latest) in &records {
        let change = changelog::decode(key, latest.value.as_deref()).map_err(|source| {
            RestoreError::Corrupt {
                topic: topic.to_owned(),
                partition,
                offset: latest.offset,
                source,
            }
        })?;
        engine.restore(&change)?;
    }
    report.latest = records.len() as u64;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The latest record of one key: its offset and value (`None`: a tombstone).
pub(super) struct Latest {
    pub offset: i64,
    pub value: Option<Box<[u8]>>,
}

/// Reading a topic as its compaction would leave it: `record` replaces what `key` held.
pub(super) fn keep_latest<V>(latest: &mut Map<Box<[u8]>, V>, key: &[u8], record: V) {
    match latest.get_mut(key) {
        Some(slot) => *slot = record,
        None => {
            latest.insert(Box::from(key), record);
        }
    }
}

/// Reads the partition to its end, keeping the latest record of each key.
fn read_latest(
    client: &ClientConfig,
    topic: &str,
    partition: i32,
    stop: &AtomicBool,
    report: &mut Restored,
) -> Result<Map<Box<[u8]>, Latest>, RestoreError> {
    let mut latest: Map<Box<[u8]>, Latest> = Map::default();
    let consumer: BaseConsumer<RestoreContext> = client.create_with_context(RestoreContext)?;
    // With the partition's leader known before the assignment, the query for its first offset
    // goes out at once; otherwise librdkafka retries it after 500 ms (measured: every restore,
    // even of an empty partition, took 510 ms).
    consumer.fetch_metadata(Some(topic), METADATA_TIMEOUT)?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(RestoreError::Stopped);
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            // The end of the partition as of this fetch: everything committed is read.
            Some(Err(KafkaError::PartitionEOF(_))) => return Ok(latest),
            Some(Err(error)) => {
                tracing::warn!(%error, topic, partition, "changelog fetch error, retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Some(Ok(message)) => {
                let key = message.key().unwrap_or_default();
                let value = message.payload();
                report.records += 1;
                report.bytes += (key.len() + value.map_or(0, <[u8]>::len)) as u64;
                let record = Latest {
                    offset: message.offset(),
                    value: value.map(Box::from),
                };
                keep_latest(&mut latest, key, record);
            }
        }
    }
}
