//! `dozvon run` reading Bitrix24 topics from a real broker: the SPEC §7 scenario as Bitrix24 rows
//! gives replay's findings; a malformed row is dead-lettered with its reason, a robot call skipped.

mod support;

use serde_json::Value;
use support::bitrix24;
use support::compare::{FormatRun, run_to_a_dead_letter_and_a_skipped_call};
use support::dataset::{UNTIL, fixture, read_ndjson};
use support::{Topics, create_topics, produce};

const BITRIX24_INPUTS: &str = r#"
[kafka.format]
calls = "bitrix24"
leads = "bitrix24"

[formats.bitrix24]
tenant = ""
"#;

/// Findings without their ids (a lead event's findings take ids from its event id, which a
/// Bitrix24 lead derives itself), as sorted strings.
fn without_ids(findings: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = findings
        .iter()
        .map(|finding| {
            let mut finding = finding.clone();
            if let Value::Object(fields) = &mut finding {
                fields.remove("violation_id");
                fields.remove("review_id");
            }
            finding.to_string()
        })
        .collect();
    out.sort();
    out
}

/// `rows` as records keyed by the lead id they name (`CRM_ENTITY_ID` or the lead's `ID`).
fn keyed(rows: &[Value]) -> Vec<(Option<String>, Vec<u8>)> {
    rows.iter()
        .map(|row| {
            let lead = row["CRM_ENTITY_ID"]
                .as_str()
                .or_else(|| row["result"]["ID"].as_str());
            (lead.map(str::to_owned), row.to_string().into_bytes())
        })
        .collect()
}

#[test]
fn bitrix24_rows_through_kafka_equal_replay_and_bad_rows_are_dead_lettered() {
    let dir = fixture("spec-7");
    let (want_violations, want_reviews) =
        support::replay(&dir.join("calls.ndjson"), &dir.join("leads.ndjson"), UNTIL);
    let topics = Topics::new("bitrix24");
    create_topics(&[&topics.calls, &topics.leads], 1);
    let mut calls: Vec<Value> = read_ndjson(&dir.join("calls.ndjson"))
        .iter()
        .map(bitrix24::call_row)
        .collect();
    calls.insert(
        1,
        bitrix24::robot_call("robot-1", "L", "2026-03-02T10:30:00+03:00"),
    );
    let malformed = serde_json::json!({"CALL_ID": "bad-1", "CALL_TYPE": "1",
        "CALL_START_DATE": "2026-03-02T11:00:00+03:00", "CRM_ENTITY_TYPE": "LEAD",
        "CRM_ENTITY_ID": "L"});
    calls.insert(2, malformed.clone());
    let leads: Vec<Value> = read_ndjson(&dir.join("leads.ndjson"))
        .iter()
        .map(bitrix24::lead_record)
        .collect();
    produce(&topics.leads, &keyed(&leads));
    produce(&topics.calls, &keyed(&calls));

    let config = support::service_config(&topics, "exactly_once", BITRIX24_INPUTS);
    let want = (want_violations.len(), want_reviews.len());
    let FormatRun {
        reader,
        text,
        metrics,
        log,
    } = run_to_a_dead_letter_and_a_skipped_call(&config, &topics, 1, want);
    let skipped = r#"dozvon_input_records_total{input="calls",result="skipped"}"#;

    assert_eq!(
        without_ids(&reader.payloads(&topics.violations)),
        without_ids(&want_violations),
        "violations differ from replay\n{log}"
    );
    assert_eq!(
        without_ids(&reader.payloads(&topics.qc_reviews)),
        without_ids(&want_reviews),
        "QC reviews differ from replay\n{log}"
    );
    let dead = &reader.records[&topics.dead_letter];
    assert_eq!(
        dead.len(),
        1,
        "only the malformed row, not the robot call: {dead:?}"
    );
    let header = |key: &str| {
        String::from_utf8(dead[0].headers.get(key).cloned().unwrap_or_default()).expect("utf-8")
    };
    assert_eq!(dead[0].payload, malformed.to_string().into_bytes());
    assert_eq!(dead[0].key.as_deref(), Some(&b"L"[..]));
    assert_eq!(header("dozvon.error"), "missing field `PHONE_NUMBER`");
    assert_eq!(header("dozvon.error.kind"), "missing");
    assert_eq!(header("dozvon.source.offset"), "2");
    assert_eq!(metrics.get(skipped).copied(), Some(1.0), "{text}");
    let dead_letters = r#"dozvon_dead_letters_total{input="calls",reason="missing"}"#;
    assert_eq!(metrics.get(dead_letters).copied(), Some(1.0), "{text}");
}
