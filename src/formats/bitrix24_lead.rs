//! Bitrix24 CRM: a lead record (`crm.lead.get`) as a `LeadEvent`, with a configurable stage map.
//
// Fields per b24restdocs `api-reference/crm/leads/crm-lead-fields.md` and `crm-lead-get.md`:
// ID, STATUS_ID, STATUS_SEMANTIC_ID (P in process, S success, F failure), STATUS_DESCRIPTION,
// ASSIGNED_BY_ID, SOURCE_ID, DATE_CREATE, DATE_MODIFY, PHONE / EMAIL (multi-field arrays).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::FormatError;
use super::bitrix24::Bitrix24Options;
use super::fields::Fields;
use crate::model::{LeadEvent, Timestamp};

/// `STATUS_SEMANTIC_ID`: what Bitrix24 itself thinks the stage means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StageSemantic {
    /// `P`: the lead is being processed.
    InProcess,
    /// `S`: processed successfully (converted).
    Success,
    /// `F`: processed unsuccessfully (junk, duplicate, not a target…).
    Failure,
}

impl StageSemantic {
    pub fn parse(code: &str) -> Result<Self, FormatError> {
        match code {
            "P" => Ok(StageSemantic::InProcess),
            "S" => Ok(StageSemantic::Success),
            "F" => Ok(StageSemantic::Failure),
            other => Err(FormatError::unknown("STATUS_SEMANTIC_ID", other)),
        }
    }
}

/// How a lead's Bitrix24 stage becomes the stage id that dozvon's `[stages]` classifies.
///
/// Order: an explicit `stages` entry for the `STATUS_ID` wins; otherwise a lead with semantics
/// `F` gets `failure_stage` and one with `S` gets `success_stage` (so custom failure stages such
/// as `UC_7QX2` count as rejections without listing each one in `[stages]`); otherwise the
/// `STATUS_ID` passes through unchanged. An empty `failure_stage` / `success_stage` turns that
/// collapsing off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bitrix24LeadMapping {
    /// `STATUS_ID` → dozvon stage id, checked first (e.g. `"UC_CALLBACK" = "IN_PROCESS"`).
    pub stages: BTreeMap<String, String>,
    /// Stage id for a lead with `STATUS_SEMANTIC_ID = F`; default `"JUNK"` (`[stages].rejected`).
    pub failure_stage: String,
    /// Stage id for a lead with `STATUS_SEMANTIC_ID = S`; default `"CONVERTED"`.
    pub success_stage: String,
    /// `SOURCE_ID` → dozvon channel (e.g. `"ADVERTISING" = "paid_ads"`); others pass through.
    pub channels: BTreeMap<String, String>,
    /// Field holding the rejection reason of a failed lead (a `UF_CRM_…` field may be named);
    /// default `"STATUS_DESCRIPTION"`, empty for none.
    pub reason_field: String,
}

impl Default for Bitrix24LeadMapping {
    fn default() -> Self {
        Bitrix24LeadMapping {
            stages: BTreeMap::new(),
            failure_stage: "JUNK".to_owned(),
            success_stage: "CONVERTED".to_owned(),
            channels: BTreeMap::new(),
            reason_field: "STATUS_DESCRIPTION".to_owned(),
        }
    }
}

impl Bitrix24LeadMapping {
    /// The dozvon stage id for a Bitrix24 `STATUS_ID` with its semantics.
    pub fn stage<'a>(&'a self, status_id: &'a str, semantic: Option<StageSemantic>) -> &'a str {
        if let Some(stage) = self.stages.get(status_id) {
            return stage;
        }
        let collapsed = match semantic {
            Some(StageSemantic::Failure) => self.failure_stage.as_str(),
            Some(StageSemantic::Success) => self.success_stage.as_str(),
            Some(StageSemantic::InProcess) | None => "",
        };
        if collapsed.is_empty() {
            status_id
        } else {
            collapsed
        }
    }

    /// The dozvon channel for a `SOURCE_ID`.
    pub fn channel<'a>(&'a self, source_id: &'a str) -> &'a str {
        self.channels
            .get(source_id)
            .map_or(source_id, String::as_str)
    }
}

pub(crate) fn lead_from(
    fields: Fields<'_>,
    options: &Bitrix24Options,
) -> Result<LeadEvent<'static>, FormatError> {
    let mapping = &options.leads;
    let lead_id = fields.required_text(&["ID"])?;
    let status_id = fields.required_text(&["STATUS_ID"])?;
    let semantic = fields
        .text(&["STATUS_SEMANTIC_ID"])?
        .map(|code| StageSemantic::parse(&code))
        .transpose()?;
    let created_at = fields.instant(&["DATE_CREATE"])?;
    // DATE_MODIFY is when the record reached this state; a just-added lead may lack it.
    let occurred_at = fields
        .instant(&["DATE_MODIFY"])?
        .or(created_at)
        .ok_or_else(|| FormatError::missing("DATE_MODIFY"))?;
    let stage = mapping.stage(&status_id, semantic).to_owned();
    // Failed: mapped onto the failure stage, or an F stage passed through unmapped.
    let failed = (!mapping.failure_stage.is_empty() && stage == mapping.failure_stage)
        || (semantic == Some(StageSemantic::Failure) && !mapping.stages.contains_key(&status_id));
    let rejection_reason = if failed {
        reason(fields, mapping, &status_id, &stage)?
    } else {
        None
    };
    Ok(LeadEvent {
        event_id: Cow::Owned(event_id(&lead_id, occurred_at, &status_id)),
        tenant: options.tenant.clone().map(Cow::Owned),
        lead_id: Cow::Owned(lead_id),
        occurred_at,
        stage: Cow::Owned(stage),
        manager_id: fields.id(&["ASSIGNED_BY_ID"])?.map(Cow::Owned),
        created_at,
        channel: fields
            .text(&["SOURCE_ID"])?
            .map(|source| Cow::Owned(mapping.channel(&source).to_owned())),
        phone: multi_field(fields, "PHONE")?.map(Cow::Owned),
        email: multi_field(fields, "EMAIL")?.map(Cow::Owned),
        rejection_reason: rejection_reason.map(Cow::Owned),
    })
}

/// Same snapshot ⇒ same id, so a relay that fetches a lead twice publishes a duplicate the
/// engine ignores. DATE_MODIFY has one-second resolution; the stage keeps two changes within
/// one second apart.
fn event_id(lead_id: &str, occurred_at: Timestamp, status_id: &str) -> String {
    format!(
        "b24:lead:{lead_id}:{}:{status_id}",
        occurred_at.millis() / 1000
    )
}

/// The configured reason field, else the original `STATUS_ID` when it was collapsed into the
/// failure stage (a custom failure stage like "Дубль" *is* the reason).
fn reason(
    fields: Fields<'_>,
    mapping: &Bitrix24LeadMapping,
    status_id: &str,
    stage: &str,
) -> Result<Option<String>, FormatError> {
    if !mapping.reason_field.is_empty() {
        let value = match fields.0.get(mapping.reason_field.as_str()) {
            Some(Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        if value.is_some() {
            return Ok(value);
        }
    }
    Ok((status_id != stage).then(|| status_id.to_owned()))
}

/// The first non-blank `VALUE` of a multi-field (`[{"VALUE": "…", "VALUE_TYPE": "WORK"}]`);
/// a plain string is accepted too.
fn multi_field(fields: Fields<'_>, name: &'static str) -> Result<Option<String>, FormatError> {
    let items = match fields.0.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => {
            return Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty()));
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(FormatError::bad(
                name,
                &other.to_string(),
                "expected an array of {\"VALUE\": …} objects",
            ));
        }
    };
    let value = items.iter().find_map(|item| match item.get("VALUE") {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        _ => None,
    });
    Ok(value)
}
