//! Rebuilding a task's state: its input partitions re-read up to the committed offsets.
//!
//! Until the changelog lands (issue 4), the input topics are the state's log: a task assigned to
//! this instance — at start-up, after a rebalance, or after an aborted transaction — re-reads
//! both of its input partitions from the beginning up to the group's committed offsets with
//! every output suppressed, then moves the engine's clock to the one committed with those
//! offsets (offset metadata), so timers that fired before the commit do not fire again.
//! Bounded by the input topics' retention; see docs/service.md.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::merge::{Aligner, Item, Pending};
use super::task::{self, Input, Task};
use crate::model::{Finding, InputEvent, Timestamp};

/// Where a task's input partitions were committed, per input (`None`: never committed).
#[derive(Clone, Debug, Default)]
pub struct Committed {
    pub calls: Option<i64>,
    pub leads: Option<i64>,
    /// The engine clock committed with the offsets.
    pub clock: Option<Timestamp>,
}

impl Committed {
    pub fn offset(&self, input: Input) -> Option<i64> {
        match input {
            Input::Calls => self.calls,
            Input::Leads => self.leads,
        }
    }
}

/// What a restore did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Restored {
    pub records: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

const METADATA_PREFIX: &str = "dozvon:v1:clock=";

/// The offset metadata that carries a task's engine clock.
pub fn clock_metadata(clock: Timestamp) -> String {
    format!("{METADATA_PREFIX}{}", clock.millis())
}

/// The clock in offset metadata written by [`clock_metadata`] (other metadata: `None`).
pub fn parse_clock_metadata(metadata: &str) -> Option<Timestamp> {
    let millis = metadata.strip_prefix(METADATA_PREFIX)?.parse().ok()?;
    Timestamp::from_millis(millis).ok()
}

/// Feeds `[0, committed)` of both input partitions of `partition` into `task` in event-time
/// order (the same [`Aligner`] as the live path), outputs discarded; `apply` is the live path's
/// dispatch.
pub fn replay_into(
    client: &ClientConfig,
    topics: [&str; 2],
    partition: i32,
    committed: &Committed,
    task: &mut Task,
    stop: &AtomicBool,
    mut apply: impl FnMut(&mut Task, Input, &InputEvent<'_>, &mut Vec<Finding>),
) -> Result<Restored, KafkaError> {
    let started = Instant::now();
    let mut report = Restored::default();
    let mut tpl = TopicPartitionList::new();
    let mut done = [true; 2];
    for (i, input) in Input::ALL.into_iter().enumerate() {
        if committed.offset(input).is_some_and(|end| end > 0) {
            tpl.add_partition_offset(topics[i], partition, Offset::Beginning)?;
            done[i] = false;
        }
    }
    let mut findings = Vec::new();
    let mut aligner = Aligner::default();
    if done.contains(&false) {
        let consumer: BaseConsumer = client.create()?;
        consumer.assign(&tpl)?;
        let mut last_record = Instant::now();
        while done.contains(&false) && !stop.load(Ordering::Relaxed) {
            let Some(result) = consumer.poll(Duration::from_millis(100)) else {
                // Nothing more arrives (the committed offset lies past the last record, e.g.
                // behind a transaction marker): what was read is all there is.
                if last_record.elapsed() > RESTORE_SILENCE {
                    done = [true; 2];
                }
                continue;
            };
            match result {
                Ok(message) => {
                    last_record = Instant::now();
                    let i = usize::from(message.topic() != topics[0]);
                    let input = Input::ALL[i];
                    let end = committed.offset(input).unwrap_or(0);
                    if done[i] || message.offset() >= end {
                        done[i] = true;
                        continue;
                    }
                    let payload = message.payload().unwrap_or_default();
                    report.records += 1;
                    report.bytes += payload.len() as u64;
                    // Undecodable records were dead-lettered when first read.
                    tracing::trace!(partition, ?input, offset = message.offset(), "restore read");
                    if let Ok(event) = task::decode(input, payload) {
                        aligner.push(
                            input,
                            Pending {
                                received: std::time::Instant::now(),
                                offset: message.offset(),
                                item: Item::Event(event.into_owned()),
                            },
                        );
                    }
                    done[i] = message.offset() + 1 >= end;
                }
                Err(KafkaError::PartitionEOF(_)) => {}
                Err(error) => {
                    tracing::warn!(%error, partition, "restore: fetch error, retrying");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
            drain(&mut aligner, |input| done[input.index()], task, &mut apply);
        }
    }
    drain(&mut aligner, |_| true, task, &mut apply);
    if let Some(clock) = committed.clock {
        task.restore_clock(clock, &mut findings);
    }
    task.touch(Instant::now());
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Applies what the aligner releases under `caught_up`, discarding the findings.
fn drain(
    aligner: &mut Aligner,
    caught_up: impl Fn(Input) -> bool,
    task: &mut Task,
    apply: &mut impl FnMut(&mut Task, Input, &InputEvent<'_>, &mut Vec<Finding>),
) {
    let mut findings = Vec::new();
    while let Some((input, pending)) = aligner.pop(&caught_up) {
        if let Item::Event(event) = pending.item {
            apply(task, input, &event, &mut findings);
            findings.clear();
        }
    }
}

/// How long a restore waits for a record before taking the input as fully read.
const RESTORE_SILENCE: Duration = Duration::from_secs(3);
