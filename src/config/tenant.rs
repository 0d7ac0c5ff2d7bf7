//! `[tenants.NAME]`: one tenant's calendar and rules, layered over the top-level ones.

use serde::{Deserialize, Serialize};

use super::calendar::{CalendarConfig, RawCalendar};
use super::rules::{RawRules, RulesConfig};
use super::values::{self, key};
use super::{ConfigError, Section};

/// A tenant's tables as written; also the top-level `[calendar]` + `[rules]` pair.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTenant {
    pub calendar: Option<RawCalendar>,
    pub rules: Option<RawRules>,
}

/// Everything that may differ between tenants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantConfig {
    pub calendar: CalendarConfig,
    pub rules: RulesConfig,
}

impl Section for TenantConfig {
    type Raw = RawTenant;

    fn overlay(&self, raw: &RawTenant, table: &str) -> Result<Self, ConfigError> {
        Ok(TenantConfig {
            calendar: self
                .calendar
                .overlay_opt(raw.calendar.as_ref(), &key(table, "calendar"))?,
            rules: self
                .rules
                .overlay_opt(raw.rules.as_ref(), &key(table, "rules"))?,
        })
    }

    fn to_raw(&self) -> RawTenant {
        RawTenant {
            calendar: Some(self.calendar.to_raw()),
            rules: Some(self.rules.to_raw()),
        }
    }
}

/// The key path of tenant `name`'s table, quoting the name when it is not a bare TOML key.
pub(crate) fn tenant_table(name: &str) -> String {
    values::quoted_key("tenants", name)
}

/// A tenant name must be usable as the `tenant` field of events: non-empty, no outer spaces.
pub(crate) fn check_tenant_name(name: &str) -> Result<(), ConfigError> {
    if name.trim().is_empty() || name.trim() != name {
        return Err(ConfigError::invalid(
            tenant_table(name),
            "tenant names must be non-empty and must not start or end with whitespace",
        ));
    }
    Ok(())
}
