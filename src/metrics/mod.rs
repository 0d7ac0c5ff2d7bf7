//! The service's Prometheus metrics (`dozvon_*`): one registry, rendered at `/metrics`.
//
// Label sets are bounded: inputs, record outcomes, rules, decode-error kinds, partitions, and
// tenants and managers through [`LabelCap`] (a fixed number of their own values, then `other`).
// Never a lead id or a phone number. docs/metrics.md lists every metric.
// Records and findings are counted per batch in a [`Tally`] and reach the counters only when
// the batch commits, so a batch that is aborted and redone is counted once. Gauges of the
// engine state come as a [`StateSnapshot`] the processor refreshes.

mod labels;
mod state;
mod tally;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

pub use labels::{LabelCap, MAX_MANAGER_LABELS, MAX_TENANT_LABELS, NO_MANAGER, OTHER};
pub use state::StateSnapshot;
pub use tally::{RecordResult, Tally};

use crate::model::{QcKind, Rule};
use state::StateGauges;
use tally::INPUTS;

/// The `reason` label of `dozvon_alignment_pauses_total`: an alignment buffer past the mark,
/// or a task ahead of the slowest with lead events waiting past it (`service/flow.rs`).
pub const PAUSE_REASONS: [&str; 2] = ["buffer", "task_ahead"];

/// What the service did; counters only grow. `/metrics` and the tests read these.
pub struct ServiceStats {
    registry: Registry,
    /// Committed input records per input (0 calls, 1 leads) and [`RecordResult`].
    records: [[IntCounter; RecordResult::ALL.len()]; 2],
    /// Committed violations per [`Rule`] (retractions under `Rule::Retraction`).
    violations: [IntCounter; Rule::ALL.len()],
    /// Committed QC reviews per [`QcKind`].
    qc_reviews: [IntCounter; QcKind::ALL.len()],
    /// Input records re-applied while restoring a task (outputs suppressed).
    pub records_restored: IntCounter,
    pub commits: IntCounter,
    /// Batches undone (transaction aborted or delivery failed) and redone from the last commit.
    pub aborts: IntCounter,
    /// Times the producer was re-created (fatally failed).
    pub producer_restarts: IntCounter,
    pub restores: IntCounter,
    /// Transient errors (broker unreachable, retriable commit failures) that were retried.
    pub transient_errors: IntCounter,
    /// Calls without `lead_id` bound by phone and sent to their lead's partition.
    pub calls_forwarded: IntCounter,
    /// Records of dozvon's own contacts and resolved-calls topics it could not read.
    pub internal_bad_records: IntCounter,
    /// Calls waiting for phone resolution (or, Asterisk, for routing) on this instance.
    pub calls_held: IntGauge,
    /// Input records buffered for event-time alignment, and partitions paused for it.
    pub alignment_buffered: IntGauge,
    pub alignment_paused: IntGauge,
    /// By [`PAUSE_REASONS`].
    pub alignment_pauses: [IntCounter; 2],
    /// Every assigned partition is restored and consuming (`/readyz`).
    ready: AtomicBool,
    ready_gauge: IntGauge,
    dead_letters: IntCounterVec,
    manager_findings: IntCounterVec,
    /// Bytes of input re-read while restoring tasks.
    pub restore_bytes: IntCounter,
    restore_duration: Histogram,
    commit_duration: Histogram,
    finding_latency: Histogram,
    consumer_lag: IntGaugeVec,
    qc_outcomes: IntCounterVec,
    state: StateGauges,
    labels: Mutex<LabelCap>,
}

impl std::fmt::Debug for ServiceStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceStats")
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

impl Default for ServiceStats {
    fn default() -> Self {
        Self::new()
    }
}

/// The options of a metric defined in this file; they are valid by construction.
fn valid<T>(result: prometheus::Result<T>) -> T {
    result.unwrap_or_else(|error| unreachable!("static metric options are valid: {error}"))
}

/// Registers `collector` in `registry` (names are fixed and distinct, so this cannot fail).
fn register<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> C {
    if let Err(error) = registry.register(Box::new(collector.clone())) {
        tracing::error!(%error, "metric registration");
    }
    collector
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    register(
        registry,
        valid(IntCounter::with_opts(Opts::new(name, help))),
    )
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: &[f64]) -> Histogram {
    register(
        registry,
        valid(Histogram::with_opts(
            HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        )),
    )
}

fn labeled(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(
        registry,
        valid(IntCounterVec::new(Opts::new(name, help), labels)),
    )
}

impl ServiceStats {
    pub fn new() -> Self {
        let registry = Registry::new();
        let records = labeled(
            &registry,
            "dozvon_input_records_total",
            "Committed input records by input topic and outcome (ok, late, duplicate, unresolved, dead_lettered, skipped).",
            &["input", "result"],
        );
        let findings = labeled(
            &registry,
            "dozvon_findings_total",
            "Committed findings by kind (violation, retraction, qc_review) and rule or review kind.",
            &["kind", "rule"],
        );
        let build = register(
            &registry,
            valid(IntGaugeVec::new(
                Opts::new(
                    "dozvon_build_info",
                    "Always 1; the labels name the running build.",
                ),
                &["version"],
            )),
        );
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let ready_gauge = register(
            &registry,
            valid(IntGauge::new(
                "dozvon_ready",
                "1 when every assigned partition is restored and consuming.",
            )),
        );
        let calls_held = register(
            &registry,
            valid(IntGauge::new(
                "dozvon_calls_held",
                "Calls held until every partition's clock has passed them (phone resolution, \
                 Asterisk routing), on this instance's partitions.",
            )),
        );
        let alignment_buffered = register(
            &registry,
            valid(IntGauge::new(
                "dozvon_alignment_buffered_records",
                "Input records buffered until the other input of their partition reaches their \
                 event time (set at each commit).",
            )),
        );
        let alignment_paused = register(
            &registry,
            valid(IntGauge::new(
                "dozvon_alignment_paused_partitions",
                "Input partitions paused because their alignment buffer, or their task, ran far \
                 ahead.",
            )),
        );
        let stats = ServiceStats {
            records: INPUTS.map(|input| {
                RecordResult::ALL.map(|result| records.with_label_values(&[input, result.as_str()]))
            }),
            violations: Rule::ALL.map(|rule| {
                let kind = if rule == Rule::Retraction {
                    "retraction"
                } else {
                    "violation"
                };
                findings.with_label_values(&[kind, rule.as_str()])
            }),
            qc_reviews: QcKind::ALL
                .map(|kind| findings.with_label_values(&["qc_review", kind.as_str()])),
            records_restored: counter(
                &registry,
                "dozvon_restored_records_total",
                "Changelog records read to restore tasks.",
            ),
            commits: counter(
                &registry,
                "dozvon_commits_total",
                "Batches committed (a transaction, or offsets after delivery).",
            ),
            aborts: counter(
                &registry,
                "dozvon_aborts_total",
                "Batches undone and redone from the last commit.",
            ),
            producer_restarts: counter(
                &registry,
                "dozvon_producer_restarts_total",
                "Output producers re-created after a fatal error.",
            ),
            restores: counter(
                &registry,
                "dozvon_task_restores_total",
                "Tasks rebuilt (start-up, rebalance, recovery).",
            ),
            transient_errors: counter(
                &registry,
                "dozvon_transient_errors_total",
                "Transient Kafka errors that were retried.",
            ),
            calls_forwarded: counter(
                &registry,
                "dozvon_calls_forwarded_total",
                "Calls without lead_id bound by phone and sent to their lead's partition \
                 (counted when sent: a batch redone sends them again).",
            ),
            internal_bad_records: counter(
                &registry,
                "dozvon_internal_records_unreadable_total",
                "Records of dozvon's own contacts and resolved-calls topics that could not be \
                 read (skipped; see the log).",
            ),
            ready: AtomicBool::new(false),
            ready_gauge,
            calls_held,
            alignment_buffered,
            alignment_paused,
            alignment_pauses: {
                let pauses = labeled(
                    &registry,
                    "dozvon_alignment_pauses_total",
                    "Times an input partition was paused: reason=buffer, its alignment buffer \
                     ran far ahead; reason=task_ahead, its task ran ahead of the slowest with \
                     many lead events waiting.",
                    &["reason"],
                );
                PAUSE_REASONS.map(|reason| pauses.with_label_values(&[reason]))
            },
            dead_letters: labeled(
                &registry,
                "dozvon_dead_letters_total",
                "Input records sent to the dead-letter topic, by input and decode error kind.",
                &["input", "reason"],
            ),
            manager_findings: labeled(
                &registry,
                "dozvon_manager_findings_total",
                "Committed findings by tenant, manager and rule or review kind (capped label sets: `other` past the cap, `none` without a manager).",
                &["tenant", "manager", "rule"],
            ),
            restore_bytes: counter(
                &registry,
                "dozvon_restore_bytes_total",
                "Bytes of changelog records read to restore tasks.",
            ),
            restore_duration: histogram(
                &registry,
                "dozvon_restore_duration_seconds",
                "Time to rebuild one task before its partition is processed.",
                &[
                    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                ],
            ),
            commit_duration: histogram(
                &registry,
                "dozvon_commit_duration_seconds",
                "Time to commit a batch (transaction commit, or delivery and offset commit).",
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            ),
            finding_latency: histogram(
                &registry,
                "dozvon_finding_latency_seconds",
                "From receiving the record that caused a finding to the commit that published it.",
                &[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                ],
            ),
            consumer_lag: register(
                &registry,
                valid(IntGaugeVec::new(
                    Opts::new(
                        "dozvon_consumer_lag_records",
                        "Records behind the partition's end, from librdkafka statistics.",
                    ),
                    &["topic", "partition"],
                )),
            ),
            qc_outcomes: labeled(
                &registry,
                "dozvon_qc_outcomes_total",
                "QC outcomes (SPEC 4.7) applied by this instance: overturned, confirmed, cold_base.",
                &["tenant", "outcome"],
            ),
            state: register(&registry, StateGauges::new()),
            labels: Mutex::new(LabelCap::default()),
            registry,
        };
        // The default tenant's outcome series exist from the start (at 0).
        stats.add_qc_outcomes(crate::model::DEFAULT_TENANT, [0; 3]);
        stats
    }

    /// Adds a committed batch's records and findings to the counters.
    pub fn commit(&self, tally: &Tally) {
        for (counters, counts) in self.records.iter().zip(&tally.records) {
            for (counter, n) in counters.iter().zip(counts) {
                counter.inc_by(*n);
            }
        }
        for (counter, n) in self.violations.iter().zip(&tally.violations) {
            counter.inc_by(*n);
        }
        for (counter, n) in self.qc_reviews.iter().zip(&tally.qc_reviews) {
            counter.inc_by(*n);
        }
        for (&(input, reason), &n) in &tally.dead_letters {
            let input = INPUTS.get(input).copied().unwrap_or("unknown");
            self.dead_letters
                .with_label_values(&[input, reason])
                .inc_by(n);
        }
        let labels = self.labels();
        for (&(pair, rule), &n) in &tally.manager_findings {
            let (tenant, manager) = labels.pair(pair);
            self.manager_findings
                .with_label_values(&[tenant, manager, rule])
                .inc_by(n);
        }
        let now = Instant::now();
        for &at in &tally.caused_at {
            self.finding_latency
                .observe(now.saturating_duration_since(at).as_secs_f64());
        }
    }

    /// The label cap shared by the per-tenant and per-manager metrics.
    pub fn labels(&self) -> MutexGuard<'_, LabelCap> {
        self.labels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn observe_commit(&self, took: Duration) {
        self.commit_duration.observe(took.as_secs_f64());
    }

    /// One task rebuilt from `bytes` of input in `took`.
    pub fn observe_restore(&self, took: Duration, bytes: u64) {
        self.restores.inc();
        self.restore_duration.observe(took.as_secs_f64());
        self.restore_bytes.inc_by(bytes);
    }

    /// QC outcomes a committed batch applied in `tenant`: overturned, confirmed, cold-base.
    pub fn add_qc_outcomes(&self, tenant: &str, counts: [u64; 3]) {
        let tenant = self.labels().tenant(tenant).to_owned();
        for (outcome, n) in ["overturned", "confirmed", "cold_base"]
            .into_iter()
            .zip(counts)
        {
            self.qc_outcomes
                .with_label_values(&[tenant.as_str(), outcome])
                .inc_by(n);
        }
    }

    /// Replaces the engine-state gauges.
    pub fn set_state(&self, snapshot: &StateSnapshot) {
        self.state.replace(snapshot, &mut self.labels());
    }

    /// Replaces the consumer lag gauges: (topic, partition, records behind).
    pub fn set_consumer_lag(&self, lags: &[(String, i32, i64)]) {
        self.consumer_lag.reset();
        for (topic, partition, lag) in lags {
            self.consumer_lag
                .with_label_values(&[topic, &partition.to_string()])
                .set(*lag);
        }
    }

    pub fn add(counter: &IntCounter, n: u64) {
        counter.inc_by(n);
    }

    /// Committed QC reviews so far, per [`QcKind::ALL`].
    pub fn qc_reviews_total(&self) -> [u64; QcKind::ALL.len()] {
        self.qc_reviews.clone().map(|counter| counter.get())
    }

    /// Sets readiness (`/readyz`, `dozvon_ready`).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
        self.ready_gauge.set(i64::from(ready));
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) =
            prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut text)
        {
            tracing::warn!(%error, "metrics encoding");
        }
        text
    }
}
