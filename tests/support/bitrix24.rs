//! dozvon input records (SPEC §1) rewritten as the Bitrix24 payloads that map back onto them.
#![allow(dead_code)] // each test binary uses a different part

use serde_json::{Map, Value, json};

/// A call as a `voximplant.statistic.get` row.
pub fn call_row(call: &Value) -> Value {
    let text = |key: &str| call.get(key).and_then(Value::as_str);
    let call_type = match text("direction") {
        Some("inbound") => "2",
        _ => "1",
    };
    let code = match text("disposition") {
        Some("answered") => "200",
        Some("busy") => "486",
        Some("failed") => "503",
        _ => "304",
    };
    let mut row = Map::new();
    row.insert("CALL_ID".into(), json!(text("call_id")));
    row.insert("CALL_TYPE".into(), json!(call_type));
    row.insert("PHONE_NUMBER".into(), json!(text("phone")));
    row.insert("CALL_START_DATE".into(), json!(text("started_at")));
    // Bitrix24 writes numbers as strings in statistics rows.
    let talk = call
        .get("talk_seconds")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    row.insert("CALL_DURATION".into(), json!(talk.to_string()));
    row.insert("CALL_FAILED_CODE".into(), json!(code));
    if let Some(manager) = text("manager_id") {
        row.insert("PORTAL_USER_ID".into(), json!(manager));
    }
    if let Some(lead) = text("lead_id") {
        row.insert("CRM_ENTITY_TYPE".into(), json!("LEAD"));
        row.insert("CRM_ENTITY_ID".into(), json!(lead));
    }
    if let Some(url) = text("recording_url") {
        row.insert("CALL_RECORD_URL".into(), json!(url));
    }
    Value::Object(row)
}

/// A lead event as a `crm.lead.get` record (`{"result": …}`), with the stage passed through.
pub fn lead_record(lead: &Value) -> Value {
    let text = |key: &str| lead.get(key).and_then(Value::as_str);
    let mut record = Map::new();
    record.insert("ID".into(), json!(text("lead_id")));
    record.insert("STATUS_ID".into(), json!(text("stage")));
    record.insert("DATE_MODIFY".into(), json!(text("occurred_at")));
    let optional = [
        ("created_at", "DATE_CREATE"),
        ("manager_id", "ASSIGNED_BY_ID"),
        ("channel", "SOURCE_ID"),
        ("rejection_reason", "STATUS_DESCRIPTION"),
    ];
    for (ours, theirs) in optional {
        if let Some(value) = text(ours) {
            record.insert(theirs.into(), json!(value));
        }
    }
    for (ours, theirs) in [("phone", "PHONE"), ("email", "EMAIL")] {
        if let Some(value) = text(ours) {
            record.insert(
                theirs.into(),
                json!([{"VALUE": value, "VALUE_TYPE": "WORK"}]),
            );
        }
    }
    json!({ "result": record })
}

/// An informational (robot) call: well-formed, but not a manager's attempt.
pub fn robot_call(call_id: &str, lead_id: &str, started_at: &str) -> Value {
    json!({
        "CALL_ID": call_id, "CALL_TYPE": "5", "PHONE_NUMBER": "+79990000000",
        "CALL_START_DATE": started_at, "CALL_DURATION": "12", "CALL_FAILED_CODE": "200",
        "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": lead_id,
    })
}
