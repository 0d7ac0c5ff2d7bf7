//! `[formats]`: `[formats.bitrix24]` (the Bitrix24 mapper's options) and `[formats.asterisk]` (module `asterisk`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::asterisk::RawAsterisk;
use super::values::{self, key, quoted_key};
use super::{ConfigError, Section};
use crate::formats::{AsteriskOptions, Bitrix24Options};

/// `[formats]` as written: one optional table per foreign format.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFormats {
    pub bitrix24: Option<RawBitrix24>,
    pub asterisk: Option<RawAsterisk>,
}

/// `[formats.bitrix24]` as written: every key optional (docs/formats.md, "Wiring").
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBitrix24 {
    /// Tenant of every record of the Bitrix24 inputs; `""` for none (= `"default"`).
    pub tenant: Option<String>,
    pub failure_stage: Option<String>,
    pub success_stage: Option<String>,
    pub reason_field: Option<String>,
    /// Sub-tables last, so that they print after the plain keys.
    pub stages: Option<BTreeMap<String, String>>,
    pub channels: Option<BTreeMap<String, String>>,
}

/// Options of the foreign input formats, used by the inputs whose `[kafka.format]` names them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatsConfig {
    pub bitrix24: Bitrix24Options,
    pub asterisk: AsteriskOptions,
}

impl Section for FormatsConfig {
    type Raw = RawFormats;

    fn overlay(&self, raw: &RawFormats, table: &str) -> Result<Self, ConfigError> {
        let bitrix24 = match &raw.bitrix24 {
            Some(raw) => overlay_bitrix24(&self.bitrix24, raw, &key(table, "bitrix24"))?,
            None => self.bitrix24.clone(),
        };
        let asterisk = self
            .asterisk
            .overlay_opt(raw.asterisk.as_ref(), &key(table, "asterisk"))?;
        Ok(FormatsConfig { bitrix24, asterisk })
    }

    fn to_raw(&self) -> RawFormats {
        let options = &self.bitrix24;
        let leads = &options.leads;
        RawFormats {
            bitrix24: Some(RawBitrix24 {
                tenant: Some(options.tenant.clone().unwrap_or_default()),
                failure_stage: Some(leads.failure_stage.clone()),
                success_stage: Some(leads.success_stage.clone()),
                reason_field: Some(leads.reason_field.clone()),
                stages: Some(leads.stages.clone()),
                channels: Some(leads.channels.clone()),
            }),
            asterisk: Some(self.asterisk.to_raw()),
        }
    }
}

/// `[formats.bitrix24]` (at `table`) over `base`.
fn overlay_bitrix24(
    base: &Bitrix24Options,
    raw: &RawBitrix24,
    table: &str,
) -> Result<Bitrix24Options, ConfigError> {
    let mut out = base.clone();
    if let Some(tenant) = &raw.tenant {
        out.tenant = if tenant.is_empty() {
            None
        } else {
            values::name(&key(table, "tenant"), tenant)?;
            Some(tenant.clone())
        };
    }
    let leads = &mut out.leads;
    // Empty turns collapsing (or the reason) off, so only outer spaces are refused.
    let texts = [
        (
            "failure_stage",
            &raw.failure_stage,
            &mut leads.failure_stage,
        ),
        (
            "success_stage",
            &raw.success_stage,
            &mut leads.success_stage,
        ),
        ("reason_field", &raw.reason_field, &mut leads.reason_field),
    ];
    for (field, value, slot) in texts {
        if let Some(text) = value {
            if !text.is_empty() {
                values::name(&key(table, field), text)?;
            }
            slot.clone_from(text);
        }
    }
    let maps = [
        ("stages", &raw.stages, &mut leads.stages),
        ("channels", &raw.channels, &mut leads.channels),
    ];
    for (field, value, slot) in maps {
        if let Some(map) = value {
            let map_table = key(table, field);
            for (from, to) in map {
                values::name(&quoted_key(&map_table, from), from)?;
                values::name(&quoted_key(&map_table, from), to)?;
            }
            slot.clone_from(map);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_raw_overlays_back_to_the_same_formats_config() {
        let mut config = FormatsConfig::default();
        config.bitrix24.tenant = Some("acme".into());
        config.bitrix24.leads.failure_stage = String::new();
        config
            .bitrix24
            .leads
            .stages
            .insert("UC_CALLBACK".into(), "IN_PROCESS".into());
        config.asterisk.tenant = Some("pbx".into());
        config.asterisk.settle = std::time::Duration::ZERO;
        let again = FormatsConfig::default().overlay(&config.to_raw(), "formats");
        assert_eq!(again.unwrap(), config);
        let defaults = FormatsConfig::default();
        let again = FormatsConfig::default().overlay(&defaults.to_raw(), "formats");
        assert_eq!(again.unwrap(), defaults);
    }
}
