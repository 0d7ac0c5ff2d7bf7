//! Codec round trips in every encoding, schema/struct drift checks and framing error cases.

use std::collections::BTreeSet;

use apache_avro::Schema;
use chrono::NaiveDate;
use dozvon::codec::{self, DecodeError, Encoding, RecordKind};
use dozvon::model::{
    CallRecord, Direction, Disposition, LeadEvent, MatchedOn, QcKind, QcReview, Rule, Timestamp,
    Violation,
};
use serde::Serialize;

const ENCODINGS: [Encoding; 3] = [
    Encoding::Json,
    Encoding::AvroConfluent { schema_id: 42 },
    Encoding::AvroSingleObject,
];

fn ts(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).unwrap()
}

fn full_call() -> CallRecord<'static> {
    CallRecord {
        call_id: "call-1".into(),
        tenant: Some("acme".into()),
        lead_id: Some("L-1".into()),
        phone: "+7 (900) 000-00-01".into(),
        manager_id: Some("m-7".into()),
        direction: Direction::Inbound,
        started_at: ts("2026-03-02T10:00:00.123+03:00"),
        talk_seconds: 95,
        disposition: Disposition::Answered,
        recording_url: Some("https://pbx.example/rec/1.mp3".into()),
    }
}

fn min_call() -> CallRecord<'static> {
    CallRecord {
        call_id: "call-2".into(),
        tenant: None,
        lead_id: None,
        phone: "89000000002".into(),
        manager_id: None,
        direction: Direction::Outbound,
        started_at: Timestamp::MIN,
        talk_seconds: 0,
        disposition: Disposition::NoAnswer,
        recording_url: None,
    }
}

fn full_lead() -> LeadEvent<'static> {
    LeadEvent {
        event_id: "ev-1".into(),
        tenant: Some("acme".into()),
        lead_id: "L-1".into(),
        occurred_at: ts("2026-03-05T11:00:00+03:00"),
        stage: "JUNK".into(),
        manager_id: Some("m-7".into()),
        created_at: Some(ts("2026-03-02T10:00:00+03:00")),
        channel: Some("paid_ads".into()),
        phone: Some("+79000000001".into()),
        email: Some("client@example.com".into()),
        rejection_reason: Some("не берет трубку".into()),
    }
}

fn min_lead() -> LeadEvent<'static> {
    LeadEvent {
        event_id: "ev-2".into(),
        tenant: None,
        lead_id: "L-2".into(),
        occurred_at: Timestamp::MAX,
        stage: "NEW".into(),
        manager_id: None,
        created_at: None,
        channel: None,
        phone: None,
        email: None,
        rejection_reason: None,
    }
}

fn full_violation() -> Violation {
    Violation {
        manager_id: Some("m-7".into()),
        business_day: NaiveDate::from_ymd_opt(2026, 3, 3),
        attempts_on_day: Some(2),
        attempts_total: Some(5),
        required: Some(3),
        day_of_period: Some(2),
        episode_start: Some(ts("2026-03-02T07:00:00Z")),
        stage: Some("IN_PROCESS".into()),
        rejection_reason: Some("не берет трубку".into()),
        channel: Some("website".into()),
        deadline: Some(ts("2026-03-02T07:15:00Z")),
        last_activity_at: Some(ts("2026-03-03T12:00:00Z")),
        retracts: Some("v-0".into()),
        ..min_violation()
    }
}

fn min_violation() -> Violation {
    Violation::new(
        "v-1".into(),
        Rule::DailyAttemptsShortfall,
        "default",
        "L-1",
        ts("2026-03-03T21:10:00Z"),
    )
}

fn full_qc() -> QcReview {
    QcReview {
        manager_id: Some("m-7".into()),
        call_id: Some("call-1".into()),
        recording_url: Some("https://pbx.example/rec/1.mp3".into()),
        talk_seconds: Some(95),
        rejection_reason: Some("дубль".into()),
        stage: Some("JUNK".into()),
        attempts_total: Some(5),
        earlier_lead_id: Some("L-0".into()),
        earlier_manager_id: Some("m-3".into()),
        matched_on: Some(MatchedOn::Phone),
        ..min_qc()
    }
}

fn min_qc() -> QcReview {
    QcReview {
        review_id: "q-1".into(),
        kind: QcKind::RejectionRecheck,
        tenant: "default".into(),
        lead_id: "L-1".into(),
        manager_id: None,
        call_id: None,
        recording_url: None,
        talk_seconds: None,
        premature: true,
        detected_at: ts("2026-03-05T08:00:00Z"),
        rejection_reason: None,
        stage: None,
        attempts_total: None,
        earlier_lead_id: None,
        earlier_manager_id: None,
        matched_on: None,
    }
}

#[test]
fn every_type_round_trips_in_every_encoding() {
    for encoding in ENCODINGS {
        for call in [full_call(), min_call()] {
            let bytes = codec::encode_call(&call, encoding).unwrap();
            assert_eq!(codec::decode_call(&bytes).unwrap(), call, "{encoding:?}");
        }
        for lead in [full_lead(), min_lead()] {
            let bytes = codec::encode_lead(&lead, encoding).unwrap();
            assert_eq!(codec::decode_lead(&bytes).unwrap(), lead, "{encoding:?}");
        }
        for violation in [full_violation(), min_violation()] {
            let bytes = codec::encode_violation(&violation, encoding).unwrap();
            assert_eq!(codec::decode_violation(&bytes).unwrap(), violation);
        }
        for review in [full_qc(), min_qc()] {
            let bytes = codec::encode_qc_review(&review, encoding).unwrap();
            assert_eq!(codec::decode_qc_review(&bytes).unwrap(), review);
        }
    }
}

#[test]
fn every_rule_kind_and_enum_symbol_round_trips() {
    for rule in Rule::ALL {
        let v = Violation {
            rule,
            ..full_violation()
        };
        let bytes = codec::encode_violation(&v, Encoding::AvroSingleObject).unwrap();
        assert_eq!(codec::decode_violation(&bytes).unwrap().rule, rule);
    }
    for kind in QcKind::ALL {
        let q = QcReview { kind, ..min_qc() };
        let bytes = codec::encode_qc_review(&q, Encoding::AvroSingleObject).unwrap();
        assert_eq!(codec::decode_qc_review(&bytes).unwrap().kind, kind);
    }
    for matched_on in MatchedOn::ALL {
        let q = QcReview {
            kind: QcKind::DuplicateLead,
            matched_on: Some(matched_on),
            ..full_qc()
        };
        for encoding in ENCODINGS {
            let bytes = codec::encode_qc_review(&q, encoding).unwrap();
            assert_eq!(codec::decode_qc_review(&bytes).unwrap(), q, "{encoding:?}");
        }
        let json = codec::encode_json_qc_review(&q).unwrap();
        let text = String::from_utf8(json).unwrap();
        assert!(
            text.contains(&format!("\"matched_on\":\"{}\"", matched_on.as_str())),
            "{text}"
        );
    }
    for (direction, disposition) in Direction::ALL.into_iter().zip(Disposition::ALL) {
        let c = CallRecord {
            direction,
            disposition,
            ..full_call()
        };
        let bytes = codec::encode_call(&c, Encoding::AvroConfluent { schema_id: 1 }).unwrap();
        assert_eq!(codec::decode_call(&bytes).unwrap(), c);
    }
}

#[test]
fn frames_have_the_documented_headers() {
    let bytes = codec::encode_call(
        &full_call(),
        Encoding::AvroConfluent {
            schema_id: 0x0102_0304,
        },
    );
    assert_eq!(bytes.unwrap()[..5], [0, 1, 2, 3, 4]);
    let bytes = codec::encode_lead(&full_lead(), Encoding::AvroSingleObject).unwrap();
    assert_eq!(bytes[..2], [0xC3, 0x01]);
    assert_eq!(bytes[2..10], RecordKind::Lead.fingerprint().to_le_bytes());
    let json = codec::encode_call(&min_call(), Encoding::Json).unwrap();
    assert_eq!(json, codec::encode_json_call(&min_call()).unwrap());
    assert_eq!(json[0], b'{');
}

#[test]
fn containers_round_trip() {
    let calls = vec![full_call(), min_call(), full_call()];
    let bytes = codec::write_calls_container(Vec::new(), &calls).unwrap();
    assert!(codec::is_avro_container(&bytes));
    let read: Vec<_> = codec::read_calls_container(&bytes[..]).unwrap().collect();
    assert_eq!(read, calls.into_iter().map(Ok).collect::<Vec<_>>());

    let leads = vec![min_lead(), full_lead()];
    let bytes = codec::write_leads_container(Vec::new(), &leads).unwrap();
    let read: Vec<_> = codec::read_leads_container(&bytes[..]).unwrap().collect();
    assert_eq!(read, leads.into_iter().map(Ok).collect::<Vec<_>>());

    let empty = codec::write_leads_container(Vec::new(), &[]).unwrap();
    assert_eq!(codec::read_leads_container(&empty[..]).unwrap().count(), 0);
    assert!(!codec::is_avro_container(b"{\"call_id\""));
    assert!(!codec::is_avro_container(b"Obj"));
}

/// The schema's fields, and which of them are `["null", T]` unions defaulting to null.
fn schema_fields(kind: RecordKind) -> (BTreeSet<String>, BTreeSet<String>) {
    let json: serde_json::Value = serde_json::from_str(kind.schema_json()).unwrap();
    assert_eq!(json["namespace"], "dev.dozvon");
    let (mut all, mut optional) = (BTreeSet::new(), BTreeSet::new());
    for field in json["fields"].as_array().unwrap() {
        let name = field["name"].as_str().unwrap().to_owned();
        if field["type"].get(0) == Some(&"null".into()) {
            assert_eq!(
                field.get("default"),
                Some(&serde_json::Value::Null),
                "{name}"
            );
            optional.insert(name.clone());
        }
        all.insert(name);
    }
    (all, optional)
}

fn json_keys(value: &impl Serialize) -> BTreeSet<String> {
    match serde_json::to_value(value).unwrap() {
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        other => panic!("not an object: {other}"),
    }
}

fn assert_same_fields(kind: RecordKind, full: &impl Serialize, minimal: &impl Serialize) {
    let (all, optional) = schema_fields(kind);
    assert_eq!(json_keys(full), all, "{kind:?}: schema vs struct fields");
    let required: BTreeSet<_> = all.difference(&optional).cloned().collect();
    assert_eq!(json_keys(minimal), required, "{kind:?}: optional fields");
}

#[test]
fn schemas_match_the_serde_structs() {
    assert_same_fields(RecordKind::Call, &full_call(), &min_call());
    assert_same_fields(RecordKind::Lead, &full_lead(), &min_lead());
    assert_same_fields(RecordKind::Violation, &full_violation(), &min_violation());
    assert_same_fields(RecordKind::QcReview, &full_qc(), &min_qc());
}

#[test]
fn schema_enums_list_the_model_symbols_in_order() {
    fn symbols(kind: RecordKind, field: &str) -> Vec<String> {
        let Schema::Record(record) = kind.schema() else {
            panic!("{kind:?}")
        };
        let field = record.fields.iter().find(|f| f.name == field).unwrap();
        let Schema::Enum(e) = &field.schema else {
            panic!("{field:?}")
        };
        e.symbols.clone()
    }
    let names = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
    let rules = names(Rule::ALL.map(Rule::as_str).to_vec());
    assert_eq!(symbols(RecordKind::Violation, "rule"), rules);
    // The QC kinds end with `unknown`, the enum's default: never written, what a reader with
    // this schema makes of a kind added later (tests/schema_evolution.rs).
    let mut kinds = names(QcKind::ALL.map(QcKind::as_str).to_vec());
    kinds.push("unknown".into());
    assert_eq!(symbols(RecordKind::QcReview, "kind"), kinds);
    let Schema::Record(record) = RecordKind::QcReview.schema() else {
        panic!("QcReview is a record")
    };
    let kind = record.fields.iter().find(|f| f.name == "kind").unwrap();
    let Schema::Enum(e) = &kind.schema else {
        panic!("{kind:?}")
    };
    assert_eq!(e.default.as_deref(), Some("unknown"));
    let dirs = names(Direction::ALL.map(Direction::as_str).to_vec());
    assert_eq!(symbols(RecordKind::Call, "direction"), dirs);
    let disp = names(Disposition::ALL.map(Disposition::as_str).to_vec());
    assert_eq!(symbols(RecordKind::Call, "disposition"), disp);
}

#[test]
fn framing_errors_say_what_is_wrong() {
    let frame = codec::encode_call(&full_call(), Encoding::AvroConfluent { schema_id: 7 }).unwrap();
    let err = codec::decode_call(&frame[..3]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Confluent frame needs at least 5 bytes, got 3"
    );
    let err = codec::decode_call(&frame[..frame.len() - 4]).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Truncated {
            offset: frame.len() - 4
        }
    );
    let mut long = frame.clone();
    long.extend_from_slice(&[0, 0]);
    let err = codec::decode_call(&long).unwrap_err();
    assert_eq!(
        err,
        DecodeError::TrailingBytes {
            offset: frame.len(),
            count: 2
        }
    );

    let lead = codec::encode_lead(&full_lead(), Encoding::AvroSingleObject).unwrap();
    let err = codec::decode_call(&lead).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::FingerprintMismatch {
            other_record: Some(_),
            ..
        }
    ));
    assert!(
        err.to_string()
            .ends_with("it is the schema of dev.dozvon.LeadEvent"),
        "{err}"
    );
    let err = codec::decode_call(b" {\"call_id\": 5}").unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Json {
                line: 1,
                column: 14,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("call_id") || err.to_string().contains("string"));
}
