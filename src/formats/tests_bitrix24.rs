//! Bitrix24 call mapping tests on payloads shaped like the b24restdocs examples; shared fixtures.

use serde_json::{Value, json};

use super::bitrix24::{decode_call, direction, disposition};
use super::{Bitrix24Options, FormatError};
use crate::model::{Direction, Disposition, Timestamp};

pub(super) fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

pub(super) fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

/// The second row of the `voximplant.statistic.get` example, every value a string.
pub(super) fn statistic_row() -> Value {
    json!({
        "ID": "7", "PORTAL_USER_ID": "1269", "PORTAL_NUMBER": "3", "PHONE_NUMBER": "79161234567",
        "CALL_ID": "externalCall.716f1cb73def9700a23842adf9c4c568.1773130779",
        "EXTERNAL_CALL_ID": null, "CALL_CATEGORY": "external", "CALL_LOG": null,
        "CALL_DURATION": "95", "CALL_START_DATE": "2026-03-10T11:19:38+03:00",
        "CALL_RECORD_URL": "https://portal.example/rec/7.mp3", "CALL_VOTE": "5", "COST": "0.0000",
        "COST_CURRENCY": "", "CALL_FAILED_CODE": "200", "CALL_FAILED_REASON": "",
        "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": "797", "CRM_ACTIVITY_ID": "7943",
        "REST_APP_ID": "3", "RECORD_FILE_ID": 9079, "CALL_TYPE": "1"
    })
}

pub(super) fn with(mut value: Value, key: &str, field: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        if field.is_null() {
            map.remove(key);
        } else {
            map.insert(key.into(), field);
        }
    }
    value
}

fn call(value: &Value) -> Result<crate::model::CallRecord<'static>, FormatError> {
    decode_call(&bytes(value), &Bitrix24Options::default())
}

#[test]
fn a_statistics_row_maps_field_by_field() {
    let record = call(&statistic_row()).unwrap();
    assert_eq!(
        record.call_id,
        "externalCall.716f1cb73def9700a23842adf9c4c568.1773130779"
    );
    assert_eq!(record.tenant, None);
    assert_eq!(record.tenant(), "default");
    assert_eq!(record.lead_id.as_deref(), Some("797"));
    assert_eq!(record.phone, "79161234567");
    assert_eq!(record.manager_id.as_deref(), Some("1269"));
    assert_eq!(record.direction, Direction::Outbound);
    assert_eq!(record.started_at, at("2026-03-10T08:19:38Z"));
    assert_eq!(record.talk_seconds, 95);
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(
        record.recording_url.as_deref(),
        Some("https://portal.example/rec/7.mp3")
    );
    assert_eq!(record.validate(), Ok(()));
}

#[test]
fn numbers_may_be_numbers_or_strings() {
    let numeric = json!({
        "CALL_ID": "c1", "CALL_TYPE": 2, "PHONE_NUMBER": "+7 916 123-45-67", "PORTAL_USER_ID": 12,
        "CALL_DURATION": 41, "CALL_START_DATE": "2024-03-04T10:15:00+03:00",
        "CALL_FAILED_CODE": 200, "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 55
    });
    let record = call(&numeric).unwrap();
    assert_eq!(
        (record.direction, record.talk_seconds),
        (Direction::Inbound, 41)
    );
    assert_eq!(record.manager_id.as_deref(), Some("12"));
    assert_eq!(record.lead_id.as_deref(), Some("55"));
    assert_eq!(record.disposition, Disposition::Answered);
}

#[test]
fn every_call_type_maps_or_is_refused_by_name() {
    let cases = [
        ("1", Direction::Outbound),
        ("2", Direction::Inbound),
        ("3", Direction::Inbound),
        ("4", Direction::Outbound),
    ];
    for (code, expected) in cases {
        assert_eq!(direction(code), Ok(expected), "CALL_TYPE {code}");
    }
    let robot = direction("5").unwrap_err();
    assert_eq!(
        (robot.kind(), robot.field()),
        ("not_applicable", Some("CALL_TYPE"))
    );
    let unknown = call(&with(statistic_row(), "CALL_TYPE", json!("9"))).unwrap_err();
    assert_eq!(
        unknown,
        FormatError::UnknownCode {
            field: "CALL_TYPE",
            code: "\"9\"".into()
        }
    );
}

#[test]
fn every_documented_completion_code_maps() {
    let cases = [
        ("200", Disposition::Answered),
        ("304", Disposition::NoAnswer),
        ("603-S", Disposition::NoAnswer),
        ("486", Disposition::Busy),
        ("603", Disposition::Busy),
        ("403", Disposition::Failed),
        ("404", Disposition::Failed),
        ("484", Disposition::Failed),
        ("503", Disposition::Failed),
        ("480", Disposition::Failed),
        ("402", Disposition::Failed),
        ("423", Disposition::Failed),
        ("OTHER", Disposition::Failed),
        ("487", Disposition::Failed), // undocumented but SIP-shaped
    ];
    for (code, expected) in cases {
        assert_eq!(disposition(code), Ok(expected), "code {code}");
    }
    for garbage in ["ok", "2000", "20", "603-", "486-busy-here!"] {
        let error = disposition(garbage).unwrap_err();
        assert_eq!(
            (error.kind(), error.field()),
            ("unknown_code", Some("CALL_FAILED_CODE")),
            "{garbage}"
        );
    }
}

#[test]
fn an_unanswered_call_has_no_talk_time_whatever_the_duration() {
    let missed = with(
        with(statistic_row(), "CALL_FAILED_CODE", json!("304")),
        "CALL_DURATION",
        json!("12"),
    );
    let record = call(&missed).unwrap();
    assert_eq!(
        (record.disposition, record.talk_seconds),
        (Disposition::NoAnswer, 0)
    );
}

#[test]
fn the_call_end_webhook_body_is_unwrapped() {
    // ONVOXIMPLANTCALLEND as documented: no CRM binding, so the lead is found by phone.
    let body = json!({
        "event": "ONVOXIMPLANTCALLEND", "event_handler_id": "1061",
        "data": {
            "CALL_ID": "externalCall.7b0c7de811455ef32b18dc5917e4306a.1773239327", "CALL_TYPE": "1",
            "PHONE_NUMBER": "+19061234567", "PORTAL_NUMBER": "REST_APP:", "PORTAL_USER_ID": "1269",
            "CALL_DURATION": "0", "CALL_START_DATE": "2026-03-11T17:28:46+02:00", "COST": "0",
            "COST_CURRENCY": "", "CALL_FAILED_CODE": "304", "CALL_FAILED_REASON": "Call canceled",
            "CRM_ACTIVITY_ID": "7953"
        },
        "ts": "1773239624",
        "auth": {"domain": "some-domain.bitrix24.com", "member_id": "a223c6b9410f85df78e9377d6c4f7213"}
    });
    let record = call(&body).unwrap();
    assert_eq!(
        record.call_id,
        "externalCall.7b0c7de811455ef32b18dc5917e4306a.1773239327"
    );
    assert_eq!(record.lead_id, None);
    assert_eq!(
        (record.disposition, record.talk_seconds),
        (Disposition::NoAnswer, 0)
    );
    assert_eq!(record.started_at, at("2026-03-11T15:28:46Z"));
}

#[test]
fn external_call_finish_params_use_their_own_names_and_defaults() {
    // finish's params (CALL_ID, USER_ID, DURATION, STATUS_CODE, RECORD_URL) with register's
    // (PHONE_NUMBER, TYPE, CALL_START_DATE, CRM_ENTITY_*) added by the relay.
    let params = json!({
        "CALL_ID": "externalCall.1", "USER_ID": 1269, "DURATION": 95, "RECORD_URL": "https://pbx/r/1.mp3",
        "PHONE_NUMBER": "79062195047", "TYPE": 2, "CALL_START_DATE": "2026-03-07T10:20:30+03:00",
        "CRM_ENTITY_TYPE": "lead", "CRM_ENTITY_ID": 797
    });
    let record = call(&params).unwrap();
    // No STATUS_CODE: 200 because DURATION > 0, as the method defaults it.
    assert_eq!(
        (record.disposition, record.talk_seconds),
        (Disposition::Answered, 95)
    );
    assert_eq!(record.direction, Direction::Inbound);
    assert_eq!(record.manager_id.as_deref(), Some("1269"));
    assert_eq!(record.lead_id.as_deref(), Some("797"));
    assert_eq!(record.recording_url.as_deref(), Some("https://pbx/r/1.mp3"));
    let silent = with(
        with(params, "DURATION", Value::Null),
        "STATUS_CODE",
        Value::Null,
    );
    assert_eq!(call(&silent).unwrap().disposition, Disposition::NoAnswer);
}

#[test]
fn the_finish_result_wrapped_in_result_is_read_too() {
    let response = json!({"result": {
        "CALL_ID": "externalCall.716f", "PORTAL_USER_ID": 1269, "PHONE_NUMBER": "19062195047",
        "INCOMING": "2", "CALL_DURATION": 95, "CALL_START_DATE": "2026-03-10T11:19:38+01:00",
        "CALL_FAILED_CODE": "200", "CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": 797
    }, "time": {"start": 1773132478}});
    let record = call(&response).unwrap();
    assert_eq!(record.direction, Direction::Inbound);
    assert_eq!(
        record.lead_id, None,
        "a contact is not a lead: phone resolution applies"
    );
    // The documented finish example serializes the date as `{}`: refused by name.
    let broken = json!({"result": {"CALL_ID": "x", "INCOMING": "2", "PHONE_NUMBER": "1",
        "CALL_START_DATE": {}}});
    let error = call(&broken).unwrap_err();
    assert_eq!(
        (error.kind(), error.field()),
        ("bad_value", Some("CALL_START_DATE"))
    );
}

#[test]
fn missing_required_fields_are_named() {
    for field in ["CALL_ID", "CALL_TYPE", "PHONE_NUMBER", "CALL_START_DATE"] {
        let error = call(&with(statistic_row(), field, Value::Null)).unwrap_err();
        assert_eq!(error, FormatError::Missing { field }, "{field}");
        let blank = call(&with(statistic_row(), field, json!("  "))).unwrap_err();
        assert_eq!(blank, FormatError::Missing { field }, "{field} blank");
    }
    let error = call(&with(statistic_row(), "CALL_DURATION", json!("ninety"))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "field `CALL_DURATION`: expected whole seconds ≥ 0, got \"ninety\""
    );
    let error = call(&with(
        statistic_row(),
        "CALL_START_DATE",
        json!("2026-03-10 11:19:38"),
    ))
    .unwrap_err();
    assert_eq!(error.field(), Some("CALL_START_DATE"));
    assert_eq!(call(&json!([statistic_row()])).unwrap_err().kind(), "json");
}
