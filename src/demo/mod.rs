//! `dozvon demo`: a simulated sales floor through the real service on an in-process Kafka.
//!
//! rdkafka's mock cluster (librdkafka's in-process broker) hosts the topics; the generator
//! publishes a sales floor to them with an accelerated clock (a working day in about a minute,
//! nights and weekends skipped); `dozvon run`'s service consumes them in the same process and a
//! reader prints every violation and QC review as it is published. The mock cluster implements
//! no transactions, so the demo runs the service at-least-once; exactly-once is exercised
//! against a real broker by the integration tests.

mod describe;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

pub use describe::describe;

use crate::codec;
use crate::config::{Config, Guarantee};
use crate::generator::publish::{Pace, PublishError, PublishOptions, publish};
use crate::generator::{GenConfig, generate_into};
use crate::model::Finding;
use crate::service::{self, ServiceError, ServiceStats};

/// Partitions of every demo topic.
const PARTITIONS: i32 = 4;

/// The service's side of the demo's HTTP endpoint (status page, API, metrics), served by the
/// caller: the stats it renders and the inbox its questions arrive in.
pub struct DemoService {
    pub stats: Arc<ServiceStats>,
    pub queries: service::QueryInbox,
}

impl Default for DemoService {
    /// No HTTP endpoint: the asking side of the queries is dropped at once.
    fn default() -> Self {
        DemoService {
            stats: Arc::new(ServiceStats::default()),
            queries: service::queries::channel().1,
        }
    }
}

/// How the demo runs.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub generator: GenConfig,
    /// Wall-clock seconds for the working hours of a simulated day (nights are skipped).
    pub seconds_per_working_day: f64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            generator: GenConfig {
                days: 5,
                managers: 20,
                leads_per_day: 100,
                ..GenConfig::default()
            },
            seconds_per_working_day: 60.0,
        }
    }
}

/// Why the demo stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("mock cluster: {0}")]
    Kafka(#[from] KafkaError),
    #[error("service: {0}")]
    Service(#[from] ServiceError),
    #[error("publisher: {0}")]
    Publish(#[from] PublishError),
    #[error("{0}")]
    Thread(String),
}

/// What the demo did.
#[derive(Clone, Copy, Debug, Default)]
pub struct DemoReport {
    pub published: u64,
    pub printed: u64,
}

/// Runs the demo until the simulated days are over (or `stop`), printing findings to `out`.
pub fn run(
    options: &DemoOptions,
    config: &Config,
    service: DemoService,
    out: &mut dyn Write,
    stop: &Arc<AtomicBool>,
) -> Result<DemoReport, DemoError> {
    let cluster = MockCluster::new(1)?;
    let brokers = cluster.bootstrap_servers();
    let mut config = config.clone();
    config.kafka.brokers = brokers.clone();
    config.kafka.group_id = "dozvon-demo".to_owned();
    config.processing.guarantee = Guarantee::AtLeastOnce;
    let topics = config.kafka.topics.clone();
    for topic in [
        &topics.calls,
        &topics.leads,
        &topics.violations,
        &topics.qc_reviews,
        &topics.dead_letter,
    ] {
        cluster.create_topic(topic, PARTITIONS, 1)?;
    }
    let tz = config.default_tenant.calendar.timezone;
    let _ = writeln!(
        out,
        "mock Kafka at {brokers}: inputs {} and {}, findings on {} and {} ({PARTITIONS} partitions each)",
        topics.calls, topics.leads, topics.violations, topics.qc_reviews
    );

    let service_stop = Arc::new(AtomicBool::new(false));
    let DemoService { stats, queries } = service;
    let service = {
        let config = Arc::new(config.clone());
        let (stop, stats) = (Arc::clone(&service_stop), Arc::clone(&stats));
        std::thread::Builder::new()
            .name("dozvon-service".to_owned())
            .spawn(move || service::run_blocking(config, stop, stats, queries))
            .map_err(|e| DemoError::Thread(e.to_string()))?
    };
    let publisher = {
        let mut events = Vec::new();
        generate_into(&options.generator, &mut |event| events.push(event));
        let publish_options = PublishOptions {
            calls_topic: topics.calls.clone(),
            leads_topic: topics.leads.clone(),
            pace: Pace::Accelerated {
                seconds_per_working_day: options.seconds_per_working_day,
                timezone: options.generator.timezone,
            },
            ..PublishOptions::new(brokers.clone())
        };
        let stop = Arc::clone(stop);
        std::thread::Builder::new()
            .name("dozvon-sales-floor".to_owned())
            .spawn(move || publish(&events, &publish_options, &stop))
            .map_err(|e| DemoError::Thread(e.to_string()))?
    };

    let reader = reader(&brokers, &[&topics.violations, &topics.qc_reviews])?;
    let mut report = DemoReport::default();
    let mut quiet_since: Option<Instant> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if publisher.is_finished() {
            // Everything is published: print what follows, stop after 3 quiet seconds.
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        if service.is_finished() {
            break;
        }
        let Some(Ok(message)) = reader.poll(Duration::from_millis(100)) else {
            continue;
        };
        let payload = message.payload().unwrap_or_default();
        let finding = if message.topic() == topics.violations {
            codec::decode_violation(payload).map(Finding::Violation)
        } else {
            codec::decode_qc_review(payload).map(Finding::Qc)
        };
        if let Ok(finding) = finding {
            let _ = writeln!(out, "{}", describe(&finding, tz));
            report.printed += 1;
            quiet_since = None;
        }
    }
    service_stop.store(true, Ordering::Relaxed);
    let service_result = service
        .join()
        .map_err(|_| DemoError::Thread("the service thread panicked".to_owned()))?;
    let publish_result = publisher
        .join()
        .map_err(|_| DemoError::Thread("the publisher thread panicked".to_owned()))?;
    service_result?;
    report.published = publish_result?.records();
    Ok(report)
}

/// A reader of whole output topics from the beginning.
fn reader(brokers: &str, topics: &[&str]) -> Result<BaseConsumer, KafkaError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "dozvon-demo-reader")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for topic in topics {
        for partition in 0..PARTITIONS {
            tpl.add_partition_offset(topic, partition, Offset::Beginning)?;
        }
    }
    consumer.assign(&tpl)?;
    Ok(consumer)
}
