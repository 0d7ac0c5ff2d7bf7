//! `dozvon demo` (the README's first command): the service on rdkafka's mock cluster prints
//! readable findings and exits 0 when the simulated days are over.

use std::process::Command;

#[test]
fn demo_prints_findings_from_the_mock_cluster_and_exits_cleanly() {
    let output = Command::new(env!("CARGO_BIN_EXE_dozvon"))
        .args(["demo", "--days", "1", "--seconds-per-day", "0.5"])
        .output()
        .expect("dozvon demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("mock Kafka at 127.0.0.1:"),
        "bootstrap address printed:\n{stdout}"
    );
    let violations = stdout
        .lines()
        .filter(|l| l.contains("] VIOLATION "))
        .count();
    let reviews = stdout.lines().filter(|l| l.contains("] QC ")).count();
    assert!(violations > 0 && reviews > 0, "findings printed:\n{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("first_call_sla_breach") && l.contains("first call not made by")),
        "a readable SLA line:\n{stdout}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("demo finished: "), "summary line: {last}");
}
