//! Counters of the running service as Prometheus metrics (`dozvon_*`), lock-free to update.
//
// Every counter is registered in the stats' own registry, which `/metrics` renders. Label sets
// are fixed and small: the input (`calls`, `leads`), the outcome of a record, the kind and rule
// of a finding. Never a lead id, manager or phone number. Records and findings are counted
// per batch in a [`Tally`] and reach the counters only when the batch commits, so a batch that
// is aborted and redone is counted once.

use std::sync::atomic::{AtomicBool, Ordering};

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::model::{Finding, QcKind, Rule};

/// The inputs, in the order of the service's input index (calls 0, leads 1).
const INPUTS: [&str; 2] = ["calls", "leads"];

/// What became of an input record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordResult {
    Ok,
    Late,
    Duplicate,
    Unresolved,
    DeadLettered,
}

impl RecordResult {
    pub const ALL: [RecordResult; 5] = [
        RecordResult::Ok,
        RecordResult::Late,
        RecordResult::Duplicate,
        RecordResult::Unresolved,
        RecordResult::DeadLettered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordResult::Ok => "ok",
            RecordResult::Late => "late",
            RecordResult::Duplicate => "duplicate",
            RecordResult::Unresolved => "unresolved",
            RecordResult::DeadLettered => "dead_lettered",
        }
    }
}

fn position<T: PartialEq>(all: &[T], item: &T) -> usize {
    all.iter().position(|x| x == item).unwrap_or(0)
}

/// Records and findings of the open batch, added to the counters when it commits.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    records: [[u64; RecordResult::ALL.len()]; 2],
    violations: [u64; Rule::ALL.len()],
    qc_reviews: [u64; QcKind::ALL.len()],
}

impl Tally {
    /// One record of input `input` (0 calls, 1 leads).
    pub fn record(&mut self, input: usize, result: RecordResult) {
        if let Some(row) = self.records.get_mut(input) {
            row[position(&RecordResult::ALL, &result)] += 1;
        }
    }

    /// One finding sent.
    pub fn finding(&mut self, finding: &Finding) {
        match finding {
            Finding::Violation(v) => self.violations[position(&Rule::ALL, &v.rule)] += 1,
            Finding::Qc(q) => self.qc_reviews[position(&QcKind::ALL, &q.kind)] += 1,
        }
    }
}

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
    /// Every assigned partition is restored and consuming (`/readyz`).
    ready: AtomicBool,
    ready_gauge: IntGauge,
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
            "Committed input records by input topic and outcome (ok, late, duplicate, unresolved, dead_lettered).",
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
        ServiceStats {
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
                "Input records re-read to rebuild tasks (outputs suppressed).",
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
            ready: AtomicBool::new(false),
            ready_gauge,
            registry,
        }
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
    }

    pub fn add(counter: &IntCounter, n: u64) {
        counter.inc_by(n);
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
