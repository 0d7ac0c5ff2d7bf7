//! `dozvon replay` with phone resolution and duplicate leads (SPEC §4.8, docs/contacts.md):
//! calls without `lead_id` give the same findings as with it; duplicate leads are flagged with
//! the earlier lead and its manager.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn values(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("lines are JSON"))
        .collect()
}

fn write_ndjson(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|row| format!("{row}\n")).collect();
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn replay(calls: &Path, leads: &Path, until: &str, out: &Path) -> Output {
    replay_with(&[], calls, leads, until, out)
}

fn replay_with(options: &[&str], calls: &Path, leads: &Path, until: &str, out: &Path) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_dozvon"))
        .arg("replay")
        .args(options)
        .args(["--until", until, "--calls"])
        .arg(calls)
        .arg("--leads")
        .arg(leads)
        .arg("--out")
        .arg(out)
        .output()
        .expect("dozvon runs");
    assert!(
        output.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// SPEC §7 plus an older lead with the same phone that was rejected before L came in.
fn spec_7_leads() -> Vec<Value> {
    let mut leads = vec![
        json!({"event_id": "old-1", "lead_id": "OLD", "occurred_at": "2026-02-24T10:00:00+03:00",
               "stage": "NEW", "manager_id": "K", "phone": "+7 (999) 123-45-67"}),
        json!({"event_id": "old-2", "lead_id": "OLD", "occurred_at": "2026-02-25T10:00:00+03:00",
               "stage": "JUNK", "manager_id": "K", "rejection_reason": "не берет трубку"}),
    ];
    leads.extend(values(&fixture("spec-7").join("leads.ndjson")));
    leads
}

#[test]
fn spec_7_calls_without_lead_id_give_the_same_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let until = "2026-03-06T12:00:00+03:00";
    let leads = dir.path().join("leads.ndjson");
    write_ndjson(&leads, &spec_7_leads());
    let bound = values(&fixture("spec-7").join("calls.ndjson"));
    // Every other call as a desk phone or the PBX writes it: no lead_id, another format.
    let formats = [
        "8-999-123-45-67",
        "89991234567",
        "8 (999) 123 45 67",
        "9991234567",
    ];
    let unbound: Vec<Value> = bound
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let mut call = call.clone();
            if i % 2 == 1 || i == 4 {
                let fields = call.as_object_mut().expect("calls are objects");
                fields.remove("lead_id");
                fields.insert("phone".into(), formats[i % formats.len()].into());
            }
            call
        })
        .collect();
    let (bound_path, unbound_path) = (
        dir.path().join("bound.ndjson"),
        dir.path().join("unbound.ndjson"),
    );
    write_ndjson(&bound_path, &bound);
    write_ndjson(&unbound_path, &unbound);
    let (want, got) = (dir.path().join("want"), dir.path().join("got"));
    replay(&bound_path, &leads, until, &want);
    let run = replay(&unbound_path, &leads, until, &got);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("3 calls without lead_id")
            && stdout
                .contains("contacts: 3 calls resolved by phone, 0 unresolved, 0 duplicate leads"),
        "{stdout}"
    );
    for file in ["violations.ndjson", "qc-reviews.ndjson"] {
        assert_eq!(values(&got.join(file)), values(&want.join(file)), "{file}");
    }
    // The verdicts of SPEC §7 for L, and the old lead's own rejection.
    let violations = values(&got.join("violations.ndjson"));
    let of_l: Vec<(&str, Option<u64>)> = violations
        .iter()
        .filter(|v| v["lead_id"] == "L")
        .map(|v| {
            (
                v["rule"].as_str().unwrap_or(""),
                v["attempts_total"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        of_l,
        [
            ("daily_attempts_shortfall", Some(5)),
            ("no_attempts_today", Some(5)),
            ("premature_rejection", Some(5))
        ]
    );
    assert!(violations.iter().any(|v| v["lead_id"] == "OLD"));
    // Without contacts (as the service still runs), the three calls stay unresolved.
    let plain = dir.path().join("plain");
    let run = replay_with(&["--no-contacts"], &unbound_path, &leads, until, &plain);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("contacts: 0 calls resolved by phone, 3 unresolved, 0 duplicate leads"),
        "{stdout}"
    );
    assert_ne!(
        values(&plain.join("violations.ndjson")),
        values(&want.join("violations.ndjson"))
    );
}

#[test]
fn a_call_from_an_unknown_number_stays_unresolved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let leads = dir.path().join("leads.ndjson");
    write_ndjson(&leads, &spec_7_leads());
    let calls = dir.path().join("calls.ndjson");
    let mut rows = values(&fixture("spec-7").join("calls.ndjson"));
    rows.push(
        json!({"call_id": "stranger", "phone": "+7 900 000-00-00", "direction": "inbound",
                     "started_at": "2026-03-03T12:00:00+03:00", "talk_seconds": 95,
                     "disposition": "answered"}),
    );
    // Before L existed, only the rejected OLD lead had this number.
    rows.push(
        json!({"call_id": "early", "phone": "8 999 123 45 67", "direction": "outbound",
                     "started_at": "2026-03-01T12:00:00+03:00", "talk_seconds": 0,
                     "disposition": "no_answer"}),
    );
    // In time order (all offsets are +03:00): delivered late, a call is resolved as of the
    // watermark, when L existed already.
    rows.sort_by(|a, b| a["started_at"].as_str().cmp(&b["started_at"].as_str()));
    write_ndjson(&calls, &rows);
    let out = dir.path().join("out");
    let run = replay(&calls, &leads, "2026-03-06T12:00:00+03:00", &out);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("0 late")
            && stdout
                .contains("contacts: 0 calls resolved by phone, 2 unresolved, 0 duplicate leads"),
        "{stdout}"
    );
    let reviews = values(&out.join("qc-reviews.ndjson"));
    assert!(
        reviews.iter().all(|r| r["call_id"] != "stranger"),
        "an unresolved touch has no lead to report: {reviews:?}"
    );
}

fn lead(
    id: &str,
    event: &str,
    tenant: Option<&str>,
    at: &str,
    stage: &str,
    manager: &str,
) -> Value {
    let mut lead = json!({"event_id": event, "lead_id": id, "occurred_at": at, "stage": stage,
                          "manager_id": manager});
    if let Some(tenant) = tenant {
        lead["tenant"] = tenant.into();
    }
    lead
}

fn with(mut lead: Value, field: &str, value: &str) -> Value {
    lead[field] = value.into();
    lead
}

#[test]
fn duplicate_leads_name_the_earlier_lead_and_its_manager() {
    let dir = tempfile::tempdir().expect("tempdir");
    let day = |hour: u32| format!("2026-03-02T{hour:02}:00:00+03:00");
    let leads = vec![
        with(
            with(
                lead("A", "a1", None, &day(9), "NEW", "M1"),
                "phone",
                "+7 916 111-22-33",
            ),
            "email",
            "Anna@Example.ru",
        ),
        lead("A", "a2", None, &day(10), "IN_PROCESS", "M3"),
        // Same phone, another format: a duplicate of A, owned by M3 by then.
        with(
            lead("B", "b1", None, &day(11), "NEW", "M2"),
            "phone",
            "8 (916) 111-22-33",
        ),
        // Same e-mail, another case.
        with(
            lead("C", "c1", None, &day(12), "NEW", "M4"),
            "email",
            " anna@example.RU",
        ),
        // E is rejected before D comes with its phone: no duplicate.
        with(
            lead("E", "e1", None, &day(9), "NEW", "M5"),
            "phone",
            "+7 925 000-00-01",
        ),
        lead("E", "e2", None, &day(10), "JUNK", "M5"),
        with(
            lead("D", "d1", None, &day(13), "NEW", "M6"),
            "phone",
            "89250000001",
        ),
        // Another tenant with A's phone: no duplicate.
        with(
            lead("F", "f1", Some("north"), &day(14), "NEW", "N1"),
            "phone",
            "+79161112233",
        ),
    ];
    let leads_path = dir.path().join("leads.ndjson");
    write_ndjson(&leads_path, &leads);
    let calls_path = dir.path().join("calls.ndjson");
    write_ndjson(&calls_path, &[]);
    let out = dir.path().join("out");
    let run = replay(&calls_path, &leads_path, "2026-03-02T18:00:00+03:00", &out);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("2 duplicate leads"), "{stdout}");
    let duplicates: Vec<Value> = values(&out.join("qc-reviews.ndjson"))
        .into_iter()
        .filter(|r| r["kind"] == "duplicate_lead")
        .map(|r| {
            json!({"lead_id": r["lead_id"], "manager_id": r["manager_id"],
                   "earlier_lead_id": r["earlier_lead_id"],
                   "earlier_manager_id": r["earlier_manager_id"],
                   "matched_on": r["matched_on"], "detected_at": r["detected_at"]})
        })
        .collect();
    assert_eq!(
        duplicates,
        [
            json!({"lead_id": "B", "manager_id": "M2", "earlier_lead_id": "A",
                   "earlier_manager_id": "M3", "matched_on": "phone",
                   "detected_at": "2026-03-02T08:00:00.000Z"}),
            json!({"lead_id": "C", "manager_id": "M4", "earlier_lead_id": "A",
                   "earlier_manager_id": "M3", "matched_on": "email",
                   "detected_at": "2026-03-02T09:00:00.000Z"}),
        ]
    );
}

/// Activity for resolution is what came keyed by lead: a call bound by phone is an attempt for
/// the engine, but it does not make its lead "more recently active" for later calls by phone
/// (docs/contacts.md, "Resolving a call") — so no resolution depends on another's.
#[test]
fn an_attempt_bound_by_phone_is_not_activity_for_later_resolutions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |time: &str| format!("2026-03-02T{time}:00+03:00");
    // A has two numbers (X, Y); B has Y. B's lead event is later than A's.
    let leads = vec![
        with(
            lead("A", "a1", None, &at("09:00"), "NEW", "M1"),
            "phone",
            "+7 916 111-11-11, +7 916 222-22-22",
        ),
        with(
            lead("B", "b1", None, &at("09:30"), "NEW", "M2"),
            "phone",
            "+7 916 222-22-22",
        ),
    ];
    let call = |id: &str, phone: &str, time: &str| {
        json!({"call_id": id, "phone": phone, "manager_id": "M1", "direction": "outbound",
               "started_at": at(time), "talk_seconds": 40, "disposition": "answered"})
    };
    // x goes to A (only A has X). y comes later on Y: A's latest lead activity is 09:00, B's
    // 09:30, so B — had x counted as A's activity (10:00), it would have gone to A.
    let calls = vec![
        call("x", "8 916 111-11-11", "10:00"),
        call("y", "8 916 222-22-22", "10:30"),
    ];
    let (leads_path, calls_path) = (
        dir.path().join("leads.ndjson"),
        dir.path().join("calls.ndjson"),
    );
    write_ndjson(&leads_path, &leads);
    write_ndjson(&calls_path, &calls);
    let out = dir.path().join("out");
    replay(&calls_path, &leads_path, &at("12:00"), &out);
    let reviews = values(&out.join("qc-reviews.ndjson"));
    let lead_of = |call: &str| {
        reviews
            .iter()
            .find(|r| r["kind"] == "call_listen" && r["call_id"] == call)
            .map(|r| r["lead_id"].clone())
    };
    assert_eq!(lead_of("x"), Some(json!("A")), "{reviews:?}");
    assert_eq!(lead_of("y"), Some(json!("B")), "{reviews:?}");
}
