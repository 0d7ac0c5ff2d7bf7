//! Outputs (SPEC §5): violations (with retractions) and QC-review requests.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Timestamp;

/// The rule a violation record reports; `Retraction` cancels an earlier violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    NoAttemptsToday,
    DailyAttemptsShortfall,
    PrematureRejection,
    FirstCallSlaBreach,
    StaleLead,
    Retraction,
}

impl Rule {
    pub const ALL: [Rule; 6] = [
        Rule::NoAttemptsToday,
        Rule::DailyAttemptsShortfall,
        Rule::PrematureRejection,
        Rule::FirstCallSlaBreach,
        Rule::StaleLead,
        Rule::Retraction,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NoAttemptsToday => "no_attempts_today",
            Rule::DailyAttemptsShortfall => "daily_attempts_shortfall",
            Rule::PrematureRejection => "premature_rejection",
            Rule::FirstCallSlaBreach => "first_call_sla_breach",
            Rule::StaleLead => "stale_lead",
            Rule::Retraction => "retraction",
        }
    }
    pub fn parse(text: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.as_str() == text)
    }
    /// Position in [`Rule::ALL`] (declaration order), for per-rule arrays.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// What QC is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QcKind {
    CallListen,
    RejectionRecheck,
    /// A new lead shares a phone or e-mail with an earlier open lead (docs/contacts.md).
    DuplicateLead,
}

impl QcKind {
    pub const ALL: [QcKind; 3] = [
        QcKind::CallListen,
        QcKind::RejectionRecheck,
        QcKind::DuplicateLead,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            QcKind::CallListen => "call_listen",
            QcKind::RejectionRecheck => "rejection_recheck",
            QcKind::DuplicateLead => "duplicate_lead",
        }
    }
    pub fn parse(text: &str) -> Option<QcKind> {
        QcKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
    /// Position in [`QcKind::ALL`] (declaration order), for per-kind arrays.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Which contact of a `duplicate_lead` matched the earlier lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedOn {
    Phone,
    Email,
}

impl MatchedOn {
    pub const ALL: [MatchedOn; 2] = [MatchedOn::Phone, MatchedOn::Email];
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedOn::Phone => "phone",
            MatchedOn::Email => "email",
        }
    }
    pub fn parse(text: &str) -> Option<MatchedOn> {
        MatchedOn::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// A violation of the regulation, or a retraction of one (`rule = retraction`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub violation_id: String,
    pub rule: Rule,
    pub tenant: String,
    pub lead_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<String>,
    /// Local business day the daily rules judged (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_day: Option<NaiveDate>,
    /// Event time at which the rule fired.
    pub detected_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_on_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_total: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<u32>,
    /// Day number within the dialing period (1-based), daily rules only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_of_period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// First-call deadline (SLA rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
    /// Last activity before a quiet spell (stale rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<Timestamp>,
    /// The violation this record cancels (`rule = retraction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retracts: Option<String>,
}

impl Violation {
    /// A violation with only the mandatory fields set.
    pub fn new(
        violation_id: String,
        rule: Rule,
        tenant: &str,
        lead_id: &str,
        detected_at: Timestamp,
    ) -> Self {
        Violation {
            violation_id,
            rule,
            tenant: tenant.to_owned(),
            lead_id: lead_id.to_owned(),
            manager_id: None,
            business_day: None,
            detected_at,
            attempts_on_day: None,
            attempts_total: None,
            required: None,
            day_of_period: None,
            episode_start: None,
            stage: None,
            rejection_reason: None,
            channel: None,
            deadline: None,
            last_activity_at: None,
            retracts: None,
        }
    }
}

/// A request for the QC department.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QcReview {
    pub review_id: String,
    pub kind: QcKind,
    pub tenant: String,
    pub lead_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talk_seconds: Option<u32>,
    /// `rejection_recheck`: the rejection was premature (SPEC §4.2 fired).
    pub premature: bool,
    pub detected_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_total: Option<u32>,
    /// `duplicate_lead`: the earlier open lead with the same phone or e-mail, its manager, and
    /// which contact matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earlier_lead_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earlier_manager_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_on: Option<MatchedOn>,
}

/// Anything the engine emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    Violation(Violation),
    Qc(QcReview),
}

impl Finding {
    pub fn lead_id(&self) -> &str {
        match self {
            Finding::Violation(v) => &v.lead_id,
            Finding::Qc(q) => &q.lead_id,
        }
    }
    pub fn id(&self) -> &str {
        match self {
            Finding::Violation(v) => &v.violation_id,
            Finding::Qc(q) => &q.review_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_the_position_in_all() {
        for (i, rule) in Rule::ALL.into_iter().enumerate() {
            assert_eq!(rule.index(), i);
        }
        for (i, kind) in QcKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
    }
}
