//! Start-up checks of the topics: inputs exist and are co-partitioned, outputs are created.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use super::ServiceError;
use crate::config::Config;

const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

/// Partition count of `topic`, `None` when the broker does not know it.
fn partitions(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
) -> Result<Option<usize>, ServiceError> {
    let metadata = admin
        .inner()
        .fetch_metadata(Some(topic), METADATA_TIMEOUT)
        .map_err(|source| ServiceError::Kafka {
            what: format!("metadata of {topic}"),
            source,
        })?;
    Ok(metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map(|t| t.partitions().len())
        .filter(|&n| n > 0))
}

/// Checks the inputs and creates missing outputs (blocking; call it off the executor).
/// Returns the input partition count.
pub fn prepare(
    config: &Config,
    admin: &AdminClient<DefaultClientContext>,
) -> Result<usize, ServiceError> {
    let topics = &config.kafka.topics;
    let mut counts = Vec::new();
    for topic in [&topics.calls, &topics.leads] {
        match partitions(admin, topic)? {
            Some(n) => counts.push(n),
            None => return Err(ServiceError::MissingInput(topic.clone())),
        }
    }
    if counts[0] != counts[1] {
        return Err(ServiceError::NotCoPartitioned {
            calls: topics.calls.clone(),
            calls_partitions: counts[0],
            leads: topics.leads.clone(),
            leads_partitions: counts[1],
        });
    }
    let outputs = [&topics.violations, &topics.qc_reviews, &topics.dead_letter];
    let mut missing = Vec::new();
    for topic in outputs {
        if partitions(admin, topic)?.is_none() {
            missing.push(topic.clone());
        }
    }
    if missing.is_empty() {
        return Ok(counts[0]);
    }
    if !config.kafka.create_topics {
        return Err(ServiceError::MissingOutput(missing.join(", ")));
    }
    let partition_count = i32::try_from(counts[0]).unwrap_or(i32::MAX);
    let new: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                partition_count,
                TopicReplication::Fixed(config.kafka.replication_factor),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(METADATA_TIMEOUT));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServiceError::Runtime(e.to_string()))?;
    let results = runtime
        .block_on(admin.create_topics(&new, &options))
        .map_err(|source| ServiceError::Kafka {
            what: "create output topics".to_owned(),
            source,
        })?;
    for result in results {
        match result {
            Ok(topic) => {
                tracing::info!(topic, partitions = partition_count, "created output topic")
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(ServiceError::CreateTopic {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    Ok(counts[0])
}
