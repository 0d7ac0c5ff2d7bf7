//! `[state]`: how long per-lead state is kept before eviction.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::{self, key};
use super::{ConfigError, Section};

/// `[state]` as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawState {
    pub terminal_retention: Option<String>,
    pub idle_retention: Option<String>,
}

/// Retention of per-lead state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateConfig {
    /// A lead in a rejected or converted stage is dropped this long after its last event.
    pub terminal_retention: Duration,
    /// Any lead is dropped after this long without events; must be greater than zero.
    pub idle_retention: Duration,
}

const DAY: u64 = 86_400;

impl Default for StateConfig {
    /// 30 days for terminal leads, 90 days for idle ones.
    fn default() -> Self {
        StateConfig {
            terminal_retention: Duration::from_secs(30 * DAY),
            idle_retention: Duration::from_secs(90 * DAY),
        }
    }
}

impl Section for StateConfig {
    type Raw = RawState;

    fn overlay(&self, raw: &RawState, table: &str) -> Result<Self, ConfigError> {
        let mut out = self.clone();
        if let Some(text) = &raw.terminal_retention {
            out.terminal_retention = values::duration(&key(table, "terminal_retention"), text)?;
        }
        if let Some(text) = &raw.idle_retention {
            out.idle_retention = values::positive_duration(&key(table, "idle_retention"), text)?;
        }
        Ok(out)
    }

    fn to_raw(&self) -> RawState {
        RawState {
            terminal_retention: Some(values::format_duration(self.terminal_retention)),
            idle_retention: Some(values::format_duration(self.idle_retention)),
        }
    }
}
