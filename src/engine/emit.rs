//! Builders for the findings the rules emit, with their deterministic ids.

use chrono::NaiveDate;

use super::context::TenantContext;
use super::ids::{IdPart, finding_id, finding_id_of};
use super::lead::{LeadState, Secs};
use crate::model::{Finding, QcKind, QcReview, Rule, Violation};

/// Id of the daily finding for `day` of the episode that started at `episode_start`.
pub fn daily_id(
    ctx: &TenantContext,
    lead: &LeadState,
    episode_start: Secs,
    day: NaiveDate,
) -> String {
    finding_id_of(&[
        IdPart::Text("daily"),
        IdPart::Text(&ctx.name),
        IdPart::Text(&lead.lead_id),
        IdPart::Secs(episode_start),
        IdPart::Date(day),
    ])
}

pub fn sla_id(ctx: &TenantContext, lead: &LeadState, created: Secs) -> String {
    finding_id_of(&[
        IdPart::Text("sla"),
        IdPart::Text(&ctx.name),
        IdPart::Text(&lead.lead_id),
        IdPart::Secs(created),
    ])
}

/// A violation pre-filled with tenant, lead, manager and detection time.
pub fn violation(
    ctx: &TenantContext,
    lead: &LeadState,
    id: String,
    rule: Rule,
    detected_at: Secs,
) -> Violation {
    let mut v = Violation::new(
        id,
        rule,
        &ctx.name,
        &lead.lead_id,
        TenantContext::ts(detected_at),
    );
    v.manager_id = ctx.name_of(lead.manager);
    v.stage = lead.stage.and_then(|s| ctx.name_of(s.stage));
    v
}

/// A retraction of `retracted`, detected at `at`.
pub fn retraction(ctx: &TenantContext, lead: &LeadState, retracted: String, at: Secs) -> Finding {
    let id = finding_id(&["retraction", &retracted]);
    let mut v = violation(ctx, lead, id, Rule::Retraction, at);
    v.retracts = Some(retracted);
    Finding::Violation(v)
}

/// A QC review pre-filled with tenant, lead, manager and detection time.
pub fn qc_review(
    ctx: &TenantContext,
    lead: &LeadState,
    id: String,
    kind: QcKind,
    detected_at: Secs,
) -> QcReview {
    QcReview {
        review_id: id,
        kind,
        tenant: ctx.name.to_string(),
        lead_id: lead.lead_id.to_string(),
        manager_id: ctx.name_of(lead.manager),
        call_id: None,
        recording_url: None,
        talk_seconds: None,
        premature: false,
        detected_at: TenantContext::ts(detected_at),
        rejection_reason: None,
        stage: lead.stage.and_then(|s| ctx.name_of(s.stage)),
        attempts_total: None,
        earlier_lead_id: None,
        earlier_manager_id: None,
        matched_on: None,
    }
}
