//! The open batch of the processing loop: what it holds and when it is due to commit.

use std::time::{Duration, Instant};

use crate::metrics::Tally;

/// The open batch: records consumed and findings sent since the last commit.
#[derive(Debug)]
pub struct Batch {
    pub records: usize,
    /// Records and findings, counted when the batch commits.
    pub tally: Tally,
    pub dirty: bool,
    pub in_txn: bool,
    /// When the batch opened: the previous commit's end.
    pub since: Instant,
    /// When the previous commit started (`since` if none did).
    pub cycle: Instant,
}

impl Batch {
    /// An empty batch opened now.
    pub fn new() -> Self {
        let now = Instant::now();
        Batch {
            records: 0,
            tally: Tally::default(),
            dirty: false,
            in_txn: false,
            since: now,
            cycle: now,
        }
    }

    /// How long until the batch is due. Keeping up with the input, commits start every
    /// `interval` (a finding waits at most the interval plus one commit); behind a backlog, the
    /// interval counts from the previous commit's end, so a slow commit does not eat into the
    /// time spent processing (BENCHMARKS.md, "Commit cadence, poll bursts, back-pressure").
    pub fn due_in(&self, interval: Duration, caught_up: bool, now: Instant) -> Duration {
        let opened = if caught_up { self.cycle } else { self.since };
        interval.saturating_sub(now.saturating_duration_since(opened))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_up_counts_from_the_previous_commit_start_behind_from_its_end() {
        let interval = Duration::from_millis(100);
        let mut batch = Batch::new();
        // The previous commit started at `cycle` and ended 40 ms later, opening this batch.
        batch.cycle = batch.since;
        batch.since = batch.cycle + Duration::from_millis(40);
        let now = batch.since + Duration::from_millis(30);
        assert_eq!(batch.due_in(interval, true, now), Duration::from_millis(30));
        assert_eq!(
            batch.due_in(interval, false, now),
            Duration::from_millis(70)
        );
        let later = batch.cycle + Duration::from_millis(250);
        assert_eq!(batch.due_in(interval, true, later), Duration::ZERO);
        assert_eq!(batch.due_in(interval, false, later), Duration::ZERO);
    }
}
