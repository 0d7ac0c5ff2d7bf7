//! Start-up checks of the topics: inputs exist and are co-partitioned, outputs are created.

use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;

use super::ServiceError;
use crate::admin::{self, TopicState};
use crate::config::Config;

const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

/// Partition count of `topic`, `None` when the broker does not know it.
fn partitions(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
) -> Result<Option<usize>, ServiceError> {
    match admin::topic_state(admin.inner(), topic, METADATA_TIMEOUT) {
        TopicState::Partitions(count) => Ok(Some(count)),
        TopicState::Missing => Ok(None),
        TopicState::Unreadable(reason) => Err(ServiceError::Metadata {
            topic: topic.to_owned(),
            reason,
        }),
    }
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
    let internal = [
        (&topics.changelog, true),
        (&topics.contacts, true),
        (&topics.resolved, false),
    ];
    for (topic, compacted) in internal {
        internal_topic(config, admin, topic, compacted, counts[0])?;
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
    let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
    let created = admin::create_topics(
        admin,
        &missing,
        partition_count,
        config.kafka.replication_factor,
        METADATA_TIMEOUT,
    )
    .map_err(|(topic, error)| ServiceError::CreateTopic {
        topic,
        reason: error.to_string(),
    })?;
    for topic in created {
        tracing::info!(topic, partitions = partition_count, "created output topic");
    }
    Ok(counts[0])
}

/// One of dozvon's own topics (the changelog, the contacts, the resolved calls): as many
/// partitions as the inputs, since partition *p* of each belongs to task *p*; created (compacted
/// where the latest record per key is the state) when missing.
fn internal_topic(
    config: &Config,
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
    compacted: bool,
    expected: usize,
) -> Result<(), ServiceError> {
    match partitions(admin, topic)? {
        Some(found) if found == expected => Ok(()),
        Some(found) => Err(ServiceError::InternalPartitions {
            topic: topic.to_owned(),
            found,
            expected,
        }),
        None if !config.kafka.create_topics => Err(ServiceError::MissingOutput(topic.to_owned())),
        None => {
            let partition_count = i32::try_from(expected).unwrap_or(i32::MAX);
            let created = if compacted {
                admin::create_compacted_topic(
                    admin,
                    topic,
                    partition_count,
                    config.kafka.replication_factor,
                    METADATA_TIMEOUT,
                )
                .map(|_| ())
            } else {
                admin::create_topics(
                    admin,
                    &[topic],
                    partition_count,
                    config.kafka.replication_factor,
                    METADATA_TIMEOUT,
                )
                .map(|_| ())
                .map_err(|(_, error)| error)
            };
            created.map_err(|error| ServiceError::CreateTopic {
                topic: topic.to_owned(),
                reason: error.to_string(),
            })?;
            tracing::info!(
                topic,
                partitions = partition_count,
                compacted,
                "created topic"
            );
            Ok(())
        }
    }
}
