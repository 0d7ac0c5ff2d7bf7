//! Call-detail record (SPEC §1.1): one call as the PBX reports it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{DEFAULT_TENANT, Timestamp, ValidationError};

/// Who dialled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Outbound,
    Inbound,
}

/// How the call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Answered,
    NoAnswer,
    Busy,
    Failed,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::Outbound, Direction::Inbound];
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        }
    }
}

impl Disposition {
    pub const ALL: [Disposition; 4] = [
        Disposition::Answered,
        Disposition::NoAnswer,
        Disposition::Busy,
        Disposition::Failed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Answered => "answered",
            Disposition::NoAnswer => "no_answer",
            Disposition::Busy => "busy",
            Disposition::Failed => "failed",
        }
    }
}

/// A call-detail record. Strings borrow from the input buffer where the codec allows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord<'a> {
    #[serde(borrow)]
    pub call_id: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub phone: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<Cow<'a, str>>,
    pub direction: Direction,
    pub started_at: Timestamp,
    pub talk_seconds: u32,
    pub disposition: Disposition,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<Cow<'a, str>>,
}

impl CallRecord<'_> {
    /// The tenant, `"default"` when absent.
    pub fn tenant(&self) -> &str {
        self.tenant.as_deref().unwrap_or(DEFAULT_TENANT)
    }

    /// Checks what the types cannot: required strings are non-empty.
    pub fn validate(&self) -> Result<(), ValidationError> {
        super::require_non_empty("call_id", &self.call_id)?;
        super::require_non_empty("phone", &self.phone)?;
        super::optional_non_empty("tenant", self.tenant.as_deref())?;
        super::optional_non_empty("lead_id", self.lead_id.as_deref())?;
        Ok(())
    }

    /// A copy that owns its strings.
    pub fn into_owned(self) -> CallRecord<'static> {
        CallRecord {
            call_id: Cow::Owned(self.call_id.into_owned()),
            tenant: self.tenant.map(|s| Cow::Owned(s.into_owned())),
            lead_id: self.lead_id.map(|s| Cow::Owned(s.into_owned())),
            phone: Cow::Owned(self.phone.into_owned()),
            manager_id: self.manager_id.map(|s| Cow::Owned(s.into_owned())),
            direction: self.direction,
            started_at: self.started_at,
            talk_seconds: self.talk_seconds,
            disposition: self.disposition,
            recording_url: self.recording_url.map(|s| Cow::Owned(s.into_owned())),
        }
    }
}
