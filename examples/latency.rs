//! Benchmark helper: the latency probe — produce → finding visible to a read_committed consumer, for calls that raise a finding on arrival.
//!
//! `cargo run --release --example latency -- BROKERS CALLS_TOPIC QC_TOPIC PROBES_PER_S SECONDS`
//!
//! Issue 6, item 1c. While background traffic runs at a fixed offered load (`dozvon gen
//! --rate`, started by `scripts/bench-latency.sh`), it produces PROBES_PER_S probe calls for
//! SECONDS: answered 60-second calls of a lead of their own (`lead_id` = `call_id` =
//! `probe-RUN-N`), which dozvon reports at once as a `call_listen` QC review (a touch: SPEC
//! §4.5). Their `started_at` is in 2026-01 — older than the generated traffic — so event-time
//! alignment releases them first and they are never held for a watermark: what is measured is
//! dozvon's pipeline (poll, apply, batch, commit, transaction markers), not the allowed
//! lateness. The latency of probe N runs from just before its produce call to the moment a
//! read_committed consumer of QC_TOPIC (assigned to its end before the first probe) receives
//! the review naming it. Prints one line:
//!
//! `latency probes=N seen=M p50_ms=… p90_ms=… p99_ms=… max_ms=…`
//!
//! and a second line splitting each seen probe's time in three, from clocks of this machine:
//!
//! `parts ack_p50_ms=… ack_p99_ms=… to_output_p50_ms=… … to_visible_p99_ms=…`
//!
//! `ack`: produce call → the broker's acknowledgement of the probe (its delivery report);
//! `to_output`: produce call → dozvon's produce call of the review (the review's CreateTime,
//! milliseconds) — fetch, queueing, alignment and the engine; `to_visible`: that → the review
//! reaching this consumer — the rest of the batch, the commit and the read_committed fetch.
//! Exits with an error when a probe's review does not arrive within 30 s of the last probe.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use support::partition_count;

/// How long to wait for the last reviews after the last probe.
const GRACE: Duration = Duration::from_secs(30);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, calls_topic, qc_topic, rate, seconds] = args.as_slice() else {
        bail!("usage: latency BROKERS CALLS_TOPIC QC_TOPIC PROBES_PER_S SECONDS");
    };
    let rate: f64 = rate.parse().context("PROBES_PER_S")?;
    let seconds: f64 = seconds.parse().context("SECONDS")?;
    if rate <= 0.0 || seconds <= 0.0 {
        bail!("PROBES_PER_S and SECONDS must be positive");
    }
    let run = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let prefix = format!("probe-{run}-");

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "dozvon-latency-probe")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "5")
        .create()
        .context("creating the consumer")?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partition_count(&consumer, qc_topic)? {
        assignment.add_partition_offset(qc_topic, partition, Offset::End)?;
    }
    consumer.assign(&assignment).context("assigning")?;
    // Let the assignment settle: reviews published from here on are read.
    let settle = Instant::now() + Duration::from_secs(2);
    while Instant::now() < settle {
        consumer.poll(Duration::from_millis(100));
    }

    let acks = AckTimes::default();
    let producer: ThreadedProducer<AckTimes> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "0")
        .create_with_context(acks.clone())
        .context("creating the producer")?;

    let probes = (rate * seconds).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    // Per probe: the produce call's instant and wall-clock milliseconds.
    let mut sent: HashMap<String, (Instant, i64)> = HashMap::with_capacity(probes);
    let mut latencies: Vec<Duration> = Vec::with_capacity(probes);
    let (mut to_output, mut to_visible) = (Vec::new(), Vec::new());
    let mut next = 0usize;
    let mut last_sent = started;
    loop {
        let now = Instant::now();
        if next < probes && now >= started + interval.mul_f64(next as f64) {
            let id = format!("{prefix}{next}");
            let payload = probe_call(&id, next);
            let at = Instant::now();
            sent.insert(id.clone(), (at, wall_ms()));
            let record = BaseRecord::with_opaque_to(calls_topic, Box::new(at))
                .key(&id)
                .payload(&payload);
            if let Err((error, _)) = producer.send(record) {
                bail!("producing probe {id}: {error}");
            }
            last_sent = Instant::now();
            next += 1;
            continue;
        }
        if next == probes && (sent.is_empty() || last_sent.elapsed() > GRACE) {
            break;
        }
        let wait = if next < probes {
            (started + interval.mul_f64(next as f64)).saturating_duration_since(now)
        } else {
            Duration::from_millis(50)
        };
        if let Some(Ok(message)) = consumer.poll(wait.min(Duration::from_millis(50))) {
            let (received, received_ms) = (Instant::now(), wall_ms());
            let Some(call_id) = message
                .payload()
                .and_then(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
                .and_then(|v| v["call_id"].as_str().map(str::to_owned))
            else {
                continue;
            };
            if let Some((at, at_ms)) = sent.remove(&call_id) {
                latencies.push(received.duration_since(at));
                if let Some(output_ms) = message.timestamp().to_millis() {
                    to_output.push(millis(output_ms - at_ms));
                    to_visible.push(millis(received_ms - output_ms));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(10))?;
    let ms = quantiles(latencies.clone());
    println!(
        "latency probes={probes} seen={} p50_ms={:.1} p90_ms={:.1} p99_ms={:.1} max_ms={:.1}",
        latencies.len(),
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(1.0)
    );
    let ack = quantiles(
        acks.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
    );
    let (output, visible) = (quantiles(to_output), quantiles(to_visible));
    println!(
        "parts ack_p50_ms={:.1} ack_p99_ms={:.1} to_output_p50_ms={:.1} to_output_p99_ms={:.1} \
         to_visible_p50_ms={:.1} to_visible_p99_ms={:.1}",
        ack(0.5),
        ack(0.99),
        output(0.5),
        output(0.99),
        visible(0.5),
        visible(0.99)
    );
    if !sent.is_empty() {
        bail!("{} probes saw no review within {GRACE:?}", sent.len());
    }
    Ok(())
}

/// The producer's delivery reports: how long each probe took to be acknowledged.
#[derive(Clone, Default)]
struct AckTimes(Arc<Mutex<Vec<Duration>>>);

impl ClientContext for AckTimes {}

impl ProducerContext for AckTimes {
    type DeliveryOpaque = Box<Instant>;

    fn delivery(&self, result: &DeliveryResult<'_>, sent: Self::DeliveryOpaque) {
        if result.is_ok() {
            let mut acks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            acks.push(sent.elapsed());
        }
    }
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A non-negative number of milliseconds (wall clocks of one machine; a step back reads 0).
fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The quantile function of `values` in milliseconds (NaN when there are none).
fn quantiles(mut values: Vec<Duration>) -> impl Fn(f64) -> f64 {
    values.sort();
    move |q: f64| {
        if values.is_empty() {
            return f64::NAN;
        }
        let index = ((values.len() as f64 - 1.0) * q).round() as usize;
        values[index].as_secs_f64() * 1000.0
    }
}

/// Probe call `n`: an answered 60-second outbound call of lead `id`, in January 2026.
fn probe_call(id: &str, n: usize) -> Vec<u8> {
    let minute = n % (24 * 60);
    let day = 5 + (n / (24 * 60)) % 20;
    serde_json::json!({
        "call_id": id,
        "lead_id": id,
        "phone": "+7 900 000-00-00",
        "manager_id": "probe",
        "direction": "outbound",
        "started_at": format!("2026-01-{day:02}T{:02}:{:02}:00Z", minute / 60, minute % 60),
        "talk_seconds": 60,
        "disposition": "answered",
    })
    .to_string()
    .into_bytes()
}
