//! `dozvon run`: the engine as a Kafka service — consumer group, exactly-once, dead letters.
//!
//! One processing thread owns a group consumer of both input topics, one [`task::Task`] (an
//! engine) per assigned partition number, and the output producer. Calls and leads must be
//! co-partitioned by `lead_id` (same partition count, same partitioner); the range assignor
//! then hands partition *p* of both topics to the same member. Every `commit_interval` (or
//! `max_batch` records) the open batch is committed: under exactly-once the outputs and the
//! consumed offsets in one Kafka transaction, under at-least-once the offsets after every
//! output is acknowledged. A failed batch is rewound to the last commit and the tasks rebuilt
//! (see [`restore`]). [`run_blocking`] blocks: callers run it off any async executor.

mod batch;
mod clients;
mod context;
mod delivery;
mod faults;
mod flow;
mod legs;
mod logs;
mod merge;
mod outcomes;
mod output;
mod parts;
mod processor;
pub mod queries;
mod replica;
mod restore;
mod routing;
mod state_log;
mod task;
mod topics;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;

pub use crate::metrics::ServiceStats;
pub use faults::{ABORT_EVERY_VAR, RESUME_FILE_VAR, STALL_COMMIT_VAR};
pub use output::{
    HEADER_ERROR, HEADER_ERROR_KIND, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
};
pub use queries::{QueryClient, QueryInbox};

use crate::codec::{Encoding, RecordKind};
use crate::config::{Config, TopicEncoding};
use crate::engine::{Engine, EngineError};
use crate::formats::InputFormat;
use crate::registry::{self, RegistryClient, RegistryError};
use context::ServiceContext;
use output::Outputs;
use processor::Halt;
use processor::{Processor, ProcessorSetup};

/// Records handled per poll burst before the per-poll work runs (alignment, the replica,
/// the commit check): it ran per record, and in bursts a drain takes 21 % fewer CPU samples
/// (BENCHMARKS.md, "Commit cadence, poll bursts, back-pressure"). 500 records are a few ms of
/// work, so a due commit waits at most that long.
const POLL_BURST: usize = 500;

/// Why the service could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{what}: {source}")]
    Kafka { what: String, source: KafkaError },
    #[error("cannot read the metadata of topic {topic}: {reason}")]
    Metadata { topic: String, reason: String },
    #[error("input topic {0} does not exist (dozvon does not create its inputs)")]
    MissingInput(String),
    #[error(
        "input topics are not co-partitioned: {calls} has {calls_partitions} partitions, \
         {leads} has {leads_partitions}; calls and lead events of one lead must land in the same \
         partition number, so both topics need the same partition count and producers keying by \
         lead_id with the same partitioner"
    )]
    NotCoPartitioned {
        calls: String,
        calls_partitions: usize,
        leads: String,
        leads_partitions: usize,
    },
    #[error(
        "dozvon's topic {topic} has {found} partitions but the inputs have {expected}: \
         partition p of the changelog, contacts and resolved-calls topics belongs to the task of \
         input partition p, so the counts must match (changed partition counts need a state \
         reset: docs/service.md)"
    )]
    InternalPartitions {
        topic: String,
        found: usize,
        expected: usize,
    },
    #[error("{0}")]
    State(String),
    #[error("output topics missing and [kafka] create_topics = false: {0}")]
    MissingOutput(String),
    #[error("cannot create topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Config(String),
    #[error(
        "fenced by another instance with transactional id {transactional_id} ({reason}); \
         every instance needs its own [processing] transactional_id"
    )]
    Fenced {
        transactional_id: String,
        reason: String,
    },
    #[error(
        "schema registry {url}: cannot register the schema of topic {topic} under subject \
         {subject}: {error}"
    )]
    Registry {
        url: String,
        topic: String,
        subject: String,
        error: Box<RegistryError>,
    },
}

fn kafka(what: &str) -> impl FnOnce(KafkaError) -> ServiceError + '_ {
    move |source| ServiceError::Kafka {
        what: what.to_owned(),
        source,
    }
}

/// How findings of `kind` are written to `topic`, from `[kafka.encoding]`: JSON, or Avro —
/// single-object encoding, or with a Schema Registry the Confluent wire format under the id
/// of the schema registered at start-up for the subject `<topic>-value`.
fn output_encoding(
    encoding: TopicEncoding,
    registry: Option<&RegistryClient>,
    topic: &str,
    kind: RecordKind,
) -> Result<Encoding, ServiceError> {
    let Some(registry) = registry else {
        return Ok(match encoding {
            TopicEncoding::Json => Encoding::Json,
            TopicEncoding::Avro => Encoding::AvroSingleObject,
        });
    };
    if encoding == TopicEncoding::Json {
        return Ok(Encoding::Json);
    }
    let subject = registry::value_subject(topic);
    match registry.register(&subject, kind.schema_json()) {
        Ok(schema_id) => {
            tracing::info!(
                registry = registry.url(),
                topic,
                subject,
                schema_id,
                "Avro schema registered"
            );
            Ok(Encoding::AvroConfluent { schema_id })
        }
        Err(error) => Err(ServiceError::Registry {
            url: registry.url().to_owned(),
            topic: topic.to_owned(),
            subject,
            error: Box::new(error),
        }),
    }
}

/// Refuses input formats that make no sense: Asterisk CDR rows are calls, never lead events.
fn supported_inputs(config: &Config) -> Result<(), ServiceError> {
    let format = &config.kafka.format;
    if format.leads == InputFormat::Asterisk {
        // The configuration refuses it; a Config built in code could still hold it.
        return Err(ServiceError::Config(
            "[kafka.format] leads = \"asterisk\": Asterisk CDR rows are calls, not lead events"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Runs the service on the calling thread until `stop` is set; then commits the in-flight
/// batch, leaves the group and returns. Blocking: call it from a thread of its own.
pub fn run_blocking(
    config: Arc<Config>,
    stop: Arc<AtomicBool>,
    stats: Arc<ServiceStats>,
    queries: QueryInbox,
) -> Result<(), ServiceError> {
    Engine::new(Arc::clone(&config))?;
    supported_inputs(&config)?;
    let encodings = &config.kafka.encoding;
    let registry = config
        .kafka
        .schema_registry_url
        .as_deref()
        .map(RegistryClient::new)
        .transpose()
        .map_err(|error| ServiceError::Config(format!("[kafka] schema_registry_url: {error}")))?;
    let avro_output = [encodings.violations, encodings.qc_reviews].contains(&TopicEncoding::Avro);
    if let Some(registry) = registry.as_ref().filter(|_| !avro_output) {
        tracing::warn!(
            registry = registry.url(),
            "[kafka] schema_registry_url is set but no output is Avro; the registry is not used"
        );
    }
    let violation_encoding = output_encoding(
        encodings.violations,
        registry.as_ref(),
        &config.kafka.topics.violations,
        RecordKind::Violation,
    )?;
    let qc_encoding = output_encoding(
        encodings.qc_reviews,
        registry.as_ref(),
        &config.kafka.topics.qc_reviews,
        RecordKind::QcReview,
    )?;
    let faults = faults::Faults::from_env().map_err(ServiceError::Config)?;
    let admin: AdminClient<DefaultClientContext> = clients::admin(&config)
        .create()
        .map_err(kafka("admin client"))?;
    let partitions = topics::prepare(&config, &admin)?;
    drop(admin);
    let topics = &config.kafka.topics;
    let outputs = Outputs {
        violations: topics.violations.clone(),
        qc_reviews: topics.qc_reviews.clone(),
        dead_letter: topics.dead_letter.clone(),
        violation_encoding,
        qc_encoding,
    };
    let transactional_id = clients::transactional_id(&config);
    tracing::info!(
        brokers = config.kafka.brokers,
        group = config.kafka.group_id,
        partitions,
        guarantee = ?config.processing.guarantee,
        transactional_id,
        "starting"
    );
    let processor = Processor::new(ProcessorSetup {
        config: Arc::clone(&config),
        outputs,
        producer_client: clients::producer(&config, &transactional_id),
        restore_client: clients::restore_consumer(&config),
        stats,
        stop: Arc::clone(&stop),
        faults,
        queries,
        replica_client: clients::contacts_reader(&config),
        partitions,
    })
    .map_err(kafka("output producer"))?;
    let consumer: BaseConsumer<ServiceContext> = clients::consumer(&config)
        .create_with_context(ServiceContext::new(processor))
        .map_err(kafka("consumer"))?;
    consumer
        .subscribe(&[
            topics.calls.as_str(),
            topics.leads.as_str(),
            topics.resolved.as_str(),
        ])
        .map_err(kafka("subscribe"))?;
    while !stop.load(Ordering::Relaxed) {
        let timeout = consumer.context().processor().poll_timeout();
        // A burst: the first record waits up to `timeout`, then what librdkafka has fetched
        // already, without waiting, before the per-poll work (alignment, commit) runs once.
        let mut next = consumer.poll(timeout);
        let mut polled = 0;
        while let Some(result) = next.take() {
            {
                // Not held across `poll`: rebalance callbacks inside it take the processor.
                let mut processor = consumer.context().processor();
                match result {
                    Ok(message) => processor.handle(&consumer, &message),
                    Err(error) => processor.client_error(&error),
                }
            }
            polled += 1;
            if polled < POLL_BURST {
                next = consumer.poll(Duration::ZERO);
            }
        }
        let halted = {
            let mut processor = consumer.context().processor();
            processor.after_poll(&consumer);
            processor.halted().cloned()
        };
        match halted {
            None => {}
            Some(Halt::Fenced(reason)) => {
                consumer.unsubscribe();
                return Err(ServiceError::Fenced {
                    transactional_id,
                    reason,
                });
            }
            Some(Halt::State(reason)) => {
                consumer.unsubscribe();
                return Err(ServiceError::State(reason));
            }
        }
    }
    tracing::info!("stopping: committing the in-flight batch");
    consumer.context().processor().finish(&consumer);
    consumer.unsubscribe();
    drop(consumer);
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asterisk_leads_are_refused_at_start_up() {
        let mut config = Config::default();
        assert!(supported_inputs(&config).is_ok());
        config.kafka.format.calls = InputFormat::Asterisk;
        assert!(supported_inputs(&config).is_ok());
        config.kafka.format.leads = InputFormat::Asterisk;
        let error = supported_inputs(&config).unwrap_err().to_string();
        assert!(error.contains("not lead events"), "{error}");
    }
}
