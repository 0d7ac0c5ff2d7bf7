//! The human summary printed after a replay: findings per rule and per manager.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::{QcKind, QcReview, Rule, Violation};

/// One manager's counts: violations by rule and QC reviews by kind.
pub type ManagerCounts = (BTreeMap<Rule, u64>, BTreeMap<QcKind, u64>);

/// Counts of findings, by rule/kind overall and per manager.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub by_rule: BTreeMap<Rule, u64>,
    pub by_kind: BTreeMap<QcKind, u64>,
    /// manager → (violations by rule, QC reviews by kind)
    pub by_manager: BTreeMap<String, ManagerCounts>,
}

const NO_MANAGER: &str = "(none)";

impl Summary {
    pub fn new(violations: &[Violation], reviews: &[QcReview]) -> Self {
        let mut summary = Summary::default();
        for v in violations {
            *summary.by_rule.entry(v.rule).or_default() += 1;
            let manager = v.manager_id.as_deref().unwrap_or(NO_MANAGER).to_owned();
            *summary
                .by_manager
                .entry(manager)
                .or_default()
                .0
                .entry(v.rule)
                .or_default() += 1;
        }
        for q in reviews {
            *summary.by_kind.entry(q.kind).or_default() += 1;
            let manager = q.manager_id.as_deref().unwrap_or(NO_MANAGER).to_owned();
            *summary
                .by_manager
                .entry(manager)
                .or_default()
                .1
                .entry(q.kind)
                .or_default() += 1;
        }
        summary
    }

    /// A plain-text table for the terminal.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "Findings by rule:");
        for rule in Rule::ALL {
            let _ = writeln!(
                text,
                "  {:<26} {:>8}",
                rule.as_str(),
                self.by_rule.get(&rule).copied().unwrap_or(0)
            );
        }
        for kind in QcKind::ALL {
            let _ = writeln!(
                text,
                "  qc:{:<23} {:>8}",
                kind.as_str(),
                self.by_kind.get(&kind).copied().unwrap_or(0)
            );
        }
        let _ = writeln!(text, "\nBy manager:");
        let _ = write!(text, "  {:<12}", "manager");
        for rule in Rule::ALL {
            let _ = write!(text, " {:>9}", short(rule.as_str()));
        }
        for kind in QcKind::ALL {
            let _ = write!(text, " {:>9}", short(kind.as_str()));
        }
        text.push('\n');
        for (manager, (rules, kinds)) in &self.by_manager {
            let _ = write!(text, "  {manager:<12}");
            for rule in Rule::ALL {
                let _ = write!(text, " {:>9}", rules.get(&rule).copied().unwrap_or(0));
            }
            for kind in QcKind::ALL {
                let _ = write!(text, " {:>9}", kinds.get(&kind).copied().unwrap_or(0));
            }
            text.push('\n');
        }
        text
    }
}

/// Column header: the first letters of each word (`daily_attempts_shortfall` → `dai_att_sho`), at most 9.
fn short(name: &str) -> String {
    let short: Vec<String> = name
        .split('_')
        .map(|w| w.chars().take(3).collect())
        .collect();
    let mut joined = short.join("_");
    joined.truncate(9);
    joined
}
