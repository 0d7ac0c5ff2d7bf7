//! `dozvon replay` over Asterisk CDR rows: every golden scenario, its calls rewritten as CDR legs
//! (one-row calls, trunk failovers, attended transfers), gives the same findings with the same
//! ids as the dozvon-format input, also with legs out of order and repeated; internal calls are
//! skipped, malformed rows reported with their line.

#[path = "support/asterisk.rs"]
mod asterisk;
#[path = "support/files.rs"]
mod files;

use std::path::{Path, PathBuf};
use std::process::Command;

use dozvon::formats::MergerStats;
use dozvon::replay::ReplayOutput;
use files::{fixture, replay, until, values};
use serde::Serialize;
use serde_json::Value;

const ASTERISK_CALLS: &str = "[kafka.format]\ncalls = \"asterisk\"\n";

/// Findings as sorted JSON texts, ids included: the leads are the same records and a merged
/// call's id is its `linkedid`, so every id must match. Sorted because an Asterisk call reaches
/// the engine once its legs are complete, after lead events of the same minutes; findings
/// do not depend on that order (the allowed lateness covers it), their order in the file does.
fn sorted<T: Serialize>(findings: &[T]) -> Vec<String> {
    let mut texts: Vec<String> = findings
        .iter()
        .map(|finding| serde_json::to_string(finding).expect("findings serialize"))
        .collect();
    texts.sort();
    texts
}

/// Asserts equal lists, naming only the findings that differ.
fn assert_same(what: &str, got: Vec<String>, want: Vec<String>) {
    let only = |these: &[String], those: &[String]| -> Vec<String> {
        these
            .iter()
            .filter(|item| !those.contains(item))
            .cloned()
            .collect()
    };
    assert!(
        got == want,
        "{what}: {} vs {} findings\nonly from Asterisk rows: {:#?}\nonly from dozvon records: {:#?}",
        got.len(),
        want.len(),
        only(&got, &want),
        only(&want, &got)
    );
}

fn assert_same_findings(name: &str, got: &ReplayOutput, want: &ReplayOutput) {
    let (violations, reviews) = (format!("{name}: violations"), format!("{name}: QC reviews"));
    assert_same(
        &violations,
        sorted(&got.violations),
        sorted(&want.violations),
    );
    assert_same(&reviews, sorted(&got.reviews), sorted(&want.reviews));
    assert!(
        !want.violations.is_empty() || !want.reviews.is_empty(),
        "{name}: no findings"
    );
    assert_eq!(got.until, want.until, "{name}: the final watermark");
    assert_eq!(
        got.stats.calls_applied + got.stats.calls_late,
        want.stats.calls_applied + want.stats.calls_late,
        "{name}: calls"
    );
}

/// The scenario's own replay (dozvon's records) and its calls.
fn dozvon_replay(name: &str) -> (ReplayOutput, Vec<Value>) {
    let own = fixture(name);
    let want = replay(
        "",
        &own.join("calls.ndjson"),
        &own.join("leads.ndjson"),
        until(name),
    );
    assert!(want.malformed.is_empty(), "{name}: {:?}", want.malformed);
    (want, values(&own.join("calls.ndjson")))
}

/// Replays `rows` as the Asterisk calls of scenario `name`, with its own leads.
fn asterisk_replay(name: &str, rows: &[Value], dir: &Path) -> ReplayOutput {
    let calls = files::write(dir.join(format!("{name}.cdr.ndjson")), rows);
    let leads = fixture(name).join("leads.ndjson");
    replay(ASTERISK_CALLS, &calls, &leads, until(name))
}

/// `call`'s start plus `minutes`.
fn minutes_after(call: &Value, minutes: i64) -> chrono::DateTime<chrono::FixedOffset> {
    let start = call["started_at"].as_str().unwrap_or_default();
    let start = chrono::DateTime::parse_from_rfc3339(start).expect("RFC 3339 started_at");
    start + chrono::TimeDelta::minutes(minutes)
}

/// The scenario's calls as CDR rows by hangup, plus one internal call; checks the merger's
/// counters and that the internal call was skipped.
fn assert_scenario_from_cdr_rows(name: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (want, calls) = dozvon_replay(name);
    let mut cdrs = asterisk::cdrs(&calls);
    cdrs.push(asterisk::internal_call(
        "internal-1",
        minutes_after(&calls[0], 5),
    ));
    let rows = asterisk::by_hangup(cdrs);
    let got = asterisk_replay(name, &rows, dir.path());
    assert!(got.malformed.is_empty(), "{name}: {:?}", got.malformed);
    assert_same_findings(name, &got, &want);
    let calls = calls.len() as u64;
    assert_eq!(
        got.merger,
        Some(MergerStats {
            legs: rows.len() as u64,
            calls,
            duplicate_legs: 0,
            late_legs: 0,
            internal_calls: 1,
        }),
        "{name}"
    );
    assert!(
        rows.len() as u64 > calls + 1,
        "{name}: some calls have several legs"
    );

    assert_eq!(got.skipped, 1, "{name}: the internal call is skipped");
}

#[test]
fn spec_section_7_from_asterisk_cdr_rows() {
    assert_scenario_from_cdr_rows("spec-7");
}

#[test]
fn golden_scenarios_from_asterisk_cdr_rows() {
    for name in &files::SCENARIOS[1..] {
        assert_scenario_from_cdr_rows(name);
    }
}

/// The calls' rows by hangup, each call's legs kept together but reversed (the root last) and
/// every other row delivered twice in a row (repeats of an open call); after the first call,
/// an internal call that moves the merger's clock past its due time, then the first call's
/// rows all again (a relay's retry: repeats of an emitted call). Returns the rows and the
/// number of repeated rows.
fn disordered(calls: &[Value]) -> (Vec<Value>, usize) {
    let mut groups: Vec<(chrono::DateTime<chrono::FixedOffset>, Vec<Value>)> = Vec::new();
    let mut repeats = 0;
    for (index, call) in calls.iter().enumerate() {
        let cdrs = asterisk::rows(call, asterisk::Shape::nth(index));
        let hangup = cdrs.iter().map(|cdr| cdr.written).max().expect("legs");
        let legs: Vec<Value> = cdrs.into_iter().rev().map(|cdr| cdr.row).collect();
        if index == 0 {
            let internal = asterisk::internal_call("internal-1", hangup);
            groups.push((internal.written, vec![internal.row]));
            groups.push((internal.written, legs.clone()));
            repeats += legs.len();
        }
        groups.push((hangup, legs));
    }
    // Stable: the retry stays after the internal call, which stays after the first call.
    groups.sort_by_key(|(hangup, _)| *hangup);
    let mut rows = Vec::new();
    for (_, legs) in groups {
        for leg in legs {
            rows.push(leg.clone());
            if rows.len() % 2 == 0 && leg["linkedid"] != "internal-1" {
                rows.push(leg);
                repeats += 1;
            }
        }
    }
    (rows, repeats)
}

#[test]
fn legs_out_of_order_and_repeated_give_the_same_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in files::SCENARIOS {
        let (want, calls) = dozvon_replay(name);
        let (rows, repeats) = disordered(&calls);
        let got = asterisk_replay(name, &rows, dir.path());
        assert!(got.malformed.is_empty(), "{name}: {:?}", got.malformed);
        assert_same_findings(name, &got, &want);
        let stats = got.merger.expect("merger stats");
        assert_eq!(
            (stats.calls, stats.internal_calls, stats.late_legs),
            (calls.len() as u64, 1, 0),
            "{name}"
        );
        assert_eq!(stats.duplicate_legs, repeats as u64, "{name}: {stats:?}");
    }
}

#[test]
fn a_malformed_row_is_reported_with_its_line_and_the_rest_replayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (want, calls) = dozvon_replay("spec-7");
    let mut rows = asterisk::by_hangup(asterisk::cdrs(&calls));
    let mut bad = rows[2].clone();
    bad["disposition"] = Value::from("HUNG UP");
    bad["uniqueid"] = Value::from("bad-1");
    bad["linkedid"] = Value::from("bad-1");
    rows.insert(2, bad);
    rows.push(serde_json::json!({"uniqueid": "no-start", "disposition": "ANSWERED"}));
    let path = files::write(dir.path().join("calls.cdr.ndjson"), &rows);
    let mut text = std::fs::read_to_string(&path).expect("read back");
    text.push_str("{not json\n");
    std::fs::write(&path, text).expect("write");
    let got = replay(
        ASTERISK_CALLS,
        &path,
        &fixture("spec-7").join("leads.ndjson"),
        until("spec-7"),
    );
    let reported: Vec<(usize, &str)> = got
        .malformed
        .iter()
        .map(|bad| (bad.line, bad.error.as_str()))
        .collect();
    assert_eq!(reported.len(), 3, "{reported:?}");
    assert_eq!(
        reported[..2],
        [
            (3, "field `disposition`: unknown code \"HUNG UP\""),
            (rows.len(), "missing field `start`"),
        ]
    );
    assert_eq!(reported[2].0, rows.len() + 1);
    assert!(reported[2].1.starts_with("invalid JSON"), "{reported:?}");
    assert_eq!(
        got.malformed[0].to_string(),
        format!(
            "{}:3: field `disposition`: unknown code \"HUNG UP\"",
            path.display()
        )
    );
    assert_same_findings("spec-7", &got, &want);
}

#[test]
fn a_generated_dataset_from_cdr_rows_gives_the_same_findings() {
    // Inbound calls through queues, unanswered and failed calls, calls without a lead id,
    // records delivered up to 5 minutes out of order and some twice (the generator's defaults).
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8 path");
    let args = [&["gen"][..], &asterisk::GENERATED[..], &["--out", out]].concat();
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|arg| arg.as_ref()).collect();
    let generated = dozvon(&args);
    assert!(generated.status.success(), "{generated:?}");
    let (calls_path, leads) = (
        dir.path().join("calls.ndjson"),
        dir.path().join("leads.ndjson"),
    );
    let want = replay("", &calls_path, &leads, None);
    let calls = values(&calls_path);
    let inbound = calls.iter().filter(|c| c["direction"] == "inbound").count();
    let unbound = calls.iter().filter(|c| c.get("lead_id").is_none()).count();
    assert!(
        inbound > 10 && unbound > 0 && want.contacts.resolved_calls > 0,
        "a varied dataset"
    );
    // By hangup, as Asterisk writes them; a record delivered twice gives its rows twice.
    let rows = asterisk::by_hangup(asterisk::cdrs(&calls));
    let cdr = files::write(dir.path().join("cdr.ndjson"), &rows);
    let got = replay(ASTERISK_CALLS, &cdr, &leads, None);
    assert!(got.malformed.is_empty(), "{:?}", got.malformed);
    assert_same_findings("generated", &got, &want);
    // Calls without a lead id are bound by phone from CDR rows as from dozvon records.
    assert_eq!(got.contacts, want.contacts);
    assert_eq!(got.stats.unresolved_calls, want.stats.unresolved_calls);
    let stats = got.merger.expect("merger stats");
    let mut ids: Vec<&str> = calls.iter().filter_map(|c| c["call_id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        (stats.calls, stats.internal_calls),
        (ids.len() as u64, 0),
        "{stats:?}"
    );
    // Only the colleague's leg of a transfer may come after its call was emitted (the
    // manager's hangup completes the call: docs/formats.md).
    let transfers = calls
        .iter()
        .enumerate()
        .filter(|(index, call)| {
            asterisk::Shape::nth(*index) == asterisk::Shape::Transfer
                && call["direction"] == "outbound"
                && call["disposition"] == "answered"
        })
        .count();
    assert!(stats.late_legs <= transfers as u64, "{stats:?}");
    assert!(stats.duplicate_legs > 0, "the generator's repeated records");
}

fn dozvon(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dozvon"))
        .args(args)
        .output()
        .expect("dozvon runs")
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("dozvon.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn the_cli_merges_cdr_rows_and_prints_the_merger_counters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, calls) = dozvon_replay("spec-7");
    let rows = asterisk::by_hangup(asterisk::cdrs(&calls));
    let cdr = files::write(dir.path().join("cdr.ndjson"), &rows);
    let config = write_config(dir.path(), ASTERISK_CALLS);
    let leads = fixture("spec-7").join("leads.ndjson");
    let run = |calls: &Path, config: Option<&Path>, out: &Path| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "replay".as_ref(),
            "--until".as_ref(),
            "2026-03-06T12:00:00+03:00".as_ref(),
            "--calls".as_ref(),
            calls.as_os_str(),
            "--leads".as_ref(),
            leads.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        if let Some(config) = config {
            args.extend(["--config".as_ref(), config.as_os_str()]);
        }
        dozvon(&args)
    };
    let (want_out, got_out) = (dir.path().join("want"), dir.path().join("got"));
    let want = run(&fixture("spec-7").join("calls.ndjson"), None, &want_out);
    assert!(
        want.status.success(),
        "{}",
        String::from_utf8_lossy(&want.stderr)
    );
    let got = run(&cdr, Some(&config), &got_out);
    let stdout = String::from_utf8_lossy(&got.stdout);
    assert!(
        got.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let merged = format!(
        "asterisk: {} CDR legs merged into {} calls; 0 duplicate legs, 0 late legs, 0 internal calls",
        rows.len(),
        calls.len()
    );
    assert!(stdout.contains(&merged), "{stdout}");
    for file in ["violations.ndjson", "qc-reviews.ndjson"] {
        let read = |dir: &Path| sorted(&values(&dir.join(file)));
        assert_eq!(read(&got_out), read(&want_out), "{file}");
    }
}
