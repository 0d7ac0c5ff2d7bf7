//! Golden scenarios (tests/fixtures/*, from shared/fixtures plus SPEC §7) end to end through `dozvon replay`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn read_ndjson(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

/// Every expected object matches (on the keys it names) exactly one actual object, and
/// nothing is left over.
fn assert_same_findings(scenario: &str, what: &str, expected: &[Value], actual: &[Value]) {
    let mut left: Vec<&Value> = actual.iter().collect();
    for want in expected {
        let Value::Object(fields) = want else {
            panic!("{scenario}: expected {what} must be objects")
        };
        let position = left.iter().position(|got| {
            fields
                .iter()
                .all(|(key, value)| got.get(key) == Some(value))
        });
        match position {
            Some(i) => {
                left.remove(i);
            }
            None => panic!(
                "{scenario}: expected {what} {want} not found in\n{}",
                serde_json::to_string_pretty(actual).unwrap_or_default()
            ),
        }
    }
    assert!(
        left.is_empty(),
        "{scenario}: unexpected {what}: {}",
        serde_json::to_string_pretty(&left).unwrap_or_default()
    );
}

fn run_scenario(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
    )
    .expect("expected.json is JSON");
    let out = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_dozvon"));
    command
        .arg("replay")
        .arg("--calls")
        .arg(dir.join("calls.ndjson"))
        .arg("--leads")
        .arg(dir.join("leads.ndjson"))
        .arg("--out")
        .arg(out.path());
    if let Some(until) = expected["until"].as_str() {
        command.arg("--until").arg(until);
    }
    let result = command.output().expect("dozvon runs");
    assert!(
        result.status.success(),
        "{name}: replay failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let violations = read_ndjson(&out.path().join("violations.ndjson"));
    let reviews = read_ndjson(&out.path().join("qc-reviews.ndjson"));
    let empty = Vec::new();
    let want_violations = expected["violations"].as_array().unwrap_or(&empty);
    let want_reviews = expected["qc_reviews"].as_array().unwrap_or(&empty);
    assert_same_findings(name, "violation", want_violations, &violations);
    assert_same_findings(name, "QC review", want_reviews, &reviews);
}

#[test]
fn cutoff_at_13_00_is_inclusive() {
    run_scenario("cutoff");
}

#[test]
fn qc_return_starts_a_new_episode() {
    run_scenario("qc-return");
}

#[test]
fn first_call_sla_across_the_weekend() {
    run_scenario("sla-weekend");
}

#[test]
fn stale_lead_in_an_other_stage() {
    run_scenario("stale-other");
}

#[test]
fn exactly_30_seconds_is_not_a_touch() {
    run_scenario("touch-30s");
}

#[test]
fn spec_section_7_scenario() {
    run_scenario("spec-7");
}

fn replay(calls: &Path, leads: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dozvon"))
        .arg("replay")
        .arg("--calls")
        .arg(calls)
        .arg("--leads")
        .arg(leads)
        .arg("--until")
        .arg("2026-03-06T12:00:00+03:00")
        .arg("--out")
        .arg(out)
        .output()
        .expect("dozvon runs")
}

fn spec7() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec-7")
}

#[test]
fn malformed_lines_are_reported_skipped_and_change_the_exit_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read_to_string(spec7().join("calls.ndjson")).expect("calls");
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(1, "{\"call_id\": \"broken\", \"direction\": \"sideways\"}");
    lines.insert(3, "not json at all");
    let calls = dir.path().join("calls.ndjson");
    std::fs::write(&calls, lines.join("\n")).expect("write");
    let out = dir.path().join("out");
    let result = replay(&calls, &spec7().join("leads.ndjson"), &out);
    assert_eq!(
        result.status.code(),
        Some(3),
        "exit status for skipped input"
    );
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("calls.ndjson:2:"), "{stderr}");
    assert!(stderr.contains("calls.ndjson:4:"), "{stderr}");
    // The good lines still count: SPEC §7's findings are all there.
    let violations = read_ndjson(&out.join("violations.ndjson"));
    assert_eq!(violations.len(), 3, "{violations:?}");
}

#[test]
fn avro_container_inputs_replay_like_ndjson() {
    let dir = tempfile::tempdir().expect("tempdir");
    let calls_text = std::fs::read_to_string(spec7().join("calls.ndjson")).expect("calls");
    let leads_text = std::fs::read_to_string(spec7().join("leads.ndjson")).expect("leads");
    let calls: Vec<_> = calls_text
        .lines()
        .map(|l| dozvon::codec::decode_json_call(l.as_bytes()).expect("call"))
        .collect();
    let leads: Vec<_> = leads_text
        .lines()
        .map(|l| dozvon::codec::decode_json_lead(l.as_bytes()).expect("lead"))
        .collect();
    let calls_avro = dir.path().join("calls.avro");
    let leads_avro = dir.path().join("leads.avro");
    let bytes = dozvon::codec::write_calls_container(Vec::new(), &calls).expect("container");
    std::fs::write(&calls_avro, bytes).expect("write");
    let bytes = dozvon::codec::write_leads_container(Vec::new(), &leads).expect("container");
    std::fs::write(&leads_avro, bytes).expect("write");
    let from_avro = dir.path().join("avro");
    let from_json = dir.path().join("json");
    assert!(
        replay(&calls_avro, &leads_avro, &from_avro)
            .status
            .success()
    );
    assert!(
        replay(
            &spec7().join("calls.ndjson"),
            &spec7().join("leads.ndjson"),
            &from_json
        )
        .status
        .success()
    );
    for file in ["violations.ndjson", "qc-reviews.ndjson"] {
        let avro = read_ndjson(&from_avro.join(file));
        assert!(!avro.is_empty(), "{file}");
        assert_eq!(avro, read_ndjson(&from_json.join(file)), "{file}");
    }
}
