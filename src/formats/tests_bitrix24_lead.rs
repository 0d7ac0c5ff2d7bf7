//! Bitrix24 lead mapping tests on `crm.lead.get` records shaped like the b24restdocs examples.

use serde_json::{Value, json};

use super::bitrix24::{decode_call, decode_lead};
use super::tests_bitrix24::{at, bytes, statistic_row, with};
use super::{Bitrix24LeadMapping, Bitrix24Options, FormatError, StageSemantic};

/// A `crm.lead.get` result in the documented shape.
fn lead_record() -> Value {
    json!({
        "ID": "1000983", "TITLE": "Заявка с сайта", "STATUS_ID": "IN_PROCESS", "STATUS_DESCRIPTION": null,
        "STATUS_SEMANTIC_ID": "P", "ASSIGNED_BY_ID": "17", "SOURCE_ID": "WEB",
        "DATE_CREATE": "2024-03-04T10:00:00+03:00", "DATE_MODIFY": "2024-03-04T10:15:00+03:00",
        "DATE_CLOSED": "", "MOVED_TIME": "2024-03-04T10:15:00+03:00",
        "PHONE": [{"ID": "11658", "VALUE_TYPE": "WORK", "VALUE": "+7 999 123-45-67", "TYPE_ID": "PHONE"}],
        "EMAIL": [{"ID": "11659", "VALUE_TYPE": "WORK", "VALUE": " client@example.com ", "TYPE_ID": "EMAIL"}],
        "IM": [{"ID": "11660", "VALUE_TYPE": "OPENLINE", "VALUE": "imol|livechat|1|67|21"}]
    })
}

fn lead(value: &Value) -> Result<crate::model::LeadEvent<'static>, FormatError> {
    decode_lead(&bytes(value), &Bitrix24Options::default())
}

#[test]
fn a_lead_record_maps_field_by_field() {
    let event = lead(&lead_record()).unwrap();
    assert_eq!(event.lead_id, "1000983");
    assert_eq!(event.stage, "IN_PROCESS");
    assert_eq!(event.occurred_at, at("2024-03-04T07:15:00Z"));
    assert_eq!(event.created_at, Some(at("2024-03-04T07:00:00Z")));
    assert_eq!(event.manager_id.as_deref(), Some("17"));
    assert_eq!(event.channel.as_deref(), Some("WEB"));
    assert_eq!(event.phone.as_deref(), Some("+7 999 123-45-67"));
    assert_eq!(event.email.as_deref(), Some("client@example.com"));
    assert_eq!(event.rejection_reason, None);
    assert_eq!(
        event.event_id,
        format!(
            "b24:lead:1000983:{}:IN_PROCESS",
            at("2024-03-04T07:15:00Z").millis() / 1000
        )
    );
    assert_eq!(event.validate(), Ok(()));
    // The same snapshot fetched twice is the same event (the engine drops the repeat).
    assert_eq!(lead(&lead_record()).unwrap(), event);
    // A REST response and a relay-enriched ONCRMLEADUPDATE body give the same event.
    assert_eq!(lead(&json!({"result": lead_record()})).unwrap(), event);
    let enriched = json!({"event": "ONCRMLEADUPDATE", "data": {"FIELDS": lead_record()}});
    assert_eq!(lead(&enriched).unwrap(), event);
}

#[test]
fn failure_and_success_semantics_become_the_configured_stages() {
    let custom_junk = with(
        with(lead_record(), "STATUS_ID", json!("UC_7QX2")),
        "STATUS_SEMANTIC_ID",
        json!("F"),
    );
    let event = lead(&custom_junk).unwrap();
    assert_eq!(event.stage, "JUNK");
    assert_eq!(
        event.rejection_reason.as_deref(),
        Some("UC_7QX2"),
        "the collapsed stage is the reason"
    );
    let described = with(
        custom_junk.clone(),
        "STATUS_DESCRIPTION",
        json!("не берет трубку"),
    );
    assert_eq!(
        lead(&described).unwrap().rejection_reason.as_deref(),
        Some("не берет трубку")
    );
    let plain_junk = with(
        with(lead_record(), "STATUS_ID", json!("JUNK")),
        "STATUS_SEMANTIC_ID",
        json!("F"),
    );
    assert_eq!(lead(&plain_junk).unwrap().rejection_reason, None);
    let converted = with(
        with(lead_record(), "STATUS_ID", json!("CONVERTED")),
        "STATUS_SEMANTIC_ID",
        json!("S"),
    );
    assert_eq!(lead(&converted).unwrap().stage, "CONVERTED");
    let custom_won = with(
        with(lead_record(), "STATUS_ID", json!("UC_WON")),
        "STATUS_SEMANTIC_ID",
        json!("S"),
    );
    assert_eq!(lead(&custom_won).unwrap().stage, "CONVERTED");
    let error = lead(&with(lead_record(), "STATUS_SEMANTIC_ID", json!("X"))).unwrap_err();
    assert_eq!(
        (error.kind(), error.field()),
        ("unknown_code", Some("STATUS_SEMANTIC_ID"))
    );
    // Without semantics (an older relay), a plain JUNK is still a rejection, with no reason.
    let no_semantics = with(
        with(lead_record(), "STATUS_ID", json!("JUNK")),
        "STATUS_SEMANTIC_ID",
        Value::Null,
    );
    assert_eq!(lead(&no_semantics).unwrap().stage, "JUNK");
}

#[test]
fn explicit_stage_and_channel_maps_win_and_collapsing_can_be_turned_off() {
    let mapping: Bitrix24LeadMapping = toml::from_str(
        r#"
        failure_stage = ""
        reason_field = "UF_CRM_REJECT_REASON"
        [stages]
        UC_CALLBACK = "IN_PROCESS"
        [channels]
        ADVERTISING = "paid_ads"
        "#,
    )
    .unwrap();
    assert_eq!(
        mapping.stage("UC_CALLBACK", Some(StageSemantic::InProcess)),
        "IN_PROCESS"
    );
    assert_eq!(
        mapping.stage("UC_7QX2", Some(StageSemantic::Failure)),
        "UC_7QX2"
    );
    assert_eq!(
        mapping.stage("UC_WON", Some(StageSemantic::Success)),
        "CONVERTED"
    );
    assert_eq!(mapping.stage("PROCESSED", None), "PROCESSED");
    assert_eq!(mapping.channel("ADVERTISING"), "paid_ads");
    assert_eq!(mapping.channel("WEB"), "WEB");
    let options = Bitrix24Options {
        tenant: None,
        leads: mapping,
    };
    let rejected = json!({"ID": 5, "STATUS_ID": "UC_7QX2", "STATUS_SEMANTIC_ID": "F", "SOURCE_ID": "ADVERTISING",
        "DATE_MODIFY": "2024-03-07T11:00:00+03:00", "UF_CRM_REJECT_REASON": "дубль"});
    let event = decode_lead(&bytes(&rejected), &options).unwrap();
    assert_eq!(event.stage, "UC_7QX2");
    assert_eq!(event.rejection_reason.as_deref(), Some("дубль"));
    assert_eq!(event.channel.as_deref(), Some("paid_ads"));
    assert_eq!(event.created_at, None);
    assert!(
        toml::from_str::<Bitrix24LeadMapping>("failure = \"JUNK\"").is_err(),
        "unknown keys are refused"
    );
    assert!(
        toml::from_str::<Bitrix24Options>("tenant = \"acme\"\n[leads]\nsuccess_stage = \"WON\"")
            .is_ok()
    );
}

#[test]
fn lead_fields_are_checked_by_name() {
    for field in ["ID", "STATUS_ID"] {
        assert_eq!(
            lead(&with(lead_record(), field, Value::Null)).unwrap_err(),
            FormatError::Missing { field }
        );
    }
    // A bare ONCRMLEADUPDATE body carries only the ID: the relay must fetch crm.lead.get first.
    let bare = json!({"event": "ONCRMLEADUPDATE", "data": {"FIELDS": {"ID": "1000983"}}, "ts": "1742807189"});
    assert_eq!(
        lead(&bare).unwrap_err(),
        FormatError::Missing { field: "STATUS_ID" }
    );
    let no_times = with(
        with(lead_record(), "DATE_MODIFY", Value::Null),
        "DATE_CREATE",
        Value::Null,
    );
    assert_eq!(
        lead(&no_times).unwrap_err(),
        FormatError::Missing {
            field: "DATE_MODIFY"
        }
    );
    let added = with(lead_record(), "DATE_MODIFY", Value::Null);
    assert_eq!(
        lead(&added).unwrap().occurred_at,
        at("2024-03-04T07:00:00Z"),
        "falls back to DATE_CREATE"
    );
    let error = lead(&with(lead_record(), "PHONE", json!({"VALUE": "1"}))).unwrap_err();
    assert_eq!((error.kind(), error.field()), ("bad_value", Some("PHONE")));
    let plain = lead(&with(lead_record(), "PHONE", json!("+79991234567"))).unwrap();
    assert_eq!(plain.phone.as_deref(), Some("+79991234567"));
    let unassigned = lead(&with(lead_record(), "ASSIGNED_BY_ID", json!("0"))).unwrap();
    assert_eq!(unassigned.manager_id, None);
}

#[test]
fn the_tenant_comes_from_the_topic_options() {
    let options = Bitrix24Options {
        tenant: Some("acme".into()),
        ..Bitrix24Options::default()
    };
    let record = decode_call(&bytes(&statistic_row()), &options).unwrap();
    assert_eq!(record.tenant(), "acme");
    let lead = decode_lead(&bytes(&lead_record()), &options).unwrap();
    assert_eq!(lead.tenant(), "acme");
}
