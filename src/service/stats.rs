//! Counters of the running service, shared lock-free with whoever reports them.

use std::sync::atomic::{AtomicU64, Ordering};

/// What the service did; every field only grows. Metrics (and tests) read these.
#[derive(Debug, Default)]
pub struct ServiceStats {
    /// Input records applied to an engine (any [`crate::engine::Applied`] outcome but duplicates).
    pub records_ok: AtomicU64,
    pub records_late: AtomicU64,
    pub records_duplicate: AtomicU64,
    pub records_unresolved: AtomicU64,
    pub records_dead_lettered: AtomicU64,
    /// Input records re-applied while restoring a task (outputs suppressed).
    pub records_restored: AtomicU64,
    pub violations: AtomicU64,
    pub qc_reviews: AtomicU64,
    pub retractions: AtomicU64,
    pub commits: AtomicU64,
    pub aborts: AtomicU64,
    /// Times the producer was re-created (fenced or fatally failed).
    pub producer_restarts: AtomicU64,
    pub restores: AtomicU64,
    /// Transient errors (broker unreachable, retriable commit failures) that were retried.
    pub transient_errors: AtomicU64,
}

impl ServiceStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
