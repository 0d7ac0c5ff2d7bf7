//! librdkafka client settings for the service's consumer, producers and admin client.

use rdkafka::ClientConfig;

use crate::config::{Config, Guarantee};

/// Settings dozvon decides itself; the `[kafka.*properties]` tables refuse these keys.
fn base(config: &Config) -> ClientConfig {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.kafka.brokers);
    client.set("client.id", "dozvon");
    for (key, value) in &config.kafka.properties {
        client.set(key, value);
    }
    client
}

/// The group consumer's pre-fetch queue, smaller than librdkafka's defaults (up to 64 MiB of
/// payloads, and at least 100,000 messages per partition): each queued message also costs about
/// 300 bytes of librdkafka's own, so on a backlog the defaults held ~150 MiB fetched ahead of
/// a service that takes ~50-80k records/s; 10,000 per partition is still 0.1-0.2 s of work
/// each. A full queue then makes librdkafka wait `fetch.queue.backoff.ms` (default 1 s) before
/// fetching again, which starved the service (−60 % events/s); 10 ms does not
/// (BENCHMARKS.md, "Memory per lead"). Overridable in `[kafka.consumer_properties]`.
const PREFETCH_QUEUE: [(&str, &str); 2] = [
    ("queued.max.messages.kbytes", "16384"),
    ("queued.min.messages", "10000"),
];
const FETCH_BACKOFF: (&str, &str) = ("fetch.queue.backoff.ms", "10");

/// Whether the configuration sets librdkafka property `key` for the consumers.
fn user_set(config: &Config, key: &str) -> bool {
    config.kafka.properties.contains_key(key) || config.kafka.consumer_properties.contains_key(key)
}

/// The group consumer: manual offsets, committed data only, the range assignor (it gives the
/// same partition number of both input topics to one member — the co-partitioning the engine
/// needs; see README "Partitioning").
pub fn consumer(config: &Config) -> ClientConfig {
    let mut client = base(config);
    for (key, value) in PREFETCH_QUEUE.into_iter().chain([FETCH_BACKOFF]) {
        if !user_set(config, key) {
            client.set(key, value);
        }
    }
    client
        .set("group.id", &config.kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "range")
        // Consumer lag for `dozvon_consumer_lag_records` (ServiceContext::stats).
        .set("statistics.interval.ms", "5000");
    for (key, value) in &config.kafka.consumer_properties {
        client.set(key, value);
    }
    client
}

/// A group-less consumer that re-reads input partitions when a task is restored.
pub fn restore_consumer(config: &Config) -> ClientConfig {
    let mut client = consumer(config);
    // librdkafka wants a group id even for assign(); this one never joins or commits.
    client
        .set("group.id", format!("{}.restore", config.kafka.group_id))
        .remove("partition.assignment.strategy")
        .set("enable.partition.eof", "true")
        .set("statistics.interval.ms", "0")
        .set("client.id", "dozvon-restore");
    // A restore (and the contacts reader) reads as fast as it can: librdkafka's own pre-fetch
    // queue (the back-off is set below).
    for (key, _) in PREFETCH_QUEUE {
        if !user_set(config, key) {
            client.remove(key);
        }
    }
    // A restore reads a partition from its beginning as fast as it can: librdkafka's default
    // 1 s back-off whenever its fetch queue is full halved the restore rate (1M leads ready in
    // 45 s, 19 s with 10 ms; docs/restore-bench.md). Larger fetches mean fewer round trips.
    // Both stay overridable in [kafka.consumer_properties].
    for (key, value) in [FETCH_BACKOFF, ("max.partition.fetch.bytes", "8388608")] {
        if !config.kafka.consumer_properties.contains_key(key) {
            client.set(key, value);
        }
    }
    client
}

/// A group-less reader of the whole contacts topic (this instance's directory replica).
pub fn contacts_reader(config: &Config) -> ClientConfig {
    let mut client = restore_consumer(config);
    client
        .set("group.id", format!("{}.contacts", config.kafka.group_id))
        .set("client.id", "dozvon-contacts");
    client
}

/// The output producer: transactional under exactly-once, idempotent in both modes.
pub fn producer(config: &Config, transactional_id: &str) -> ClientConfig {
    let mut client = base(config);
    client
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("partitioner", "murmur2_random");
    if config.processing.guarantee == Guarantee::ExactlyOnce {
        client
            .set("transactional.id", transactional_id)
            // Bounds how long read_committed readers wait behind the open transaction of a
            // crashed instance that did not come back with the same transactional id.
            .set("transaction.timeout.ms", "10000");
    }
    for (key, value) in &config.kafka.producer_properties {
        client.set(key, value);
    }
    client
}

/// The admin client (start-up checks, output topic creation).
pub fn admin(config: &Config) -> ClientConfig {
    base(config)
}

/// `[processing] transactional_id`, else `dozvon-<group>-<host name>`: stable across restarts
/// of one host so that a restarted instance fences its own zombie at once.
pub fn transactional_id(config: &Config) -> String {
    if let Some(id) = &config.processing.transactional_id {
        return id.clone();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".to_owned());
    format!("dozvon-{}-{host}", config.kafka.group_id)
}
