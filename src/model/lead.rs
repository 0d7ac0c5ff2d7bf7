//! Lead event (SPEC §1.2): a CRM stage change of one lead.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{DEFAULT_TENANT, Timestamp, ValidationError};

/// A lead's stage change as the CRM reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadEvent<'a> {
    #[serde(borrow)]
    pub event_id: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub lead_id: Cow<'a, str>,
    pub occurred_at: Timestamp,
    #[serde(borrow)]
    pub stage: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<Cow<'a, str>>,
}

impl LeadEvent<'_> {
    /// The tenant, `"default"` when absent.
    pub fn tenant(&self) -> &str {
        self.tenant.as_deref().unwrap_or(DEFAULT_TENANT)
    }

    /// Checks what the types cannot: required strings are non-empty.
    pub fn validate(&self) -> Result<(), ValidationError> {
        super::require_non_empty("event_id", &self.event_id)?;
        super::require_non_empty("lead_id", &self.lead_id)?;
        super::require_non_empty("stage", &self.stage)?;
        super::optional_non_empty("tenant", self.tenant.as_deref())?;
        Ok(())
    }

    /// A copy that owns its strings.
    pub fn into_owned(self) -> LeadEvent<'static> {
        fn own(s: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
            s.map(|s| Cow::Owned(s.into_owned()))
        }
        LeadEvent {
            event_id: Cow::Owned(self.event_id.into_owned()),
            tenant: own(self.tenant),
            lead_id: Cow::Owned(self.lead_id.into_owned()),
            occurred_at: self.occurred_at,
            stage: Cow::Owned(self.stage.into_owned()),
            manager_id: own(self.manager_id),
            created_at: self.created_at,
            channel: own(self.channel),
            phone: own(self.phone),
            email: own(self.email),
            rejection_reason: own(self.rejection_reason),
        }
    }
}
