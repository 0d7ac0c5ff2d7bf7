//! Shared harness of the broker-backed integration tests: topics, producing inputs, running
//! `dozvon run` as a real process, reading outputs back with a read_committed consumer.
#![allow(dead_code)] // each test binary uses a different part

pub mod asterisk;
pub mod bitrix24;
pub mod broker;
pub mod browser;
pub mod compare;
pub mod dataset;
pub mod fault;
pub mod http;
pub mod prometheus;
pub mod registry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

/// The broker under test: scripts/test.sh provisions Tansu and exports its address.
pub fn brokers() -> String {
    std::env::var("DOZVON_TEST_BROKERS")
        .expect("DOZVON_TEST_BROKERS must name a broker; run the suite with scripts/test.sh")
}

/// A name no other test (or earlier run on a persistent broker) uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The topic names of one test.
#[derive(Clone, Debug)]
pub struct Topics {
    pub calls: String,
    pub leads: String,
    pub violations: String,
    pub qc_reviews: String,
    pub dead_letter: String,
    pub changelog: String,
    pub contacts: String,
    pub resolved: String,
    pub group: String,
}

impl Topics {
    pub fn new(test: &str) -> Self {
        let base = unique(test);
        Topics {
            calls: format!("{base}.calls"),
            leads: format!("{base}.leads"),
            violations: format!("{base}.violations"),
            qc_reviews: format!("{base}.qc-reviews"),
            dead_letter: format!("{base}.dead-letter"),
            changelog: format!("{base}.changelog"),
            contacts: format!("{base}.contacts"),
            resolved: format!("{base}.calls-resolved"),
            group: format!("{base}.group"),
        }
    }
}

/// Creates topics with `partitions` partitions (Tansu does not auto-create); each must be new.
pub fn create_topics(names: &[&str], partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("admin client");
    let created =
        dozvon::admin::create_topics(&admin, names, partitions, 1, Duration::from_secs(10))
            .unwrap_or_else(|(topic, error)| panic!("create topic {topic}: {error}"));
    assert_eq!(created.len(), names.len(), "every topic is new: {names:?}");
}

/// An idempotent producer keyed like the real producers (murmur2, Java-compatible).
pub fn producer() -> ThreadedProducer<rdkafka::producer::DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

/// Produces `(key, payload)` records to `topic` in order and waits for all of them.
pub fn produce(topic: &str, records: &[(Option<String>, Vec<u8>)]) {
    let producer = producer();
    for (key, payload) in records {
        let mut record: BaseRecord<'_, str, [u8]> = BaseRecord::to(topic).payload(payload);
        if let Some(key) = key {
            record = record.key(key);
        }
        let mut record = record;
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(_), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((error, _)) => panic!("produce to {topic}: {error}"),
            }
        }
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// The lines of an NDJSON file as records keyed by their `lead_id`.
pub fn ndjson_records(path: &Path) -> Vec<(Option<String>, Vec<u8>)> {
    let text = std::fs::read_to_string(path).expect("ndjson file");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("json line");
            let key = value["lead_id"].as_str().map(str::to_owned);
            (key, line.as_bytes().to_vec())
        })
        .collect()
}

/// A `dozvon run` configuration for `topics` on the test broker.
pub fn service_config(topics: &Topics, guarantee: &str, extra: &str) -> String {
    format!(
        r#"
[kafka]
brokers = "{brokers}"
group_id = "{group}"

[kafka.topics]
calls = "{calls}"
leads = "{leads}"
violations = "{violations}"
qc_reviews = "{qc_reviews}"
dead_letter = "{dead_letter}"
changelog = "{changelog}"
contacts = "{contacts}"
resolved = "{resolved}"

[kafka.consumer_properties]
"session.timeout.ms" = "6000"
"fetch.wait.max.ms" = "5"

[http]
listen = "127.0.0.1:0"

[processing]
guarantee = "{guarantee}"
commit_interval = "100ms"
idle_timeout = "1s"
{extra}
"#,
        brokers = brokers(),
        group = topics.group,
        calls = topics.calls,
        leads = topics.leads,
        violations = topics.violations,
        qc_reviews = topics.qc_reviews,
        dead_letter = topics.dead_letter,
        changelog = topics.changelog,
        contacts = topics.contacts,
        resolved = topics.resolved,
    )
}

/// A `dozvon run` process.
pub struct Service {
    child: Option<Child>,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Service {
    /// Starts `dozvon run` with `config` (TOML text) and extra environment variables.
    pub fn start(config: &str, env: &[(&str, &str)]) -> Service {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("dozvon.toml");
        std::fs::write(&config_path, config).expect("write config");
        let log = dir.path().join("dozvon.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_dozvon"));
        command
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .env(
                "RUST_LOG",
                std::env::var("DOZVON_TEST_LOG").unwrap_or_else(|_| "info".to_owned()),
            )
            .stdout(Stdio::null())
            .stderr(log_file);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("dozvon run starts");
        Service {
            child: Some(child),
            log,
            _dir: dir,
        }
    }

    /// The address of the service's HTTP endpoint, from its log (waits up to 60 s).
    pub fn http_address(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let log = self.log_text();
            // Pretty lines say `address=HOST:PORT`, JSON lines `"address":"HOST:PORT"`.
            let found = log
                .lines()
                .filter(|line| line.contains("http: serving"))
                .find_map(|line| {
                    let pretty = line.split("address=").nth(1);
                    let json = line.split("\"address\":\"").nth(1);
                    pretty.or(json)
                })
                .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '"').next())
                .map(str::to_owned);
            if let Some(address) = found {
                return address;
            }
            assert!(
                Instant::now() < deadline,
                "no HTTP address in the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the log if the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("dozvon run exited early ({status}):\n{}", self.log_text());
            }
        }
    }

    /// The exit code once the process has exited by itself (`Some(None)`: killed by a
    /// signal), `None` while it runs.
    pub fn exit_code(&mut self) -> Option<Option<i32>> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status.code())
    }

    /// SIGTERM, then waits; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("dozvon run ignored SIGTERM for 60 s:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL (a crash), then waits.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A record read back from an output topic.
#[derive(Clone, Debug)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: BTreeMap<String, Vec<u8>>,
    pub partition: i32,
    pub offset: i64,
}

/// A read_committed reader of whole topics (assigned partitions, from the beginning).
pub struct Reader {
    consumer: BaseConsumer,
    pub records: BTreeMap<String, Vec<Record>>,
}

impl Reader {
    pub fn new(topics: &[&str], partitions: i32) -> Reader {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers())
            .set("group.id", unique("reader")) // required by assign(); never joins
            .set("isolation.level", "read_committed")
            .set("fetch.wait.max.ms", "5")
            .set("enable.partition.eof", "false")
            .create()
            .expect("reader");
        let mut tpl = TopicPartitionList::new();
        for topic in topics {
            for partition in 0..partitions {
                tpl.add_partition_offset(topic, partition, Offset::Beginning)
                    .expect("partition");
            }
        }
        consumer.assign(&tpl).expect("assign");
        Reader {
            consumer,
            records: topics
                .iter()
                .map(|t| ((*t).to_owned(), Vec::new()))
                .collect(),
        }
    }

    /// Reads for `duration`.
    pub fn read_for(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            self.poll_once();
        }
    }

    /// Reads until `done(records)` holds; panics after `timeout` with `context()` in the message.
    pub fn read_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&BTreeMap<String, Vec<Record>>) -> bool,
        context: impl Fn() -> String,
    ) {
        let deadline = Instant::now() + timeout;
        while !done(&self.records) {
            assert!(
                Instant::now() < deadline,
                "outputs incomplete after {timeout:?}: {:?}\n{}",
                self.records
                    .iter()
                    .map(|(t, r)| (t, r.len()))
                    .collect::<Vec<_>>(),
                context()
            );
            self.poll_once();
        }
    }

    fn poll_once(&mut self) {
        match self.consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                let mut headers = BTreeMap::new();
                if let Some(h) = message.headers() {
                    for header in h.iter() {
                        headers.insert(
                            header.key.to_owned(),
                            header.value.unwrap_or_default().to_vec(),
                        );
                    }
                }
                let record = Record {
                    key: message.key().map(<[u8]>::to_vec),
                    payload: message.payload().unwrap_or_default().to_vec(),
                    headers,
                    partition: message.partition(),
                    offset: message.offset(),
                };
                if let Some(list) = self.records.get_mut(message.topic()) {
                    list.push(record);
                }
            }
            Some(Err(error)) => eprintln!("reader: {error}"),
            None => {}
        }
    }

    pub fn payloads(&self, topic: &str) -> Vec<serde_json::Value> {
        self.records
            .get(topic)
            .map(|records| {
                records
                    .iter()
                    .map(|r| serde_json::from_slice(&r.payload).expect("output is JSON"))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Runs `dozvon replay` and returns (violations, qc reviews) as JSON values.
pub fn replay(
    calls: &Path,
    leads: &Path,
    until: &str,
) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let out = tempfile::tempdir().expect("tempdir");
    let status = Command::new(env!("CARGO_BIN_EXE_dozvon"))
        .args(["replay", "--quiet", "--until", until, "--calls"])
        .arg(calls)
        .arg("--leads")
        .arg(leads)
        .arg("--out")
        .arg(out.path())
        .status()
        .expect("replay runs");
    assert!(status.success(), "replay failed: {status}");
    let read = |name: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(out.path().join(name))
            .expect("replay output")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect()
    };
    (read("violations.ndjson"), read("qc-reviews.ndjson"))
}

/// Sorted canonical JSON strings: the comparable form of an output set.
pub fn canonical(values: &[serde_json::Value]) -> Vec<String> {
    let mut lines: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    lines.sort();
    lines
}

/// A raw input record: key, value (`None`: a null value), headers.
pub type RawRecord<'a> = (Option<String>, Option<Vec<u8>>, Vec<(&'a str, &'a str)>);

/// Produces records with optional values and headers, in order.
pub fn produce_with_headers(topic: &str, records: &[RawRecord<'_>]) {
    use rdkafka::message::{Header, OwnedHeaders};
    let producer = producer();
    for (key, payload, headers) in records {
        let mut record: BaseRecord<'_, str, [u8]> = BaseRecord::to(topic);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(payload) = payload {
            record = record.payload(payload);
        }
        if !headers.is_empty() {
            let mut owned = OwnedHeaders::new();
            for (k, v) in headers {
                owned = owned.insert(Header {
                    key: k,
                    value: Some(*v),
                });
            }
            record = record.headers(owned);
        }
        producer.send(record).map_err(|(e, _)| e).expect("send");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// The JSON payloads of records.
pub fn values(records: &[Record]) -> Vec<serde_json::Value> {
    records
        .iter()
        .map(|r| serde_json::from_slice(&r.payload).expect("output is JSON"))
        .collect()
}
