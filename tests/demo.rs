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

#[test]
fn demo_serves_the_status_page_while_it_runs() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("demo.toml");
    std::fs::write(&config, "[http]\nlisten = \"127.0.0.1:0\"\n").expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dozvon"))
        .args(["demo", "--days", "1", "--seconds-per-day", "1", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr")).expect("stderr file"))
        .spawn()
        .expect("dozvon demo starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("status page: ")
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
        })
        .expect("the status page address is printed");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    // Bound before the address is printed, and served while the demo runs (the server once
    // blocked on the stdout lock the demo holds).
    let mut page = agent.get(&url).call().unwrap_or_else(|error| {
        panic!(
            "{url}: {error}\n{}",
            std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default()
        )
    });
    let status = page.status().as_u16();
    let body = page.body_mut().read_to_string().expect("html");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Calling regulation") && body.contains("id=qc-inflow"),
        "{body}"
    );
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().expect("demo exits").success());
    assert!(
        rest.last()
            .is_some_and(|l| l.starts_with("demo finished: ")),
        "{rest:?}"
    );
}
