//! Differential tests: the single-pass JSON scanner agrees with serde_json or defers to it.

use proptest::prelude::*;

use super::json_fast;
use crate::generator::{GenConfig, generate};
use crate::model::{CallRecord, LeadEvent};

/// The scanner never accepts what serde_json refuses, and never decodes differently.
fn agrees(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Some(fast) = json_fast::call(bytes) {
        let slow: Result<CallRecord<'_>, _> = serde_json::from_slice(bytes);
        prop_assert_eq!(Some(fast), slow.ok(), "{}", String::from_utf8_lossy(bytes));
    }
    if let Some(fast) = json_fast::lead(bytes) {
        let slow: Result<LeadEvent<'_>, _> = serde_json::from_slice(bytes);
        prop_assert_eq!(Some(fast), slow.ok(), "{}", String::from_utf8_lossy(bytes));
    }
    Ok(())
}

#[test]
fn generated_records_take_the_fast_path() {
    let dataset = generate(&GenConfig {
        days: 2,
        leads_per_day: 50,
        ..GenConfig::default()
    });
    let (mut calls, mut leads) = (Vec::new(), Vec::new());
    dataset.write_ndjson(&mut calls, &mut leads).unwrap();
    for line in calls.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let slow: CallRecord<'_> = serde_json::from_slice(line).unwrap();
        assert_eq!(json_fast::call(line), Some(slow));
    }
    for line in leads.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let slow: LeadEvent<'_> = serde_json::from_slice(line).unwrap();
        assert_eq!(json_fast::lead(line), Some(slow));
    }
}

#[test]
fn edge_cases_defer_or_agree() {
    let mut cases: Vec<&[u8]> = [
        r#"{"call_id":"c","phone":"p","direction":"outbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":0,"disposition":"busy"}"#,
        r#" { "call_id" : "c" , "phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00+03:00","talk_seconds":4294967295,"disposition":"answered","lead_id":null} "#,
        r#"{"call_id":"c","phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":4294967296,"disposition":"answered"}"#,
        r#"{"call_id":"c","phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":01,"disposition":"answered"}"#,
        r#"{"call_id":"c","phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":1.0,"disposition":"answered"}"#,
        r#"{"call_id":"c","phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":-0,"disposition":"answered"}"#,
        r#"{"call_id":"c","call_id":"d","phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":1,"disposition":"answered"}"#,
        r#"{"call_id":"c\u0041","phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":1,"disposition":"answered"}"#,
        r#"{"call_id":"c","phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":1,"disposition":"answered",}"#,
        r#"{"call_id":"c","phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":1,"disposition":"answered"}x"#,
        r#"{"call_id":"c","phone":"p","direction":"Inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":1,"disposition":"answered"}"#,
        r#"{"call_id":"c","phone":"p","direction":"inbound","started_at":null,"talk_seconds":1,"disposition":"answered"}"#,
        r#"{"event_id":"e","lead_id":"L","occurred_at":"2026-03-02T10:00:00Z","stage":"JUNK","rejection_reason":"не берет трубку","created_at":null,"email":nul}"#,
        r#"{"event_id":"e","lead_id":"L","occurred_at":"2026-03-02T10:00:00Z","stage":"JUNK","rejection_reason":"не берет трубку","created_at":null}"#,
        r#"{"event_id":"e","lead_id":"L","occurred_at":"2026-03-02 10:00:00Z","stage":"NEW"}"#,
        r#"{"event_id":"e","lead_id":"L","occurred_at":"2026-03-02T10:00:00Z","stage":"NEW","extra":1}"#,
    ]
    .map(str::as_bytes)
    .to_vec();
    cases.extend::<[&[u8]; 6]>([
        b"{\"event_id\":\"e\xff\",\"lead_id\":\"L\",\"occurred_at\":\"2026-03-02T10:00:00Z\",\"stage\":\"NEW\"}",
        b"{\"event_id\":\"e\t\",\"lead_id\":\"L\",\"occurred_at\":\"2026-03-02T10:00:00Z\",\"stage\":\"NEW\"}",
        b"{}",
        b"",
        b"{",
        b"null",
    ]);
    for case in &cases {
        agrees(case).unwrap();
    }
    // The fast path takes the plain shapes and leaves the odd ones to serde_json.
    assert!(json_fast::call(cases[0]).is_some());
    assert!(json_fast::call(cases[1]).is_some());
    assert!(json_fast::lead(cases[13]).is_some());
    for odd in [2, 3, 4, 5, 6, 7, 8, 9, 10, 11] {
        assert!(json_fast::call(cases[odd]).is_none(), "case {odd}");
    }
}

#[test]
fn keys_out_of_the_usual_order_or_spaced_still_decode_alike() {
    // Usual order (recognised by bytes), reversed (scanned), and mixed with spaces and a key
    // repeated after the expected ones were passed (a duplicate: serde_json decides).
    let usual = r#"{"call_id":"c","lead_id":"L","phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":1,"disposition":"answered"}"#;
    let reversed = r#"{"disposition":"answered","talk_seconds":1,"started_at":"2026-03-02T10:00:00Z","direction":"inbound","phone":"p","lead_id":"L","call_id":"c"}"#;
    let spaced = r#"{"call_id" :"c","lead_id":"L", "phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":1,"disposition":"answered"}"#;
    let repeated = r#"{"call_id":"c","lead_id":"L","phone":"p","direction":"inbound","started_at":"2026-03-02T10:00:00Z","talk_seconds":1,"disposition":"answered","lead_id":"M"}"#;
    let want = json_fast::call(usual.as_bytes());
    assert!(want.is_some());
    for case in [reversed, spaced] {
        assert_eq!(json_fast::call(case.as_bytes()), want, "{case}");
    }
    assert_eq!(json_fast::call(repeated.as_bytes()), None);
    for case in [usual, reversed, spaced, repeated] {
        agrees(case.as_bytes()).unwrap();
    }
}

/// Pieces that JSON objects of both record kinds are built from, good and bad.
fn token() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        "call_id",
        "tenant",
        "lead_id",
        "phone",
        "manager_id",
        "direction",
        "started_at",
        "talk_seconds",
        "disposition",
        "recording_url",
        "event_id",
        "occurred_at",
        "stage",
        "created_at",
        "channel",
        "email",
        "rejection_reason",
        "other",
    ]);
    let values = prop::sample::select(vec![
        r#""outbound""#,
        r#""inbound""#,
        r#""answered""#,
        r#""no_answer""#,
        r#""busy""#,
        r#""2026-03-02T10:00:00Z""#,
        r#""2026-03-02T10:00:00.5+03:00""#,
        r#""2026-03-02 10:00:00+03:00""#,
        r#""1969-12-31T23:59:59Z""#,
        r#""x""#,
        r#""""#,
        r#"" ""#,
        r#""a\"b""#,
        r#""дубль""#,
        "null",
        "nul",
        "0",
        "7",
        "007",
        "-1",
        "1e3",
        "12.5",
        "99999999999",
        "true",
        "[1]",
        "{}",
    ]);
    (
        keys,
        values,
        prop::sample::select(vec!["", " ", "\t", "\r\n"]),
    )
        .prop_map(|(k, v, ws)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}"))
}

fn object() -> impl Strategy<Value = Vec<u8>> {
    let call_base = vec![
        r#""call_id":"c1""#.to_owned(),
        r#""phone":"+7""#.to_owned(),
        r#""direction":"outbound""#.to_owned(),
        r#""started_at":"2026-03-02T10:00:00Z""#.to_owned(),
        r#""talk_seconds":31"#.to_owned(),
        r#""disposition":"answered""#.to_owned(),
    ];
    let lead_base = vec![
        r#""event_id":"e1""#.to_owned(),
        r#""lead_id":"L1""#.to_owned(),
        r#""occurred_at":"2026-03-02T10:00:00Z""#.to_owned(),
        r#""stage":"NEW""#.to_owned(),
    ];
    (
        prop::bool::ANY,
        prop::collection::vec(token(), 0..4),
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        prop::sample::select(vec!["", ",", "}", " x"]),
    )
        .prop_map(move |(is_call, extra, drops, tail)| {
            let mut fields = if is_call {
                call_base.clone()
            } else {
                lead_base.clone()
            };
            for drop in drops {
                if !fields.is_empty() && drop.index(4) == 0 {
                    let i = drop.index(fields.len());
                    fields.remove(i);
                }
            }
            fields.extend(extra);
            format!("{{{}}}{tail}", fields.join(",")).into_bytes()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn built_objects_agree(bytes in object()) {
        agrees(&bytes)?;
    }

    #[test]
    fn mutated_objects_agree(
        bytes in object(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut bytes = bytes;
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => bytes.truncate(i),
            }
        }
        agrees(&bytes)?;
    }
}
