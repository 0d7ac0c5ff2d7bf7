//! Helpers shared by the benchmark examples (not an example itself: cargo builds only `examples/*.rs`).

use std::time::Duration;

use anyhow::bail;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// How long the examples wait for metadata.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The number of partitions of `topic` (an error when it has none).
pub fn partition_count(consumer: &BaseConsumer, topic: &str) -> anyhow::Result<i32> {
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT)?;
    let count = metadata
        .topics()
        .first()
        .map_or(0, |topic| topic.partitions().len());
    if count == 0 {
        bail!("topic {topic} has no partitions");
    }
    Ok(i32::try_from(count)?)
}
