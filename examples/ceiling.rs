//! Benchmark helper: the raw-consume ceiling — reads whole topics with a plain rdkafka consumer and discards every record.
//!
//! `cargo run --release --example ceiling -- BROKERS TOPIC...`
//!
//! Issue 6, item 1a: the speed at which the broker hands this machine the records dozvon
//! consumes, with no decoding, state or producing. One `BaseConsumer` is assigned every
//! partition of every TOPIC from its beginning (no group join), reads read_committed with
//! `fetch.wait.max.ms=5` (a Tansu quirk, DEVELOPERS.md) and partition EOF enabled, and stops
//! when every partition has reported EOF. It prints one line:
//!
//! `ceiling records=N bytes=N seconds=S records_per_s=R partitions=P`
//!
//! where `bytes` counts keys and payloads and `seconds` runs from the consumer's creation to
//! the last EOF. `scripts/bench-e2e.sh` runs it before each `dozvon run` drain.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use support::partition_count;

/// Give up when no record or EOF arrives for this long.
const STALL: Duration = Duration::from_secs(120);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((brokers, topics)) = args.split_first().filter(|(_, topics)| !topics.is_empty())
    else {
        bail!("usage: ceiling BROKERS TOPIC...");
    };
    let started = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "dozvon-ceiling")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "5")
        .create()
        .context("creating the consumer")?;
    let mut assignment = TopicPartitionList::new();
    // Partitions not yet at their end: how many topics have each partition number.
    let mut pending: HashMap<i32, usize> = HashMap::new();
    for topic in topics {
        for partition in 0..partition_count(&consumer, topic)? {
            assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
            *pending.entry(partition).or_default() += 1;
        }
    }
    let partitions = assignment.count();
    consumer.assign(&assignment).context("assigning")?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut last_progress = Instant::now();
    while !pending.is_empty() {
        match consumer.poll(Duration::from_millis(100)) {
            None => {
                if last_progress.elapsed() > STALL {
                    let left: usize = pending.values().sum();
                    bail!("no record for {STALL:?}; {left} partitions not at their end");
                }
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                // The EOF names the partition number, not the topic; the backlog does not
                // grow, so each topic's partition reports its end once.
                if let Some(left) = pending.get_mut(&partition) {
                    *left -= 1;
                    if *left == 0 {
                        pending.remove(&partition);
                    }
                }
                last_progress = Instant::now();
            }
            Some(Err(error)) => return Err(error).context("reading"),
            Some(Ok(message)) => {
                records += 1;
                bytes += (message.key().map_or(0, <[u8]>::len)
                    + message.payload().map_or(0, <[u8]>::len)) as u64;
                last_progress = Instant::now();
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "ceiling records={records} bytes={bytes} seconds={seconds:.3} records_per_s={:.0} partitions={partitions}",
        records as f64 / seconds
    );
    Ok(())
}
