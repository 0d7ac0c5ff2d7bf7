//! Property tests: garbage never panics a format decoder, and the merger keeps its invariants.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::asterisk::{self, decode_cdr};
use super::bitrix24::{decode_call, decode_lead};
use super::tests_asterisk::{inbound, leg, outbound, row};
use super::{AsteriskOptions, Bitrix24Options, CdrMerger};
use crate::model::Disposition;

/// Any JSON value a careless relay might put in a field.
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[0-9]{0,12}".prop_map(Value::String),
        "[ -~]{0,24}".prop_map(Value::String),
        "(19|20|21)[0-9]{2}-[01][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\+0[0-9]:00|Z)?"
            .prop_map(Value::String),
        Just(json!([{"VALUE": "+7 999 000-00-00"}])),
        Just(json!({})),
    ]
}

const KEYS: &[&str] = &[
    "CALL_ID",
    "CALL_TYPE",
    "TYPE",
    "INCOMING",
    "PHONE_NUMBER",
    "CALL_START_DATE",
    "CALL_FAILED_CODE",
    "STATUS_CODE",
    "CALL_DURATION",
    "DURATION",
    "PORTAL_USER_ID",
    "USER_ID",
    "CRM_ENTITY_TYPE",
    "CRM_ENTITY_ID",
    "CALL_RECORD_URL",
    "ID",
    "STATUS_ID",
    "STATUS_SEMANTIC_ID",
    "DATE_CREATE",
    "DATE_MODIFY",
    "ASSIGNED_BY_ID",
    "SOURCE_ID",
    "PHONE",
    "EMAIL",
    "STATUS_DESCRIPTION",
    "data",
    "result",
    "uniqueid",
    "linkedid",
    "calldate",
    "start",
    "answer",
    "end",
    "src",
    "dst",
    "channel",
    "dstchannel",
    "duration",
    "billsec",
    "disposition",
    "accountcode",
    "peeraccount",
    "userfield",
    "sequence",
    "recordingfile",
];

fn any_object() -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(KEYS), any_value()), 0..24).prop_map(
        |pairs| {
            let map: Map<String, Value> =
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            Value::Object(map)
        },
    )
}

fn decode_everything(bytes: &[u8]) {
    let (b24, ast) = (Bitrix24Options::default(), AsteriskOptions::default());
    if let Ok(call) = decode_call(bytes, &b24) {
        assert_eq!(call.validate(), Ok(()));
        assert!(call.disposition == Disposition::Answered || call.talk_seconds == 0);
    }
    if let Ok(lead) = decode_lead(bytes, &b24) {
        assert_eq!(lead.validate(), Ok(()));
    }
    let _ = decode_cdr(bytes, &ast);
    if let Ok(call) = asterisk::decode_call(bytes, &ast) {
        assert_eq!(call.validate(), Ok(()));
    }
}

/// A leg of one of a few calls, with shuffled parties, outcomes and times.
fn any_leg() -> impl Strategy<Value = super::CdrRow> {
    (0..4u8, 0..3u8, 0..5u8, 0..600u32, 0..4u8, any::<bool>()).prop_map(|(call, seq, outcome, offset, agent, root)| {
        let disposition = ["ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION"][usize::from(outcome)];
        let base = if call % 2 == 0 { outbound() } else { inbound(&format!("10{agent}"), disposition, offset % 90) };
        let linkedid = format!("1709536500.{call}");
        let uniqueid = if root { linkedid.clone() } else { format!("{linkedid}{seq}") };
        let (minute, second) = (offset / 60, offset % 60);
        row(&leg(base, json!({
            "linkedid": linkedid, "uniqueid": uniqueid, "sequence": seq, "disposition": disposition,
            "calldate": format!("2024-03-04 10:{minute:02}:{second:02}"),
            "end": format!("2024-03-04 11:{minute:02}:{second:02}"), "billsec": offset % 90,
        })))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        decode_everything(&bytes);
    }

    #[test]
    fn arbitrary_objects_with_known_keys_never_panic(object in any_object(), wrap in 0..3u8) {
        let value = match wrap {
            0 => object,
            1 => json!({"event": "ONVOXIMPLANTCALLEND", "data": object}),
            _ => json!({"result": object}),
        };
        decode_everything(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn valid_payloads_with_one_field_broken_never_panic(
        key in proptest::sample::select(KEYS),
        value in any_value(),
    ) {
        for base in [outbound(), inbound("101", "ANSWERED", 40)] {
            decode_everything(&serde_json::to_vec(&leg(base, json!({key: value.clone()}))).unwrap());
        }
    }

    #[test]
    fn the_merger_emits_each_call_at_most_once_and_drops_nothing_silently(
        legs in proptest::collection::vec(any_leg(), 0..40),
    ) {
        let mut merger = CdrMerger::new(AsteriskOptions::default());
        let mut emitted = Vec::new();
        for leg in legs.iter().cloned() {
            emitted.extend(merger.push(leg));
        }
        emitted.extend(merger.flush_all());
        let mut ids: Vec<&str> = emitted.iter().map(|call| call.call_id.as_ref()).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        prop_assert_eq!(ids.len(), before, "a call id emitted twice");
        prop_assert_eq!(merger.open_calls(), 0);
        let stats = merger.stats();
        prop_assert_eq!(stats.legs, legs.len() as u64);
        prop_assert_eq!(stats.calls, emitted.len() as u64);
        for call in &emitted {
            prop_assert_eq!(call.validate(), Ok(()));
            prop_assert!(call.disposition == Disposition::Answered || call.talk_seconds == 0);
        }
    }
}
