//! Counters of the running service as Prometheus metrics (`dozvon_*`), lock-free to update.
//
// Every counter is registered in the stats' own registry, which `/metrics` renders. Label sets
// are fixed and small: the input (`calls`, `leads`), the outcome of a record, the kind of a
// finding. Never a lead id, manager or phone number.

use std::sync::atomic::{AtomicBool, Ordering};

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// The inputs, in the order of the service's input index (calls 0, leads 1).
const INPUTS: [&str; 2] = ["calls", "leads"];

/// What the service did; counters only grow. `/metrics` and the tests read these.
pub struct ServiceStats {
    registry: Registry,
    /// Input records applied to an engine, per input (index 0 calls, 1 leads).
    pub records_ok: [IntCounter; 2],
    pub records_late: [IntCounter; 2],
    pub records_duplicate: [IntCounter; 2],
    pub records_unresolved: [IntCounter; 2],
    pub records_dead_lettered: [IntCounter; 2],
    /// Input records re-applied while restoring a task (outputs suppressed).
    pub records_restored: IntCounter,
    pub violations: IntCounter,
    pub qc_reviews: IntCounter,
    pub retractions: IntCounter,
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

/// Registers `collector` in `registry`. The names are fixed and distinct, so registration
/// cannot fail.
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
    let counter = IntCounter::with_opts(Opts::new(name, help))
        .unwrap_or_else(|error| unreachable!("static metric options are valid: {error}"));
    register(registry, counter)
}

fn labeled(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let vec = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|error| unreachable!("static metric options are valid: {error}"));
    register(registry, vec)
}

impl ServiceStats {
    pub fn new() -> Self {
        let registry = Registry::new();
        let records = labeled(
            &registry,
            "dozvon_input_records_total",
            "Input records by input topic and outcome (ok, late, duplicate, unresolved, dead_lettered).",
            &["input", "result"],
        );
        let per_input =
            |result: &str| INPUTS.map(|input| records.with_label_values(&[input, result]));
        let findings = labeled(
            &registry,
            "dozvon_findings_total",
            "Findings published by kind (violation, retraction, qc_review).",
            &["kind"],
        );
        let build = IntGaugeVec::new(
            Opts::new(
                "dozvon_build_info",
                "Always 1; the labels name the running build.",
            ),
            &["version"],
        )
        .unwrap_or_else(|error| unreachable!("static metric options are valid: {error}"));
        register(&registry, build.clone())
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let ready_gauge = IntGauge::new(
            "dozvon_ready",
            "1 when every assigned partition is restored and consuming.",
        )
        .unwrap_or_else(|error| unreachable!("static metric options are valid: {error}"));
        let ready_gauge = register(&registry, ready_gauge);
        ServiceStats {
            records_ok: per_input("ok"),
            records_late: per_input("late"),
            records_duplicate: per_input("duplicate"),
            records_unresolved: per_input("unresolved"),
            records_dead_lettered: per_input("dead_lettered"),
            records_restored: counter(
                &registry,
                "dozvon_restored_records_total",
                "Input records re-read to rebuild tasks (outputs suppressed).",
            ),
            violations: findings.with_label_values(&["violation"]),
            qc_reviews: findings.with_label_values(&["qc_review"]),
            retractions: findings.with_label_values(&["retraction"]),
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

    pub fn add(counter: &IntCounter, n: u64) {
        counter.inc_by(n);
    }

    pub fn get(counter: &IntCounter) -> u64 {
        counter.get()
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
