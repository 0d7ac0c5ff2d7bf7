//! `[formats.asterisk]`: options of the Asterisk CDR mapper and leg merger, used by `[kafka.format] calls = "asterisk"`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::{self, key};
use super::{ConfigError, Section};
use crate::formats::{AsteriskOptions, ManagerSource};

/// Largest `internal_max_digits`: E.164 numbers have up to 15 digits, so longer extensions
/// would swallow every client number.
const MAX_INTERNAL_DIGITS: u32 = 14;
/// Upper bound of `settle`: legs of one hangup are dispatched together.
const MAX_SETTLE: Duration = Duration::from_secs(3_600);
/// Upper bound of `idle_timeout`: an open call holds its legs in memory until then.
const MAX_IDLE_TIMEOUT: Duration = Duration::from_secs(86_400);

/// `[formats.asterisk]` as written: every key optional (docs/formats.md, "Wiring").
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAsterisk {
    /// Tenant of every call of the Asterisk input; `""` for none (= `"default"`).
    pub tenant: Option<String>,
    pub timezone: Option<String>,
    pub internal_max_digits: Option<i64>,
    pub manager: Option<String>,
    pub lead_id_prefix: Option<String>,
    pub recording_url_prefix: Option<String>,
    pub settle: Option<String>,
    pub idle_timeout: Option<String>,
}

fn manager_name(source: ManagerSource) -> &'static str {
    match source {
        ManagerSource::Account => "account",
        ManagerSource::Extension => "extension",
    }
}

/// Empty, or without outer whitespace (an empty prefix means "none").
fn optional_text(key: &str, text: &str) -> Result<String, ConfigError> {
    if !text.is_empty() {
        values::name(key, text)?;
    }
    Ok(text.to_owned())
}

fn bounded_duration(key: &str, text: &str, max: Duration) -> Result<Duration, ConfigError> {
    let value = values::duration(key, text)?;
    if value > max {
        let max = values::format_duration(max);
        return Err(ConfigError::invalid(
            key,
            format!("must be at most {max}, got {text:?}"),
        ));
    }
    Ok(value)
}

impl Section for AsteriskOptions {
    type Raw = RawAsterisk;

    fn overlay(&self, raw: &RawAsterisk, table: &str) -> Result<Self, ConfigError> {
        let mut out = self.clone();
        if let Some(tenant) = &raw.tenant {
            out.tenant = if tenant.is_empty() {
                None
            } else {
                values::name(&key(table, "tenant"), tenant)?;
                Some(tenant.clone())
            };
        }
        if let Some(name) = &raw.timezone {
            out.timezone = values::timezone(&key(table, "timezone"), name)?;
        }
        if let Some(digits) = raw.internal_max_digits {
            let key = key(table, "internal_max_digits");
            let digits = values::bounded(&key, digits, 1, MAX_INTERNAL_DIGITS)?;
            out.internal_max_digits = u8::try_from(digits).unwrap_or(u8::MAX);
        }
        if let Some(text) = &raw.manager {
            out.manager = match text.trim().to_ascii_lowercase().as_str() {
                "account" => ManagerSource::Account,
                "extension" => ManagerSource::Extension,
                _ => {
                    return Err(ConfigError::invalid(
                        key(table, "manager"),
                        format!(
                            "unknown manager source {text:?}; expected \"account\" or \"extension\""
                        ),
                    ));
                }
            };
        }
        if let Some(text) = &raw.lead_id_prefix {
            out.lead_id_prefix = optional_text(&key(table, "lead_id_prefix"), text)?;
        }
        if let Some(text) = &raw.recording_url_prefix {
            out.recording_url_prefix = optional_text(&key(table, "recording_url_prefix"), text)?;
        }
        if let Some(text) = &raw.settle {
            out.settle = bounded_duration(&key(table, "settle"), text, MAX_SETTLE)?;
        }
        if let Some(text) = &raw.idle_timeout {
            out.idle_timeout =
                bounded_duration(&key(table, "idle_timeout"), text, MAX_IDLE_TIMEOUT)?;
        }
        // A call whose root leg never came is less surely complete than one whose root did.
        if out.idle_timeout < out.settle {
            let (idle, settle) = (
                values::format_duration(out.idle_timeout),
                values::format_duration(out.settle),
            );
            return Err(ConfigError::invalid(
                key(table, "idle_timeout"),
                format!("must be at least settle ({settle}), got {idle:?}"),
            ));
        }
        Ok(out)
    }

    fn to_raw(&self) -> RawAsterisk {
        RawAsterisk {
            tenant: Some(self.tenant.clone().unwrap_or_default()),
            timezone: Some(self.timezone.name().to_owned()),
            internal_max_digits: Some(i64::from(self.internal_max_digits)),
            manager: Some(manager_name(self.manager).to_owned()),
            lead_id_prefix: Some(self.lead_id_prefix.clone()),
            recording_url_prefix: Some(self.recording_url_prefix.clone()),
            settle: Some(values::format_duration(self.settle)),
            idle_timeout: Some(values::format_duration(self.idle_timeout)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_raw_overlays_back_to_the_same_options() {
        let options = AsteriskOptions {
            tenant: Some("acme".into()),
            timezone: chrono_tz::Asia::Yekaterinburg,
            internal_max_digits: 5,
            manager: ManagerSource::Extension,
            lead_id_prefix: String::new(),
            recording_url_prefix: "https://pbx/rec/".into(),
            settle: Duration::from_millis(1_500),
            idle_timeout: Duration::from_secs(600),
        };
        let base = AsteriskOptions::default();
        let again = base.overlay(&options.to_raw(), "formats.asterisk");
        assert_eq!(again.unwrap(), options);
        let again = base.overlay(&base.to_raw(), "formats.asterisk");
        assert_eq!(again.unwrap(), base);
    }
}
