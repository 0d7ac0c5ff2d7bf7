//! Findings as sorted JSON lines, shared by the engine-level tests that compare runs.

use dozvon::model::Finding;

/// Findings as sorted JSON lines, so sets can be compared whatever the emission order.
pub fn canonical(findings: &[Finding]) -> Vec<String> {
    let mut lines: Vec<String> = findings
        .iter()
        .map(|f| match f {
            Finding::Violation(v) => serde_json::to_string(v),
            Finding::Qc(q) => serde_json::to_string(q),
        })
        .map(|r| r.expect("a finding serialises"))
        .collect();
    lines.sort();
    lines
}
