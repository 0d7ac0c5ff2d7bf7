//! Asterisk CDR tests: decoding one row, a one-row call, options; shared CDR fixtures.

use serde_json::{Value, json};

use super::asterisk::{decode_call, decode_cdr, merge_legs};
use super::{AsteriskOptions, CdrDisposition, CdrRow, FormatError, ManagerSource};
use crate::model::{Direction, Disposition, Timestamp};

pub(super) fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

/// Manager 101 (account `ivanov`) calls client 8 916 123-45-67 and talks 52 s; local Moscow times.
pub(super) fn outbound() -> Value {
    json!({
        "calldate": "2024-03-04 10:15:00", "clid": "\"Иванов\" <101>", "src": "101", "dst": "89161234567",
        "dcontext": "from-internal", "channel": "PJSIP/101-00000001", "dstchannel": "PJSIP/trunk-mango-00000002",
        "lastapp": "Dial", "lastdata": "PJSIP/89161234567@trunk-mango,60,tT", "answer": "2024-03-04 10:15:08",
        "end": "2024-03-04 10:16:00", "duration": "60", "billsec": "52", "disposition": "ANSWERED",
        "amaflags": "DOCUMENTATION", "accountcode": "ivanov", "peeraccount": "", "uniqueid": "1709536500.1",
        "linkedid": "1709536500.1", "userfield": "lead:L-77", "sequence": "1",
        "recordingfile": "out-89161234567-101-20240304-101500-1709536500.1.wav"
    })
}

/// `base` with `changes` applied; a `null` removes the column.
pub(super) fn leg(base: Value, changes: Value) -> Value {
    let (Value::Object(mut map), Value::Object(changes)) = (base, changes) else {
        return Value::Null;
    };
    for (key, value) in changes {
        if value.is_null() {
            map.remove(&key);
        } else {
            map.insert(key, value);
        }
    }
    Value::Object(map)
}

/// Client 7 916 123-45-67 calls in through the trunk into queue 500.
pub(super) fn inbound(agent: &str, disposition: &str, billsec: u32) -> Value {
    leg(
        outbound(),
        json!({
            "src": "79161234567", "dst": "500", "dcontext": "ext-queues", "channel": "PJSIP/trunk-mango-00000010",
            "dstchannel": format!("PJSIP/{agent}-00000011"), "lastapp": "Queue", "lastdata": "500,t",
            "disposition": disposition, "billsec": billsec, "accountcode": "", "peeraccount": format!("acc-{agent}"),
            "uniqueid": "1709536800.16", "linkedid": "1709536800.16", "userfield": "", "recordingfile": ""
        }),
    )
}

pub(super) fn row(value: &Value) -> CdrRow {
    decode_cdr(
        &serde_json::to_vec(value).unwrap(),
        &AsteriskOptions::default(),
    )
    .unwrap()
}

#[test]
fn a_row_decodes_with_local_times_in_the_configured_zone() {
    let cdr = row(&outbound());
    assert_eq!(cdr.start, at("2024-03-04T07:15:00Z"));
    assert_eq!(cdr.answer, Some(at("2024-03-04T07:15:08Z")));
    assert_eq!(cdr.ended_at(), at("2024-03-04T07:16:00Z"));
    assert_eq!((cdr.duration, cdr.billsec, cdr.sequence), (60, 52, Some(1)));
    assert_eq!(cdr.disposition, CdrDisposition::Answered);
    assert!(cdr.is_root() && cdr.talked());
    let yekaterinburg = AsteriskOptions {
        timezone: chrono_tz::Asia::Yekaterinburg,
        ..AsteriskOptions::default()
    };
    let local = decode_cdr(&serde_json::to_vec(&outbound()).unwrap(), &yekaterinburg).unwrap();
    assert_eq!(local.start, at("2024-03-04T05:15:00Z"));
    // A relay that already converted to RFC 3339 keeps its offset.
    let converted = row(&leg(
        outbound(),
        json!({"calldate": "2024-03-04T10:15:00+05:00"}),
    ));
    assert_eq!(converted.start, at("2024-03-04T05:15:00Z"));
}

#[test]
fn numbers_may_be_numbers_and_missing_columns_are_derived() {
    let numeric = row(&leg(
        outbound(),
        json!({"duration": 60, "billsec": 52.0, "sequence": 1}),
    ));
    assert_eq!((numeric.duration, numeric.billsec), (60, 52));
    let derived = row(&leg(
        outbound(),
        json!({"billsec": null, "duration": null, "linkedid": null}),
    ));
    assert_eq!(
        (derived.duration, derived.billsec),
        (60, 52),
        "end − answer, end − start"
    );
    assert_eq!(
        derived.linkedid, derived.uniqueid,
        "no linkedid column: each row is its own call"
    );
    let unanswered = row(&leg(
        outbound(),
        json!({"disposition": "NO ANSWER", "answer": "0000-00-00 00:00:00", "billsec": null}),
    ));
    assert_eq!((unanswered.answer, unanswered.billsec), (None, 0));
    // The AMI `Cdr` event spelling.
    let ami = json!({"UniqueID": "1709536500.1", "StartTime": "2024-03-04 10:15:00", "Source": "101",
        "Destination": "89161234567", "Channel": "PJSIP/101-00000001", "DestinationChannel": "PJSIP/trunk-mango-00000002",
        "Disposition": "ANSWERED", "BillableSeconds": "52", "Duration": "60", "AccountCode": "ivanov", "UserField": "lead:L-77"});
    let from_ami = row(&ami);
    assert_eq!(
        (
            from_ami.billsec,
            from_ami.accountcode.as_str(),
            from_ami.dst.as_str()
        ),
        (52, "ivanov", "89161234567")
    );
}

#[test]
fn every_disposition_parses_and_others_are_refused() {
    let cases = [
        ("ANSWERED", CdrDisposition::Answered),
        ("NO ANSWER", CdrDisposition::NoAnswer),
        ("no answer", CdrDisposition::NoAnswer),
        ("NOANSWER", CdrDisposition::NoAnswer),
        ("BUSY", CdrDisposition::Busy),
        ("FAILED", CdrDisposition::Failed),
        ("CONGESTION", CdrDisposition::Congestion),
    ];
    for (text, expected) in cases {
        assert_eq!(CdrDisposition::parse(text), Ok(expected), "{text}");
    }
    for text in ["4", "ANSWER", "OK"] {
        let error = CdrDisposition::parse(text).unwrap_err();
        assert_eq!(
            (error.kind(), error.field()),
            ("unknown_code", Some("disposition"))
        );
    }
}

#[test]
fn missing_or_bad_columns_are_named() {
    let decode = |value: Value| {
        decode_cdr(
            &serde_json::to_vec(&value).unwrap(),
            &AsteriskOptions::default(),
        )
    };
    for (column, named) in [
        ("uniqueid", "uniqueid"),
        ("calldate", "start"),
        ("disposition", "disposition"),
    ] {
        let error = decode(leg(outbound(), json!({column: null}))).unwrap_err();
        assert_eq!(error, FormatError::Missing { field: named }, "{column}");
    }
    let error = decode(leg(outbound(), json!({"billsec": "-3"}))).unwrap_err();
    assert_eq!(
        (error.kind(), error.field()),
        ("bad_value", Some("billsec"))
    );
    let error = decode(leg(outbound(), json!({"calldate": "04.03.2024 10:15"}))).unwrap_err();
    assert_eq!(error.field(), Some("calldate"));
    let error = decode(leg(outbound(), json!({"sequence": "first"}))).unwrap_err();
    assert_eq!(error.field(), Some("sequence"));
    let error = decode(leg(outbound(), json!({"src": ["101"]}))).unwrap_err();
    assert_eq!(error.field(), Some("src"));
}

#[test]
fn a_one_row_outbound_call_maps_field_by_field() {
    let options = AsteriskOptions {
        tenant: Some("acme".into()),
        recording_url_prefix: "https://pbx.example/records/".into(),
        ..AsteriskOptions::default()
    };
    let call = decode_call(&serde_json::to_vec(&outbound()).unwrap(), &options).unwrap();
    assert_eq!(call.call_id, "1709536500.1");
    assert_eq!(call.tenant(), "acme");
    assert_eq!(call.lead_id.as_deref(), Some("L-77"));
    assert_eq!(call.phone, "89161234567");
    assert_eq!(call.manager_id.as_deref(), Some("ivanov"));
    assert_eq!(call.direction, Direction::Outbound);
    assert_eq!(call.started_at, at("2024-03-04T07:15:00Z"));
    assert_eq!(
        (call.disposition, call.talk_seconds),
        (Disposition::Answered, 52)
    );
    assert_eq!(
        call.recording_url.as_deref(),
        Some("https://pbx.example/records/out-89161234567-101-20240304-101500-1709536500.1.wav")
    );
    assert_eq!(call.validate(), Ok(()));
    let default_tenant = merge_legs(&[row(&outbound())], &AsteriskOptions::default()).unwrap();
    assert_eq!(
        (default_tenant.tenant.as_deref(), default_tenant.tenant()),
        (None, "default")
    );
}

#[test]
fn options_parse_from_toml_with_defaults_and_refuse_unknown_keys() {
    let options: AsteriskOptions = toml::from_str(
        r#"
        tenant = "ural"
        timezone = "Asia/Yekaterinburg"
        internal_max_digits = 5
        manager = "extension"
        settle = "1m"
        idle_timeout = "15m"
        "#,
    )
    .unwrap();
    assert_eq!(options.timezone, chrono_tz::Asia::Yekaterinburg);
    assert_eq!(
        (options.internal_max_digits, options.manager),
        (5, ManagerSource::Extension)
    );
    assert_eq!(
        (options.settle.as_secs(), options.idle_timeout.as_secs()),
        (60, 900)
    );
    assert_eq!(options.lead_id_prefix, "lead:");
    let printed = toml::to_string(&options).unwrap();
    assert_eq!(
        toml::from_str::<AsteriskOptions>(&printed).unwrap(),
        options
    );
    for bad in [
        "timezone = \"Mars/Olympus\"",
        "settle = \"soon\"",
        "lead_prefix = \"x\"",
        "manager = \"boss\"",
    ] {
        assert!(toml::from_str::<AsteriskOptions>(bad).is_err(), "{bad}");
    }
}
