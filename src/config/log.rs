//! `[log]`: the format of the service's log lines (the level comes from `RUST_LOG`).

use serde::{Deserialize, Serialize};

use super::values::key;
use super::{ConfigError, Section};

/// `[log]` as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    pub format: Option<String>,
}

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (colours only on a terminal).
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    pub fn parse(text: &str) -> Option<LogFormat> {
        match text.trim() {
            "pretty" => Some(LogFormat::Pretty),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
        }
    }
}

/// The `[log]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogConfig {
    /// `DOZVON_LOG_FORMAT` in the environment overrides it.
    pub format: LogFormat,
}

impl Section for LogConfig {
    type Raw = RawLog;

    fn overlay(&self, raw: &RawLog, table: &str) -> Result<Self, ConfigError> {
        let mut out = self.clone();
        if let Some(text) = &raw.format {
            out.format = LogFormat::parse(text).ok_or_else(|| {
                ConfigError::invalid(
                    key(table, "format"),
                    format!("must be \"pretty\" or \"json\", got {text:?}"),
                )
            })?;
        }
        Ok(out)
    }

    fn to_raw(&self) -> RawLog {
        RawLog {
            format: Some(self.format.as_str().to_owned()),
        }
    }
}
