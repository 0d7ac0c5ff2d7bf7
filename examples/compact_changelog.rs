//! Benchmark helper: writes what Kafka's log cleaner would leave of a changelog topic into a new topic.
//!
//! `cargo run --release --example compact_changelog -- BROKERS SOURCE TARGET`
//!
//! Tansu never compacts, so a changelog read back from it holds every record a lead was ever
//! written as; a compacted Kafka changelog holds about one per lead. This reads each partition of
//! SOURCE from its beginning to its end (read_committed), keeps the latest record of each key,
//! drops keys whose latest record is a tombstone (as the cleaner does after
//! `delete.retention.ms`), and writes the rest in their original order to the same partition of
//! TARGET, created with SOURCE's partition count. `scripts/bench-restore.sh` uses it with
//! `COMPACT=1`.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use support::partition_count;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, source, target] = args.as_slice() else {
        bail!("usage: compact_changelog BROKERS SOURCE TARGET");
    };
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", brokers);
    let partitions = partition_count(&client.create()?, source)?;
    create_topic(&client, target, partitions)?;
    let producer: ThreadedProducer<_> = client
        .clone()
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .context("creating the producer")?;
    let (mut read, mut written) = (0u64, 0u64);
    for partition in 0..partitions {
        let (records, latest) = latest_records(&client, source, partition)?;
        read += records;
        for (key, value) in latest {
            let mut record = BaseRecord::<[u8], [u8]>::to(target)
                .key(&key[..])
                .payload(&value[..])
                .partition(partition);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(_), back)) => {
                        record = back;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err((error, _)) => return Err(error).context("producing"),
                }
            }
            written += 1;
        }
    }
    producer
        .flush(Duration::from_secs(300))
        .context("flushing")?;
    println!(
        "read {read} records of {source}, wrote {written} to {target} ({partitions} partitions)"
    );
    Ok(())
}

fn create_topic(client: &ClientConfig, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = client.create()?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let results = runtime.block_on(admin.create_topics([&new], &AdminOptions::new()))?;
    for result in results {
        result.map_err(|(topic, code)| anyhow::anyhow!("creating {topic}: {code}"))?;
    }
    Ok(())
}

/// A changelog record: key and value.
type Record = (Vec<u8>, Vec<u8>);

/// The records read from `partition`, and the latest value of each live key in offset order.
fn latest_records(
    client: &ClientConfig,
    topic: &str,
    partition: i32,
) -> anyhow::Result<(u64, Vec<Record>)> {
    let consumer: BaseConsumer = client
        .clone()
        .set("group.id", "dozvon-compact-changelog")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "5")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let mut latest: HashMap<Vec<u8>, (i64, Option<Vec<u8>>)> = HashMap::new();
    let mut read = 0u64;
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(_))) => break,
            Some(Err(error)) => return Err(error).context("reading"),
            Some(Ok(message)) => {
                read += 1;
                let key = message.key().unwrap_or_default().to_vec();
                latest.insert(
                    key,
                    (message.offset(), message.payload().map(<[u8]>::to_vec)),
                );
            }
        }
    }
    let mut live: Vec<(i64, Vec<u8>, Vec<u8>)> = latest
        .into_iter()
        .filter_map(|(key, (offset, value))| value.map(|value| (offset, key, value)))
        .collect();
    live.sort_unstable_by_key(|(offset, _, _)| *offset);
    Ok((
        read,
        live.into_iter()
            .map(|(_, key, value)| (key, value))
            .collect(),
    ))
}
