//! Publishing generated traffic to real Kafka topics: load tests, manual trials, the embedded demo.
//!
//! [`publish`] sends call-detail records to one topic and lead events to another, in the order it
//! is given them. Pass the generator's *delivery* order, as [`generate_into`](super::generate_into)
//! hands it over, and its out-of-order delivery and duplicates reach Kafka exactly as generated.
//! (A [`Dataset`](super::Dataset) keeps each kind in delivery order but not how the two
//! interleave.)
//!
//! **Keys and co-partitioning.** Every record is keyed by its `lead_id`; a call without one has
//! no key (and lands on a random partition). The producer uses librdkafka's `murmur2_random`
//! partitioner, which is the Java client's default (`murmur2(key) % partitions`), so the calls
//! and lead events of one lead land on the *same partition number* in both topics as long as
//! the topics have the same partition count. The service requires this co-partitioning (it
//! keeps a lead's state per input partition), so [`publish`] refuses topics whose partition
//! counts differ. Other producers feeding the service must use the same partitioner.
//!
//! **Timestamps.** The Kafka message timestamp is left to the producer (wall-clock produce
//! time); event time travels in the payload. Timestamps taken from simulated event time would be
//! old, and a real broker's retention would delete such records at once.
//!
//! **Delivery.** The producer is idempotent (`enable.idempotence=true`, so retries neither
//! duplicate nor reorder records within a partition), batches with `linger.ms=5`, never drops a
//! record on a full local queue (it polls and retries), and waits for every delivery report
//! before returning; any failed delivery makes [`publish`] fail with the count.
//!
//! **Threading.** [`publish`] blocks the calling thread until everything is delivered: run it on
//! a plain thread (`std::thread::spawn`, `tokio::task::spawn_blocking`), never directly on an
//! async executor.

use std::borrow::Borrow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveTime;
use chrono_tz::Tz;
use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use tracing::{info, warn};

use super::knobs::{WORK_CLOSE_HOUR, WORK_OPEN_HOUR};
use crate::admin::{self, TopicState};
use crate::calendar::{BusinessCalendar, CalendarError};
use crate::codec::{EncodeError, Encoding, encode_call, encode_lead};
use crate::model::{InputEvent, Timestamp};

/// Where and how [`publish`] sends records.
#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Topic of call-detail records (SPEC default `pbx.calls`).
    pub calls_topic: String,
    /// Topic of lead events (SPEC default `crm.leads`).
    pub leads_topic: String,
    /// Wire format of both topics.
    pub encoding: Encoding,
    pub pace: Pace,
    /// Create both topics with this many partitions (replication factor 1) when they do not
    /// exist; `None`: they must exist already.
    pub create_partitions: Option<i32>,
    /// Extra librdkafka producer properties (also used by the admin client that creates
    /// topics), applied last so they override the defaults.
    pub properties: Vec<(String, String)>,
}

impl PublishOptions {
    /// The SPEC's default topics (`pbx.calls`, `crm.leads`), JSON, unlimited pace, existing topics.
    pub fn new(brokers: impl Into<String>) -> Self {
        PublishOptions {
            brokers: brokers.into(),
            calls_topic: "pbx.calls".to_owned(),
            leads_topic: "crm.leads".to_owned(),
            encoding: Encoding::Json,
            pace: Pace::Unlimited,
            create_partitions: None,
            properties: Vec::new(),
        }
    }
}

/// How fast [`publish`] sends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// As fast as the producer takes records.
    Unlimited,
    /// At most this many records per second, both topics together (> 0).
    Rate(f64),
    /// Simulated event time mapped to wall-clock time like `dozvon demo` does: the working hours
    /// of a day (the generator's calendar, Mon–Fri 09:00–18:00 in `timezone`, i.e.
    /// [`GenConfig::timezone`](super::GenConfig::timezone)) pass in `seconds_per_working_day`,
    /// nights and weekends take no time. A record is sent when the wall clock reaches the
    /// simulated time of the latest event time seen so far, counted from the first record's;
    /// records delivered late (event time behind that) go out at once.
    Accelerated {
        seconds_per_working_day: f64,
        timezone: Tz,
    },
}

/// What [`publish`] sent. On success every sent record was delivered (acknowledged).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PublishReport {
    /// Call-detail records sent, duplicates included.
    pub calls: u64,
    /// Lead events sent, duplicates included.
    pub leads: u64,
    /// From the first record sent to the last delivery report.
    pub elapsed: Duration,
    /// `stop` was set: publishing ended before the input did.
    pub stopped: bool,
}

impl PublishReport {
    /// Records of both kinds.
    pub fn records(&self) -> u64 {
        self.calls + self.leads
    }

    /// Records per second over [`elapsed`](Self::elapsed).
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.records() as f64 / seconds
        } else {
            0.0
        }
    }
}

/// Why [`publish`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("invalid publish options: {0}")]
    InvalidOptions(String),
    #[error("cannot create the Kafka {client}: {source}")]
    Client {
        client: &'static str,
        #[source]
        source: Box<KafkaError>,
    },
    #[error("cannot create topic {topic:?}: {source}")]
    CreateTopic {
        topic: String,
        #[source]
        source: Box<KafkaError>,
    },
    #[error("topic {topic:?} does not exist (create it, or set create_partitions)")]
    MissingTopic { topic: String },
    #[error("cannot read the metadata of topic {topic:?}: {reason}")]
    Metadata { topic: String, reason: String },
    #[error(
        "topics are not co-partitioned: {calls_topic:?} has {calls} partitions, \
         {leads_topic:?} has {leads}; a lead's calls and events must share a partition number"
    )]
    PartitionMismatch {
        calls_topic: String,
        calls: usize,
        leads_topic: String,
        leads: usize,
    },
    #[error("cannot encode record {id:?}: {source}")]
    Encode {
        id: String,
        #[source]
        source: EncodeError,
    },
    #[error("cannot enqueue record {id:?} for topic {topic:?}: {source}")]
    Send {
        id: String,
        topic: String,
        #[source]
        source: Box<KafkaError>,
    },
    #[error("{failed} of {sent} records were not delivered; first error: {first}")]
    Delivery {
        failed: u64,
        sent: u64,
        first: String,
    },
}

/// Counts delivery reports; the producer context.
#[derive(Default)]
struct Deliveries {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {
    fn error(&self, error: KafkaError, reason: &str) {
        warn!(%error, reason, "kafka producer error");
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| error.to_string());
                }
            }
        }
    }
}

impl Deliveries {
    fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    fn first_error(&self) -> String {
        self.first_error
            .lock()
            .ok()
            .and_then(|first| first.clone())
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

/// Longest single wait: bounds how late `stop` and progress logging are noticed.
const WAIT_SLICE: Duration = Duration::from_millis(100);
/// How often progress is logged.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How long freshly created topics may take to show up in metadata.
const TOPIC_READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout of one metadata or admin request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Publishes `events` — calls to `options.calls_topic`, lead events to `options.leads_topic` —
/// in the order given, paced by `options.pace`; returns once every sent record is delivered.
///
/// Setting `stop` (e.g. on Ctrl-C) ends publishing early: records already sent are still
/// flushed and the report says [`stopped`](PublishReport::stopped). Any record that failed to
/// be delivered makes this an error ([`PublishError::Delivery`]); sending stops at the first
/// such failure. Blocks the calling thread (see the module docs).
///
/// ```no_run
/// # use std::sync::atomic::AtomicBool;
/// use dozvon::generator::{GenConfig, generate_into};
/// use dozvon::generator::publish::{PublishOptions, publish};
///
/// let mut events = Vec::new();
/// generate_into(&GenConfig::default(), &mut |event| events.push(event));
/// let options = PublishOptions { create_partitions: Some(4), ..PublishOptions::new("localhost:9092") };
/// let report = publish(events, &options, &AtomicBool::new(false))?;
/// println!("{} records at {:.0}/s", report.records(), report.rate());
/// # Ok::<(), dozvon::generator::publish::PublishError>(())
/// ```
pub fn publish<'a, I>(
    events: I,
    options: &PublishOptions,
    stop: &AtomicBool,
) -> Result<PublishReport, PublishError>
where
    I: IntoIterator,
    I::Item: Borrow<InputEvent<'a>>,
{
    let mut pacer = Pacer::new(&options.pace)?;
    if options.calls_topic.is_empty() || options.leads_topic.is_empty() {
        return Err(PublishError::InvalidOptions(
            "topic names must not be empty".to_owned(),
        ));
    }
    if options.calls_topic == options.leads_topic {
        return Err(PublishError::InvalidOptions(format!(
            "calls and lead events need different topics, both are {:?}",
            options.calls_topic
        )));
    }
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &options.brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("partitioner", "murmur2_random")
        // "Must exist" must not be undone by a broker that creates topics on metadata requests.
        .set("allow.auto.create.topics", "false");
    for (key, value) in &options.properties {
        config.set(key, value);
    }
    let producer: BaseProducer<Deliveries> = config
        .create_with_context(Deliveries::default())
        .map_err(|source| PublishError::Client {
            client: "producer",
            source: Box::new(source),
        })?;
    if let Some(partitions) = options.create_partitions {
        create_topics(&config, options, partitions)?;
    }
    let topics = [&options.calls_topic, &options.leads_topic];
    let deadline = Instant::now()
        + if options.create_partitions.is_some() {
            TOPIC_READY_TIMEOUT
        } else {
            Duration::ZERO
        };
    let calls_partitions = partition_count(&producer, topics[0], deadline)?;
    let leads_partitions = partition_count(&producer, topics[1], deadline)?;
    if calls_partitions != leads_partitions {
        return Err(PublishError::PartitionMismatch {
            calls_topic: options.calls_topic.clone(),
            calls: calls_partitions,
            leads_topic: options.leads_topic.clone(),
            leads: leads_partitions,
        });
    }
    info!(
        calls_topic = %options.calls_topic,
        leads_topic = %options.leads_topic,
        partitions = calls_partitions,
        encoding = ?options.encoding,
        pace = ?options.pace,
        "publishing generated traffic"
    );

    let started = Instant::now();
    let mut report = PublishReport::default();
    let mut progress = Progress::new(started);
    let mut outcome = Ok(());
    for event in events {
        let event = event.borrow();
        if producer.context().failed() > 0 {
            break;
        }
        let target = pacer.target(started, report.records(), event.event_time());
        if wait_until(&producer, target, stop, &mut progress, &report) {
            report.stopped = true;
            break;
        }
        if let Err(error) = send(&producer, event, options) {
            outcome = Err(error);
            break;
        }
        match event {
            InputEvent::Call(_) => report.calls += 1,
            InputEvent::Lead(_) => report.leads += 1,
        }
        producer.poll(Duration::ZERO);
        progress.tick(Instant::now(), &report);
    }
    if report.stopped {
        info!(
            sent = report.records(),
            "stop requested; flushing what was sent"
        );
    }
    flush(&producer);
    report.elapsed = started.elapsed();
    let deliveries = producer.context();
    let failed = deliveries.failed();
    outcome?;
    if failed > 0 {
        return Err(PublishError::Delivery {
            failed,
            sent: report.records(),
            first: deliveries.first_error(),
        });
    }
    let delivered = deliveries.delivered.load(Ordering::Relaxed);
    if delivered != report.records() {
        // Only possible if librdkafka lost a delivery report; never report success then.
        return Err(PublishError::Delivery {
            failed: report.records().saturating_sub(delivered),
            sent: report.records(),
            first: "no delivery report".to_owned(),
        });
    }
    info!(
        calls = report.calls,
        leads = report.leads,
        elapsed_s = report.elapsed.as_secs_f64(),
        rate = report.rate().round(),
        stopped = report.stopped,
        "published"
    );
    Ok(report)
}

/// Encodes and enqueues one record, waiting (and serving delivery reports) while the local
/// queue is full.
fn send(
    producer: &BaseProducer<Deliveries>,
    event: &InputEvent<'_>,
    options: &PublishOptions,
) -> Result<(), PublishError> {
    let (topic, id, key, payload) = match event {
        InputEvent::Call(call) => (
            &options.calls_topic,
            &*call.call_id,
            call.lead_id.as_deref(),
            encode_call(call, options.encoding),
        ),
        InputEvent::Lead(lead) => (
            &options.leads_topic,
            &*lead.event_id,
            Some(&*lead.lead_id),
            encode_lead(lead, options.encoding),
        ),
    };
    let payload = payload.map_err(|source| PublishError::Encode {
        id: id.to_owned(),
        source,
    })?;
    let mut record = BaseRecord::<str, [u8]>::to(topic).payload(&payload);
    if let Some(key) = key {
        record = record.key(key);
    }
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                producer.poll(Duration::from_millis(5));
            }
            Err((source, _)) => {
                return Err(PublishError::Send {
                    id: id.to_owned(),
                    topic: topic.clone(),
                    source: Box::new(source),
                });
            }
        }
    }
}

/// Waits until every enqueued record has its delivery report.
fn flush(producer: &BaseProducer<Deliveries>) {
    // librdkafka reports every message within `message.timeout.ms`, so this ends.
    loop {
        match producer.flush(PROGRESS_EVERY) {
            Ok(()) => return,
            Err(_) => info!(
                in_flight = producer.in_flight_count(),
                "waiting for delivery reports"
            ),
        }
        if producer.in_flight_count() == 0 {
            return;
        }
    }
}

/// Sleeps until `target` in slices, serving delivery reports and logging progress; `true`
/// when `stop` was set first.
fn wait_until(
    producer: &BaseProducer<Deliveries>,
    target: Option<Instant>,
    stop: &AtomicBool,
    progress: &mut Progress,
    report: &PublishReport,
) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        let now = Instant::now();
        match target {
            Some(target) if target > now => {
                // `BaseProducer::poll` blocks for the whole timeout, serving events meanwhile.
                producer.poll((target - now).min(WAIT_SLICE));
                progress.tick(Instant::now(), report);
            }
            _ => return false,
        }
    }
}

/// The wall-clock schedule of [`Pace`].
enum Pacer {
    Unlimited,
    Rate(f64),
    Accelerated {
        calendar: BusinessCalendar,
        seconds_per_working_day: f64,
        /// Latest event time so far and its offset from the start.
        latest: Option<(Timestamp, Duration)>,
    },
}

impl Pacer {
    fn new(pace: &Pace) -> Result<Pacer, PublishError> {
        match *pace {
            Pace::Unlimited => Ok(Pacer::Unlimited),
            Pace::Rate(rate) if rate.is_finite() && rate > 0.0 => Ok(Pacer::Rate(rate)),
            Pace::Rate(rate) => Err(PublishError::InvalidOptions(format!(
                "a rate must be a positive number of records per second, not {rate}"
            ))),
            Pace::Accelerated {
                seconds_per_working_day,
                timezone,
            } if seconds_per_working_day.is_finite() && seconds_per_working_day > 0.0 => {
                let calendar = generator_calendar(timezone).map_err(|error| {
                    PublishError::InvalidOptions(format!("generator calendar: {error}"))
                })?;
                Ok(Pacer::Accelerated {
                    calendar,
                    seconds_per_working_day,
                    latest: None,
                })
            }
            Pace::Accelerated {
                seconds_per_working_day,
                ..
            } => Err(PublishError::InvalidOptions(format!(
                "seconds_per_working_day must be a positive number, not {seconds_per_working_day}"
            ))),
        }
    }

    /// When the record after `sent` others, with event time `time`, is due; `None`: now.
    fn target(&mut self, started: Instant, sent: u64, time: Timestamp) -> Option<Instant> {
        let offset = match self {
            Pacer::Unlimited => return None,
            Pacer::Rate(rate) => Duration::try_from_secs_f64(sent as f64 / *rate).ok()?,
            Pacer::Accelerated {
                calendar,
                seconds_per_working_day,
                latest,
            } => match latest {
                None => {
                    *latest = Some((time, Duration::ZERO));
                    Duration::ZERO
                }
                Some((latest_time, offset)) => {
                    if time > *latest_time {
                        // Incremental, so the cost stays per gap rather than per run.
                        *offset += calendar.compressed_wall_time(
                            *latest_time,
                            time,
                            *seconds_per_working_day,
                        );
                        *latest_time = time;
                    }
                    *offset
                }
            },
        };
        started.checked_add(offset)
    }
}

/// The generator's business calendar: Monday to Friday, 09:00–18:00 in `timezone`, no holidays.
fn generator_calendar(timezone: Tz) -> Result<BusinessCalendar, CalendarError> {
    let hour = |h: i64| {
        u32::try_from(h)
            .ok()
            .and_then(|h| NaiveTime::from_hms_opt(h, 0, 0))
            .unwrap_or(NaiveTime::MIN)
    };
    BusinessCalendar::new(
        timezone,
        [true, true, true, true, true, false, false],
        hour(WORK_OPEN_HOUR),
        hour(WORK_CLOSE_HOUR),
        Default::default(),
    )
}

/// Info-level progress every [`PROGRESS_EVERY`].
struct Progress {
    started: Instant,
    last: Instant,
    last_records: u64,
}

impl Progress {
    fn new(started: Instant) -> Self {
        Progress {
            started,
            last: started,
            last_records: 0,
        }
    }

    fn tick(&mut self, now: Instant, report: &PublishReport) {
        let since = now.saturating_duration_since(self.last);
        if since < PROGRESS_EVERY {
            return;
        }
        let records = report.records();
        let rate = (records - self.last_records) as f64 / since.as_secs_f64();
        info!(
            sent = records,
            calls = report.calls,
            leads = report.leads,
            rate = rate.round(),
            elapsed_s = now.saturating_duration_since(self.started).as_secs(),
            "publishing"
        );
        self.last = now;
        self.last_records = records;
    }
}

/// Creates both topics with `partitions` partitions (replication 1); existing ones are kept.
fn create_topics(
    config: &ClientConfig,
    options: &PublishOptions,
    partitions: i32,
) -> Result<(), PublishError> {
    if partitions < 1 {
        return Err(PublishError::InvalidOptions(format!(
            "create_partitions must be at least 1, not {partitions}"
        )));
    }
    let admin: AdminClient<DefaultClientContext> =
        config.create().map_err(|source| PublishError::Client {
            client: "admin client",
            source: Box::new(source),
        })?;
    let topics = [options.calls_topic.as_str(), options.leads_topic.as_str()];
    let created = admin::create_topics(&admin, &topics, partitions, 1, REQUEST_TIMEOUT).map_err(
        |(topic, source)| PublishError::CreateTopic {
            topic,
            source: Box::new(source),
        },
    )?;
    for topic in created {
        info!(%topic, partitions, "created topic");
    }
    Ok(())
}

/// Partitions of `topic`, retrying until `deadline` while the topic is not (yet) visible.
fn partition_count(
    producer: &BaseProducer<Deliveries>,
    topic: &str,
    deadline: Instant,
) -> Result<usize, PublishError> {
    loop {
        let state = admin::topic_state(producer.client(), topic, REQUEST_TIMEOUT);
        if let TopicState::Partitions(count) = state {
            return Ok(count);
        }
        if Instant::now() >= deadline {
            return Err(match state {
                TopicState::Unreadable(reason) => PublishError::Metadata {
                    topic: topic.to_owned(),
                    reason,
                },
                _ => PublishError::MissingTopic {
                    topic: topic.to_owned(),
                },
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn rate_spaces_records_evenly() {
        let mut pacer = Pacer::new(&Pace::Rate(4.0)).unwrap();
        let start = Instant::now();
        let t = ts("2026-03-02T10:00:00+03:00");
        assert_eq!(pacer.target(start, 0, t), Some(start));
        assert_eq!(
            pacer.target(start, 6, t),
            Some(start + Duration::from_millis(1500))
        );
    }

    #[test]
    fn accelerated_follows_the_latest_event_time_in_working_hours() {
        let pace = Pace::Accelerated {
            seconds_per_working_day: 90.0,
            timezone: chrono_tz::Europe::Moscow,
        };
        let mut pacer = Pacer::new(&pace).unwrap();
        let start = Instant::now();
        let at = |pacer: &mut Pacer, text: &str| pacer.target(start, 0, ts(text)).unwrap() - start;
        assert_eq!(at(&mut pacer, "2026-03-06T17:00:00+03:00"), Duration::ZERO);
        // One working hour of nine: 10 s.
        assert_eq!(
            at(&mut pacer, "2026-03-06T18:00:00+03:00"),
            Duration::from_secs(10)
        );
        // A late record (earlier event time) goes out at once, not back in time.
        assert_eq!(
            at(&mut pacer, "2026-03-06T17:30:00+03:00"),
            Duration::from_secs(10)
        );
        // The weekend takes no time; Monday's first hour another 10 s.
        assert_eq!(
            at(&mut pacer, "2026-03-09T10:00:00+03:00"),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn invalid_paces_are_refused() {
        for pace in [
            Pace::Rate(0.0),
            Pace::Rate(f64::NAN),
            Pace::Accelerated {
                seconds_per_working_day: -1.0,
                timezone: chrono_tz::UTC,
            },
        ] {
            assert!(matches!(
                Pacer::new(&pace),
                Err(PublishError::InvalidOptions(_))
            ));
        }
    }
}
