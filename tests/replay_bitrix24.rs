//! `dozvon replay` over Bitrix24 rows: every golden scenario rewritten as Bitrix24 payloads gives
//! the same findings as the dozvon-format input; robot calls are skipped, bad rows reported.

#[path = "support/bitrix24.rs"]
mod bitrix24;
#[path = "support/files.rs"]
mod files;

use std::path::{Path, PathBuf};
use std::process::Command;

use files::{fixture, replay, until, values};
use serde::Serialize;
use serde_json::Value;

const BITRIX24_INPUTS: &str = "[kafka.format]\ncalls = \"bitrix24\"\nleads = \"bitrix24\"\n";

/// Writes the scenario's inputs as Bitrix24 NDJSON into `dir`, plus one robot call and one call
/// row without a phone number; returns the two paths.
fn write_bitrix24(name: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let calls = values(&fixture(name).join("calls.ndjson"));
    let leads = values(&fixture(name).join("leads.ndjson"));
    let mut call_rows: Vec<Value> = calls.iter().map(bitrix24::call_row).collect();
    let first_lead = leads[0]["lead_id"].as_str().unwrap_or("L");
    let first_time = leads[0]["occurred_at"].as_str().unwrap_or_default();
    call_rows.push(bitrix24::robot_call("robot-1", first_lead, first_time));
    call_rows.push(serde_json::json!({"CALL_ID": "no-phone", "CALL_TYPE": "1"}));
    let lead_rows: Vec<Value> = leads.iter().map(bitrix24::lead_record).collect();
    let (calls_path, leads_path) = (dir.join("calls.b24.ndjson"), dir.join("leads.b24.ndjson"));
    (
        files::write(calls_path, &call_rows),
        files::write(leads_path, &lead_rows),
    )
}

/// Findings as JSON without their ids: the id of a finding raised by a lead event derives from
/// the event id, and a Bitrix24 lead's event id is its own (`b24:lead:{ID}:{time}:{stage}`).
fn without_ids<T: Serialize>(findings: &[T]) -> Vec<Value> {
    findings
        .iter()
        .map(|finding| {
            let mut value = serde_json::to_value(finding).expect("findings serialize");
            if let Value::Object(fields) = &mut value {
                fields.remove("violation_id");
                fields.remove("review_id");
            }
            value
        })
        .collect()
}

fn ndjson_without_ids(path: &Path) -> Vec<Value> {
    without_ids(&values(path))
}

fn assert_same_findings_as_dozvon_input(name: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let until = until(name);
    let own = fixture(name);
    let want = replay(
        "",
        &own.join("calls.ndjson"),
        &own.join("leads.ndjson"),
        until,
    );
    assert!(want.malformed.is_empty(), "{name}: {:?}", want.malformed);
    let (calls, leads) = write_bitrix24(name, dir.path());
    let got = replay(BITRIX24_INPUTS, &calls, &leads, until);
    assert_eq!(
        without_ids(&got.violations),
        without_ids(&want.violations),
        "{name}: violations"
    );
    assert_eq!(
        without_ids(&got.reviews),
        without_ids(&want.reviews),
        "{name}: QC reviews"
    );
    assert_eq!(got.skipped, 1, "{name}: the robot call is skipped");
    assert_eq!(got.malformed.len(), 1, "{name}: {:?}", got.malformed);
    let bad = &got.malformed[0];
    let rows = values(&own.join("calls.ndjson")).len();
    assert_eq!(bad.line, rows + 2, "{name}: the last row is the bad one");
    assert_eq!(bad.error, "missing field `PHONE_NUMBER`", "{name}");
    assert!(
        !want.violations.is_empty() || !want.reviews.is_empty(),
        "{name}: no findings"
    );
}

#[test]
fn spec_section_7_from_bitrix24_rows() {
    assert_same_findings_as_dozvon_input("spec-7");
}

#[test]
fn golden_scenarios_from_bitrix24_rows() {
    for name in &files::SCENARIOS[1..] {
        assert_same_findings_as_dozvon_input(name);
    }
}

#[test]
fn the_cli_reads_bitrix24_files_when_the_config_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (calls, leads) = write_bitrix24("spec-7", dir.path());
    let config = dir.path().join("dozvon.toml");
    std::fs::write(&config, BITRIX24_INPUTS).expect("write config");
    let run = |calls: &Path, leads: &Path, config: Option<&Path>, out: &Path| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dozvon"));
        command.args(["replay", "--until", "2026-03-06T12:00:00+03:00", "--calls"]);
        command
            .arg(calls)
            .arg("--leads")
            .arg(leads)
            .arg("--out")
            .arg(out);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        command.output().expect("dozvon runs")
    };
    let own = fixture("spec-7");
    let want_out = dir.path().join("want");
    let want = run(
        &own.join("calls.ndjson"),
        &own.join("leads.ndjson"),
        None,
        &want_out,
    );
    assert!(
        want.status.success(),
        "{}",
        String::from_utf8_lossy(&want.stderr)
    );
    let got_out = dir.path().join("got");
    let got = run(&calls, &leads, Some(&config), &got_out);
    let stdout = String::from_utf8_lossy(&got.stdout);
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert!(stdout.contains("1 malformed, 1 not applicable"), "{stdout}");
    assert!(stderr.contains("missing field `PHONE_NUMBER`"), "{stderr}");
    for file in ["violations.ndjson", "qc-reviews.ndjson"] {
        let read = |dir: &Path| ndjson_without_ids(&dir.join(file));
        assert_eq!(read(&got_out), read(&want_out), "{file}");
    }
    // Without the configuration the same rows are not dozvon records: all malformed.
    let plain = run(&calls, &leads, None, &dir.path().join("plain"));
    assert!(String::from_utf8_lossy(&plain.stdout).contains("0 violations"));
}
