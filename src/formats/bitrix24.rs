//! Bitrix24 telephony: a call-statistics row or call-end event as a `CallRecord`, plus the options.
//
// Field names and code tables follow the public REST docs (github.com/bitrix24/b24restdocs =
// apidocs.bitrix24.com), `api-reference/telephony/`: `voximplant/voximplant-statistic-get.md`,
// `voximplant/events/on-voximplant-call-end.md`, `telephony-external-call-finish.md`,
// `telephony-external-call-register.md`, `codes-and-types.md`. docs/formats.md has the table.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::FormatError;
use super::bitrix24_lead::Bitrix24LeadMapping;
use super::fields::{Fields, parse_object};
use crate::model::{CallRecord, Direction, Disposition, LeadEvent};

/// How one Bitrix24 topic is read: `[formats.bitrix24]`-style options, every key optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bitrix24Options {
    /// Tenant stamped on every record of the topic; `None` leaves it absent (= `"default"`).
    /// Bitrix24 payloads carry no tenant of their own: one portal per topic.
    pub tenant: Option<String>,
    /// How lead stages (`STATUS_ID`, `STATUS_SEMANTIC_ID`) become dozvon stage ids.
    pub leads: Bitrix24LeadMapping,
}

/// Call id.
const CALL_ID: &[&str] = &["CALL_ID"];
/// Call type: `CALL_TYPE` in statistics and events, `TYPE` in `externalCall.register`,
/// `INCOMING` in the result of `externalCall.finish`.
const CALL_TYPE: &[&str] = &["CALL_TYPE", "TYPE", "INCOMING"];
const PHONE: &[&str] = &["PHONE_NUMBER"];
const START: &[&str] = &["CALL_START_DATE"];
/// Completion code: `CALL_FAILED_CODE` in statistics, `STATUS_CODE` in `externalCall.finish`.
const CODE: &[&str] = &["CALL_FAILED_CODE", "STATUS_CODE"];
const DURATION: &[&str] = &["CALL_DURATION", "DURATION"];
const USER: &[&str] = &["PORTAL_USER_ID", "USER_ID"];
const RECORD: &[&str] = &["CALL_RECORD_URL", "RECORD_URL"];
const ENTITY_TYPE: &[&str] = &["CRM_ENTITY_TYPE"];
const ENTITY_ID: &[&str] = &["CRM_ENTITY_ID"];

/// Decodes one call: a statistics row, the webhook body `{"event": …, "data": {row}}`, a REST
/// response `{"result": {row}}`, or `externalCall.finish` params merged with `register`'s.
pub fn decode_call(
    bytes: &[u8],
    options: &Bitrix24Options,
) -> Result<CallRecord<'static>, FormatError> {
    let map = parse_object(bytes)?;
    call_from(unwrap_payload(&map), options)
}

/// Decodes one lead record (`crm.lead.get` result) into a lead event; see [`Bitrix24LeadMapping`].
pub fn decode_lead(
    bytes: &[u8],
    options: &Bitrix24Options,
) -> Result<LeadEvent<'static>, FormatError> {
    let map = parse_object(bytes)?;
    let mut fields = unwrap_payload(&map);
    if let Some(inner) = fields.object("FIELDS") {
        fields = inner; // an ONCRMLEAD* body that a relay enriched in place
    }
    super::bitrix24_lead::lead_from(fields, options)
}

/// The record inside a webhook body (`data`) or a REST response (`result`), else the object itself.
fn unwrap_payload(map: &Map<String, Value>) -> Fields<'_> {
    let outer = Fields(map);
    outer
        .object("data")
        .or_else(|| outer.object("result"))
        .unwrap_or(outer)
}

fn call_from(
    fields: Fields<'_>,
    options: &Bitrix24Options,
) -> Result<CallRecord<'static>, FormatError> {
    let call_id = fields.required_text(CALL_ID)?;
    let direction = direction(&fields.required_text(CALL_TYPE)?)?;
    let phone = fields.required_text(PHONE)?;
    let started_at = fields
        .instant(START)?
        .ok_or_else(|| FormatError::missing(START[0]))?;
    let duration = fields.seconds(DURATION)?.unwrap_or(0);
    // `externalCall.finish` defaults STATUS_CODE to 200 when DURATION > 0, else 304.
    let code = fields
        .text(CODE)?
        .unwrap_or_else(|| if duration > 0 { "200" } else { "304" }.to_owned());
    let disposition = disposition(&code)?;
    let talk_seconds = if disposition == Disposition::Answered {
        duration
    } else {
        0 // SPEC §1.1: 0 when not answered, whatever the PBX counted
    };
    Ok(CallRecord {
        call_id: Cow::Owned(call_id),
        tenant: options.tenant.clone().map(Cow::Owned),
        lead_id: bound_lead(fields)?.map(Cow::Owned),
        phone: Cow::Owned(phone),
        manager_id: fields.id(USER)?.map(Cow::Owned),
        direction,
        started_at,
        talk_seconds,
        disposition,
        recording_url: fields.text(RECORD)?.map(Cow::Owned),
    })
}

/// `CALL_TYPE`: 1 outgoing, 2 incoming, 3 incoming redirected, 4 callback, 5 informational.
pub fn direction(code: &str) -> Result<Direction, FormatError> {
    match code {
        "1" => Ok(Direction::Outbound),
        "2" | "3" => Ok(Direction::Inbound),
        // A callback ordered in a CRM form: the portal dials the client for the manager.
        "4" => Ok(Direction::Outbound),
        "5" => Err(FormatError::not_applicable(
            CALL_TYPE[0],
            code,
            "an informational (robot) call, not a manager's call",
        )),
        other => Err(FormatError::unknown(CALL_TYPE[0], other)),
    }
}

/// `CALL_FAILED_CODE` / `STATUS_CODE` (SIP-like) to a disposition; undocumented codes that
/// look like SIP codes (`487`, `408`) are failures, anything else is refused.
pub fn disposition(code: &str) -> Result<Disposition, FormatError> {
    match code {
        "200" => Ok(Disposition::Answered),
        // 304 missed; 603-S the caller cancelled before an answer ("Decline self").
        "304" | "603-S" => Ok(Disposition::NoAnswer),
        // 486 busy; 603 the client rejected the call: the line rang and was refused.
        "486" | "603" => Ok(Disposition::Busy),
        "OTHER" => Ok(Disposition::Failed),
        other if looks_like_sip_code(other) => Ok(Disposition::Failed),
        other => Err(FormatError::unknown(CODE[0], other)),
    }
}

/// Three digits, optionally followed by `-` and a short alphanumeric suffix (`603-S`).
fn looks_like_sip_code(code: &str) -> bool {
    let (number, suffix) = code.split_once('-').unwrap_or((code, ""));
    number.len() == 3
        && number.bytes().all(|b| b.is_ascii_digit())
        && suffix.len() <= 8
        && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
        && !(code.contains('-') && suffix.is_empty())
}

/// `CRM_ENTITY_ID` when `CRM_ENTITY_TYPE` is `LEAD`; contacts, companies and deals are not
/// leads, so such calls go to phone resolution (SPEC §4.8).
fn bound_lead(fields: Fields<'_>) -> Result<Option<String>, FormatError> {
    let is_lead = fields
        .text(ENTITY_TYPE)?
        .is_some_and(|kind| kind.eq_ignore_ascii_case("LEAD"));
    if !is_lead {
        return Ok(None);
    }
    fields.id(ENTITY_ID)
}
