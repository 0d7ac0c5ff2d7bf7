//! `dozvon_qc_outcomes_total` as a true counter: the growth of each task's QC outcome totals
//! between commits (a restored task's totals are its baseline, not new outcomes).

use std::collections::BTreeMap;

use super::task::Task;
use crate::engine::Engine;

/// Overturned, confirmed, cold-base transfers.
pub type Totals = [u64; 3];

fn totals(engine: &Engine) -> BTreeMap<String, Totals> {
    engine
        .tenant_names()
        .filter_map(|tenant| {
            let o = engine.qc_outcomes(tenant)?;
            Some((
                tenant.to_owned(),
                [o.overturned, o.confirmations, o.cold_base_transfers],
            ))
        })
        .collect()
}

/// The totals each task had at its last commit or restore.
#[derive(Debug, Default)]
pub struct OutcomeCounter {
    last: BTreeMap<i32, BTreeMap<String, Totals>>,
}

impl OutcomeCounter {
    /// A task was (re)built: what it holds now was counted before, or by another instance.
    pub fn baseline(&mut self, partition: i32, task: &Task) {
        self.last.insert(partition, totals(task.engine()));
    }

    /// A batch is committing: what each tenant's totals grew by since the last one, to add
    /// to the metrics once it has committed (a failed commit rebuilds the tasks, and
    /// [`OutcomeCounter::baseline`] with them).
    pub fn grown(&mut self, tasks: &BTreeMap<i32, Task>) -> Vec<(String, Totals)> {
        self.last.retain(|p, _| tasks.contains_key(p));
        let mut grown = Vec::new();
        for (&partition, task) in tasks {
            let now = totals(task.engine());
            let before = self.last.entry(partition).or_default();
            for (tenant, counts) in &now {
                let old = before.get(tenant).copied().unwrap_or_default();
                let more: Totals = std::array::from_fn(|i| counts[i].saturating_sub(old[i]));
                if more != [0; 3] {
                    grown.push((tenant.clone(), more));
                }
            }
            *before = now;
        }
        grown
    }
}
