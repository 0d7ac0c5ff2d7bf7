//! What one batch did (records, findings, dead letters, latencies), added to the counters only
//! when the batch commits, so a batch that is aborted and redone is counted once.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::labels::LabelCap;
use crate::model::{Finding, QcKind, Rule};

/// The inputs, in the order of the service's input index (calls 0, leads 1).
pub const INPUTS: [&str; 2] = ["calls", "leads"];

/// What became of an input record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordResult {
    Ok,
    Late,
    Duplicate,
    Unresolved,
    DeadLettered,
    /// Well-formed input the regulation does not judge (a Bitrix24 robot call).
    Skipped,
}

impl RecordResult {
    pub const ALL: [RecordResult; 6] = [
        RecordResult::Ok,
        RecordResult::Late,
        RecordResult::Duplicate,
        RecordResult::Unresolved,
        RecordResult::DeadLettered,
        RecordResult::Skipped,
    ];

    /// Position in [`RecordResult::ALL`] (declaration order).
    pub const fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordResult::Ok => "ok",
            RecordResult::Late => "late",
            RecordResult::Duplicate => "duplicate",
            RecordResult::Unresolved => "unresolved",
            RecordResult::DeadLettered => "dead_lettered",
            RecordResult::Skipped => "skipped",
        }
    }
}

/// The rule label of a finding: its rule, or its review kind.
pub fn rule_label(finding: &Finding) -> &'static str {
    match finding {
        Finding::Violation(v) => v.rule.as_str(),
        Finding::Qc(q) => q.kind.as_str(),
    }
}

/// Records and findings of the open batch.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub(super) records: [[u64; RecordResult::ALL.len()]; 2],
    pub(super) violations: [u64; Rule::ALL.len()],
    pub(super) qc_reviews: [u64; QcKind::ALL.len()],
    /// (input, decode error kind) → dead-lettered records.
    pub(super) dead_letters: BTreeMap<(usize, &'static str), u64>,
    /// (label pair id of [`LabelCap`], rule label) → findings.
    pub(super) manager_findings: HashMap<(u32, &'static str), u64>,
    /// When the record that caused each finding was received.
    pub(super) caused_at: Vec<Instant>,
}

impl Tally {
    /// One record of input `input` (0 calls, 1 leads).
    pub fn record(&mut self, input: usize, result: RecordResult) {
        if let Some(row) = self.records.get_mut(input) {
            row[result.index()] += 1;
        }
    }

    /// One record of input `input` dead-lettered for `reason` (a decode error kind).
    pub fn dead_letter(&mut self, input: usize, reason: &'static str) {
        self.record(input, RecordResult::DeadLettered);
        *self.dead_letters.entry((input, reason)).or_default() += 1;
    }

    /// One finding sent, caused by a record received at `caused_at`.
    pub fn finding(&mut self, finding: &Finding, caused_at: Instant, labels: &mut LabelCap) {
        let (tenant, manager) = match finding {
            Finding::Violation(v) => {
                self.violations[v.rule.index()] += 1;
                (&v.tenant, &v.manager_id)
            }
            Finding::Qc(q) => {
                self.qc_reviews[q.kind.index()] += 1;
                (&q.tenant, &q.manager_id)
            }
        };
        let pair = labels.manager(tenant, manager.as_deref());
        *self
            .manager_findings
            .entry((pair, rule_label(finding)))
            .or_default() += 1;
        self.caused_at.push(caused_at);
    }
}

#[cfg(test)]
mod tests {
    use super::RecordResult;

    #[test]
    fn index_is_the_position_in_all() {
        for (i, result) in RecordResult::ALL.into_iter().enumerate() {
            assert_eq!(result.index(), i);
        }
    }
}
