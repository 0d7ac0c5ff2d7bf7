//! What the engine reports about leads' contact data and activity, for a contact directory kept
//! outside it (SPEC §4.8 phone resolution, duplicate leads; `crate::contacts`).

use std::sync::Arc;

use super::lead::Secs;

/// A lead event as the contact directory needs it: who, when, which contacts, terminal or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadContact {
    pub tenant: Arc<str>,
    pub lead_id: Box<str>,
    /// Event time (`occurred_at`).
    pub at: Secs,
    /// Hash of the event id: orders events of equal time, the same way in every replica.
    pub event_key: u64,
    /// `created_at`, else `occurred_at`.
    pub created: Secs,
    /// The stage after the event is rejected or converted (configuration's stage kinds).
    pub terminal: bool,
    pub manager_id: Option<Box<str>>,
    /// Raw contact fields as the CRM wrote them (normalised by the directory).
    pub phone: Option<Box<str>>,
    pub email: Option<Box<str>>,
}

/// One change for the contact directory, in the order the engine accepted its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactUpdate {
    /// A new (not repeated) lead event, reported on arrival, late or not.
    Lead(LeadContact),
    /// A new outbound call bound to the lead: an attempt, i.e. activity (SPEC §4.6) at `at`.
    Attempt {
        tenant: Arc<str>,
        lead_id: Box<str>,
        at: Secs,
    },
    /// The engine forgot the lead (`[state]` retention): so should the directory.
    Forget { tenant: Arc<str>, lead_id: Box<str> },
}

impl ContactUpdate {
    pub fn tenant(&self) -> &str {
        match self {
            ContactUpdate::Lead(lead) => &lead.tenant,
            ContactUpdate::Attempt { tenant, .. } | ContactUpdate::Forget { tenant, .. } => tenant,
        }
    }

    /// An attempt (activity), as opposed to a lead event or a forgotten lead.
    pub fn is_attempt(&self) -> bool {
        matches!(self, ContactUpdate::Attempt { .. })
    }

    pub fn lead_id(&self) -> &str {
        match self {
            ContactUpdate::Lead(lead) => &lead.lead_id,
            ContactUpdate::Attempt { lead_id, .. } | ContactUpdate::Forget { lead_id, .. } => {
                lead_id
            }
        }
    }
}
