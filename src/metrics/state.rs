//! Gauges read off the engine state (leads tracked, no attempt today, scorecards, watermark
//! lag): replaced as a whole snapshot, so a scrape never sees half of an update.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGaugeVec, Opts};

use super::labels::LabelCap;
use super::valid;
use crate::engine::{Scorecard, TenantFigures};

/// The gauge families of the snapshot (built afresh for every snapshot).
struct Families {
    leads_tracked: IntGaugeVec,
    no_attempt_today: IntGaugeVec,
    days_judged: IntGaugeVec,
    days_compliant: IntGaugeVec,
    watermark_lag: prometheus::GaugeVec,
}

impl Families {
    fn new() -> Families {
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            valid(IntGaugeVec::new(Opts::new(name, help), labels))
        };
        Families {
            leads_tracked: gauge(
                "dozvon_leads_tracked",
                "Leads whose state this instance holds.",
                &["tenant"],
            ),
            no_attempt_today: gauge(
                "dozvon_leads_no_attempt_today",
                "Leads due today (cadence stage, a day of the dialing period) without an attempt yet.",
                &["tenant"],
            ),
            days_judged: gauge(
                "dozvon_manager_days_judged",
                "Business days of dialing periods closed (SPEC 4.1), by the lead's manager.",
                &["tenant", "manager"],
            ),
            days_compliant: gauge(
                "dozvon_manager_days_compliant",
                "Closed business days found compliant (or made compliant by a retraction).",
                &["tenant", "manager"],
            ),
            watermark_lag: valid(prometheus::GaugeVec::new(
                Opts::new(
                    "dozvon_watermark_lag_seconds",
                    "Wall clock minus the task's event-time clock, per input partition.",
                ),
                &["partition"],
            )),
        }
    }

    fn collectors(&self) -> [&dyn Collector; 5] {
        [
            &self.leads_tracked,
            &self.no_attempt_today,
            &self.days_judged,
            &self.days_compliant,
            &self.watermark_lag,
        ]
    }
}

/// What the processor reports about its state.
#[derive(Debug, Default)]
pub struct StateSnapshot {
    /// Per tenant, summed over the tasks.
    pub tenants: Vec<TenantFigures>,
    /// (partition, wall clock minus event-time clock in seconds).
    pub watermark_lag: Vec<(i32, f64)>,
}

/// A collector serving the latest snapshot (clones share it).
#[derive(Clone)]
pub struct StateGauges {
    descs: Vec<Desc>,
    families: Arc<Mutex<Vec<MetricFamily>>>,
}

fn saturating_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

impl StateGauges {
    pub fn new() -> StateGauges {
        let families = Families::new();
        let descs = families
            .collectors()
            .iter()
            .flat_map(|c| c.desc().into_iter().cloned())
            .collect();
        StateGauges {
            descs,
            families: Arc::default(),
        }
    }

    /// Replaces the served gauges with `snapshot`, labels capped by `labels`.
    pub fn replace(&self, snapshot: &StateSnapshot, labels: &mut LabelCap) {
        let f = Families::new();
        for figures in &snapshot.tenants {
            let tenant = labels.tenant(&figures.tenant);
            f.leads_tracked
                .with_label_values(&[tenant])
                .add(saturating_i64(figures.leads_tracked));
            f.no_attempt_today
                .with_label_values(&[tenant])
                .add(saturating_i64(figures.no_attempt_today));
            // Managers past the cap are summed into one `other` series.
            let mut by_label: BTreeMap<u32, Scorecard> = BTreeMap::new();
            for (manager, card) in &figures.scorecards {
                let pair = labels.manager(&figures.tenant, manager.as_deref());
                by_label.entry(pair).or_default().add(card);
            }
            for (pair, card) in by_label {
                let (tenant, manager) = labels.pair(pair);
                f.days_judged
                    .with_label_values(&[tenant, manager])
                    .add(i64::from(card.days_judged));
                f.days_compliant
                    .with_label_values(&[tenant, manager])
                    .add(i64::from(card.days_compliant));
            }
        }
        for (partition, lag) in &snapshot.watermark_lag {
            f.watermark_lag
                .with_label_values(&[&partition.to_string()])
                .set(*lag);
        }
        let families: Vec<MetricFamily> = f
            .collectors()
            .iter()
            .flat_map(|c| c.collect())
            .filter(|family| !family.get_metric().is_empty())
            .collect();
        *self.families.lock().unwrap_or_else(PoisonError::into_inner) = families;
    }
}

impl Collector for StateGauges {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.families
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
