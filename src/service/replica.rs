//! This instance's replica of the contact directory: every partition of the contacts topic read
//! into one `ContactDirectory` (which keeps each lead's partition), with each partition's
//! published clock.
//!
//! Entries of partitions this instance owns are written through by their tasks (and skipped
//! when they come back); the others are installed whole as they are read. A reset (start-up,
//! rebalance, recovery) reads everything again from the beginning up to the end of every
//! partition, so a task taking over a partition sees its previous owner's last commit.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::state_log::{Latest, RestoreContext, keep_latest};
use crate::changelog::{ContactKey, ENTRY_KIND, decode_contact_key, decode_entry, decode_marker};
use crate::contacts::{ContactDirectory, Effect};
use crate::engine::{ContactUpdate, Secs};
use crate::keyhash::Map;
use crate::metrics::ServiceStats;

/// How many records one [`Replica::poll`] applies at most (the processing loop goes on).
const POLL_BUDGET: usize = 10_000;

/// Why the replica could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("contacts topic {topic}: {source}")]
    Kafka { topic: String, source: KafkaError },
    #[error("stopped while reading the contacts topic")]
    Stopped,
}

/// A lead whose duplicate check has not run, found by a reset: (partition, tenant, lead,
/// first event time).
pub type Unchecked = (i32, Arc<str>, Arc<str>, Secs);

/// The replica and its reader.
pub struct Replica {
    reader: BaseConsumer<RestoreContext>,
    state: State,
}

/// The replica's contents.
struct State {
    directory: ContactDirectory,
    topic: String,
    partitions: usize,
    /// Each partition's clock from its latest marker.
    clocks: Vec<Option<Secs>>,
    /// Partitions whose entries this instance's tasks write through.
    local: BTreeSet<i32>,
    /// Counts records that could not be read (the entry stays as it was).
    stats: Arc<ServiceStats>,
}

impl Replica {
    /// A reader of `topic` (`partitions` partitions) with the given consumer settings.
    pub fn new(
        client: &ClientConfig,
        topic: &str,
        partitions: usize,
        stats: Arc<ServiceStats>,
    ) -> Result<Self, KafkaError> {
        let reader: BaseConsumer<RestoreContext> = client.create_with_context(RestoreContext)?;
        Ok(Replica {
            reader,
            state: State {
                directory: ContactDirectory::new(),
                topic: topic.to_owned(),
                partitions,
                clocks: vec![None; partitions],
                local: BTreeSet::new(),
                stats,
            },
        })
    }

    pub fn directory(&self) -> &ContactDirectory {
        &self.state.directory
    }

    /// Tells which partitions this instance owns (their entries are written through).
    pub fn set_local(&mut self, local: impl IntoIterator<Item = i32>) {
        self.state.local = local.into_iter().collect();
    }

    /// The global clock: the least clock over every partition, `None` while one has published
    /// none. Every lead event up to it that was not late is in the directory.
    pub fn global_clock(&self) -> Option<Secs> {
        self.state
            .clocks
            .iter()
            .try_fold(Secs::MAX, |clock, c| c.map(|c| clock.min(c)))
    }

    /// The partition owning a lead.
    pub fn owner(&self, tenant: &str, lead_id: &str) -> Option<i32> {
        self.state.directory.owner(tenant, lead_id)
    }

    /// A task's own update, written through (partition `partition` owns the lead).
    pub fn write(&mut self, partition: i32, update: &ContactUpdate) -> Effect {
        self.state.directory.apply_owned(update, partition)
    }

    /// Marks a lead's duplicate check as run (`false`: it had run, or the lead is unknown).
    pub fn start_duplicate_check(&mut self, tenant: &str, lead_id: &str) -> bool {
        self.state.directory.start_duplicate_check(tenant, lead_id)
    }

    /// Folds history before `watermark` for `tenant`.
    pub fn prune(&mut self, tenant: &str, watermark: crate::model::Timestamp) {
        self.state.directory.prune(tenant, watermark);
    }

    /// Forgets everything and reads the whole topic again, up to the end of every partition.
    /// Returns the leads whose duplicate check has not run.
    ///
    /// Only the latest entry of each lead is decoded and applied (in partition and offset
    /// order, after the read): what a compacted topic holds, so the directory is the same, and
    /// a topic whose compaction lags — or Tansu's, never compacted, 2.4 records per lead at 1M
    /// leads — costs a copy per superseded entry instead of a decode and a directory update.
    /// Markers are applied as they come (a partition's clock is the largest one seen).
    pub fn reset(&mut self, stop: &AtomicBool) -> Result<Vec<Unchecked>, ReplicaError> {
        let started = Instant::now();
        self.state.directory = ContactDirectory::new();
        self.state.clocks = vec![None; self.state.partitions];
        let mut tpl = TopicPartitionList::new();
        for partition in 0..self.state.partitions {
            let partition = i32::try_from(partition).unwrap_or(i32::MAX);
            tpl.add_partition_offset(&self.state.topic, partition, Offset::Beginning)
                .map_err(|e| self.state.error(e))?;
        }
        self.reader.assign(&tpl).map_err(|e| self.state.error(e))?;
        let mut at_end = vec![false; self.state.partitions];
        let mut records = 0_u64;
        // Each lead's latest entry, with the partition it is in.
        let mut latest: Map<Box<[u8]>, (i32, Latest)> = Map::default();
        while at_end.iter().any(|done| !done) {
            if stop.load(Ordering::Relaxed) {
                return Err(ReplicaError::Stopped);
            }
            match self.reader.poll(Duration::from_millis(100)) {
                None => {}
                Some(Ok(message)) => {
                    records += 1;
                    let partition = message.partition();
                    match message.key() {
                        Some(key) if key.first() == Some(&ENTRY_KIND) => {
                            let entry = Latest {
                                offset: message.offset(),
                                value: message.payload().map(Box::from),
                            };
                            keep_latest(&mut latest, key, (partition, entry));
                        }
                        key => self.state.apply(partition, key, message.payload(), true),
                    }
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    if let Some(done) = usize::try_from(partition)
                        .ok()
                        .and_then(|p| at_end.get_mut(p))
                    {
                        *done = true;
                    }
                }
                Some(Err(KafkaError::Global(RDKafkaErrorCode::PartitionEOF))) => {}
                Some(Err(error)) => return Err(self.state.error(error)),
            }
        }
        let mut entries: Vec<_> = latest.into_iter().collect();
        entries.sort_unstable_by_key(|(_, (partition, e))| (*partition, e.offset));
        let applied = entries.len();
        for (key, (partition, entry)) in entries {
            self.state
                .apply(partition, Some(&key), entry.value.as_deref(), true);
        }
        let mut unchecked = Vec::new();
        for (tenant, entry) in self.state.directory.entries() {
            if !entry.duplicate_checked()
                && let Some((first, _)) = entry.first()
            {
                let lead_id = Arc::from(entry.lead_id());
                unchecked.push((entry.owner(), Arc::from(tenant), lead_id, first));
            }
        }
        tracing::info!(
            topic = self.state.topic,
            records,
            latest = applied,
            leads = self.state.directory.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "contact directory read"
        );
        Ok(unchecked)
    }

    /// Applies what has been fetched since the last call (at most [`POLL_BUDGET`] records):
    /// other partitions' entries and every partition's markers.
    pub fn poll(&mut self) -> usize {
        let mut applied = 0;
        while applied < POLL_BUDGET {
            match self.reader.poll(Duration::ZERO) {
                None => break,
                Some(Ok(message)) => {
                    let partition = message.partition();
                    let local = self.state.local.contains(&partition);
                    self.state
                        .apply(partition, message.key(), message.payload(), !local);
                    applied += 1;
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {}
                Some(Err(KafkaError::Global(RDKafkaErrorCode::PartitionEOF))) => {}
                Some(Err(error)) => {
                    // librdkafka retries by itself; the replica only lags meanwhile.
                    ServiceStats::add(&self.state.stats.transient_errors, 1);
                    tracing::debug!(%error, "contacts reader");
                    break;
                }
            }
        }
        applied
    }
}

impl State {
    /// One record: a marker moves its partition's clock; an entry (when `entries`) replaces
    /// the lead's, a tombstone forgets it.
    fn apply(&mut self, partition: i32, key: Option<&[u8]>, value: Option<&[u8]>, entries: bool) {
        let Some(key) = key.map(decode_contact_key) else {
            self.bad(partition, "a record without a key");
            return;
        };
        match key {
            Err(error) => self.bad(partition, &error.to_string()),
            Ok(ContactKey::Marker { partition: of }) => {
                let marker = value.map(decode_marker);
                match marker {
                    Some(Ok(marker)) => {
                        if let (Some(clock), Some(slot)) = (
                            marker.clock,
                            usize::try_from(of)
                                .ok()
                                .and_then(|p| self.clocks.get_mut(p)),
                        ) {
                            *slot = Some(slot.map_or(clock, |c| c.max(clock)));
                        }
                    }
                    Some(Err(error)) => self.bad(partition, &error.to_string()),
                    None => {}
                }
            }
            Ok(ContactKey::Entry { tenant, lead_id }) if entries => {
                let tenant: Arc<str> = tenant.into();
                let lead: Arc<str> = lead_id.into();
                match value.map(decode_entry) {
                    None => {
                        self.directory.apply(&ContactUpdate::Forget {
                            tenant: Arc::clone(&tenant),
                            lead_id: lead.as_ref().into(),
                        });
                    }
                    Some(Ok(entry)) if *entry.lead_id == *lead => {
                        self.directory.replace_owned(&tenant, entry, partition);
                    }
                    Some(Ok(entry)) => self.bad(
                        partition,
                        &format!("entry of lead {} under the key of {lead}", entry.lead_id),
                    ),
                    Some(Err(error)) => self.bad(partition, &error.to_string()),
                }
            }
            Ok(ContactKey::Entry { .. }) => {}
        }
    }

    fn bad(&mut self, partition: i32, reason: &str) {
        ServiceStats::add(&self.stats.internal_bad_records, 1);
        tracing::warn!(
            topic = self.topic,
            partition,
            "unreadable contacts record: {reason}"
        );
    }

    fn error(&self, source: KafkaError) -> ReplicaError {
        ReplicaError::Kafka {
            topic: self.topic.clone(),
            source,
        }
    }
}
