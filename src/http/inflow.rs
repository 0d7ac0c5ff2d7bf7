//! QC queue inflow for the status page: QC reviews published in the last hour, by kind, from
//! minute samples of the committed counters.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::model::QcKind;
use crate::service::ServiceStats;

type Totals = [u64; QcKind::ALL.len()];

/// Samples of the QC review totals, one a minute, covering a little over an hour.
#[derive(Debug, Default)]
pub struct QcInflow {
    samples: Mutex<VecDeque<(Instant, Totals)>>,
}

const WINDOW: Duration = Duration::from_secs(3600);
const EVERY: Duration = Duration::from_secs(60);

impl QcInflow {
    pub fn sample(&self, at: Instant, totals: Totals) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        samples.push_back((at, totals));
        // Keep the newest sample at least WINDOW old, drop older ones.
        while samples.len() > 1 && samples[1].0 + WINDOW <= at {
            samples.pop_front();
        }
    }

    /// Reviews per kind since the oldest sample of the last hour, and the span it covers.
    pub fn last_hour(&self, now: Instant, totals: Totals) -> (Totals, Duration) {
        let samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(&(at, base)) = samples.iter().find(|(at, _)| *at + WINDOW >= now) else {
            return ([0; QcKind::ALL.len()], Duration::ZERO);
        };
        let mut delta = [0; QcKind::ALL.len()];
        for ((d, now), then) in delta.iter_mut().zip(totals).zip(base) {
            *d = now.saturating_sub(then);
        }
        (delta, now.saturating_duration_since(at))
    }
}

/// Samples `stats` into `inflow` at once and then every minute.
pub async fn sample_every_minute(inflow: Arc<QcInflow>, stats: Arc<ServiceStats>) {
    let mut ticker = tokio::time::interval(EVERY);
    loop {
        ticker.tick().await;
        inflow.sample(Instant::now(), stats.qc_reviews_total());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_last_hour_from_minute_samples() {
        let inflow = QcInflow::default();
        let t0 = Instant::now();
        let minute = |n: u64| t0 + EVERY * u32::try_from(n).unwrap_or(0);
        for n in 0..=90 {
            inflow.sample(minute(n), [n * 2, n, n / 10]);
        }
        let (delta, span) = inflow.last_hour(minute(90), [180, 90, 9]);
        assert_eq!(span, WINDOW);
        assert_eq!(delta, [120, 60, 6]);
        // Shortly after start: what was published since the first sample.
        let fresh = QcInflow::default();
        fresh.sample(t0, [5, 1, 0]);
        assert_eq!(
            fresh.last_hour(minute(2), [9, 1, 2]),
            ([4, 0, 2], EVERY * 2)
        );
    }
}
