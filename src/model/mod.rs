//! The event model: inputs (calls, lead events), outputs (violations, QC reviews), time.

mod call;
mod finding;
mod lead;
mod time;

pub use call::{CallRecord, Direction, Disposition};
pub use finding::{Finding, MatchedOn, QcKind, QcReview, Rule, Violation};
pub use lead::LeadEvent;
pub use time::{Timestamp, TimestampError};

/// Tenant used when an input record has none.
pub const DEFAULT_TENANT: &str = "default";

/// A record that decoded but does not satisfy the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("field `{0}` must not be empty")]
    Empty(&'static str),
}

fn require_non_empty(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::Empty(field));
    }
    Ok(())
}

fn optional_non_empty(field: &'static str, value: Option<&str>) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |v| require_non_empty(field, v))
}

/// An input event of either kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputEvent<'a> {
    Call(CallRecord<'a>),
    Lead(LeadEvent<'a>),
}

impl InputEvent<'_> {
    /// A copy that owns its strings.
    pub fn into_owned(self) -> InputEvent<'static> {
        match self {
            InputEvent::Call(call) => InputEvent::Call(call.into_owned()),
            InputEvent::Lead(lead) => InputEvent::Lead(lead.into_owned()),
        }
    }

    /// The lead the record is about (`None` for a call to be resolved by phone).
    pub fn lead_id(&self) -> Option<&str> {
        match self {
            InputEvent::Call(call) => call.lead_id.as_deref(),
            InputEvent::Lead(lead) => Some(&lead.lead_id),
        }
    }

    /// The event time used for ordering and watermarks.
    pub fn event_time(&self) -> Timestamp {
        match self {
            InputEvent::Call(call) => call.started_at,
            InputEvent::Lead(lead) => lead.occurred_at,
        }
    }
}
