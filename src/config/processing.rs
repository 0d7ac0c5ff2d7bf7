//! `[processing]`: delivery guarantee, commit cadence, idle partitions (SPEC §6).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::{self, key};
use super::{ConfigError, Section};

/// The delivery guarantee of outputs relative to consumed offsets (SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Guarantee {
    /// Outputs and consumed offsets commit together in one Kafka transaction.
    #[default]
    ExactlyOnce,
    /// Offsets are committed after the outputs are acknowledged; a crash may duplicate outputs.
    AtLeastOnce,
}

impl Guarantee {
    /// The name used in the configuration file: `"exactly_once"` or `"at_least_once"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Guarantee::ExactlyOnce => "exactly_once",
            Guarantee::AtLeastOnce => "at_least_once",
        }
    }

    fn parse(key: &str, text: &str) -> Result<Guarantee, ConfigError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "exactly_once" => Ok(Guarantee::ExactlyOnce),
            "at_least_once" => Ok(Guarantee::AtLeastOnce),
            _ => Err(ConfigError::invalid(
                key,
                format!(
                    "unknown guarantee {text:?}; expected \"exactly_once\" or \"at_least_once\""
                ),
            )),
        }
    }
}

impl fmt::Display for Guarantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[processing]` as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProcessing {
    pub guarantee: Option<String>,
    pub commit_interval: Option<String>,
    pub max_batch: Option<i64>,
    pub alignment_buffer: Option<i64>,
    pub held_changelog_kib: Option<i64>,
    pub idle_timeout: Option<String>,
    pub transactional_id: Option<String>,
}

/// How input is processed and committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessingConfig {
    pub guarantee: Guarantee,
    /// How often the open batch (outputs and consumed offsets) is committed; 1 ms to 1 h.
    pub commit_interval: Duration,
    /// The batch is committed early once it holds this many input records; 1 to 1 000 000.
    pub max_batch: usize,
    /// Records of one input partition buffered for event-time alignment above which the
    /// partition is paused (resumed below a 25th of it) — and lead events waiting for the
    /// watermark in a task ahead of the slowest above which both its inputs are; 10 to 50 000.
    pub alignment_buffer: usize,
    /// At-least-once: KiB of changelog a closed batch holds while its outputs are acknowledged;
    /// beyond them it waits for the acknowledgements and writes the rest as it encodes it
    /// (0: always waits); 0 to 1 048 576.
    pub held_changelog_kib: usize,
    /// After this long without records a partition's event-time clock follows the wall clock;
    /// at least 1 s.
    pub idle_timeout: Duration,
    /// Transactional id of the producer under exactly-once; derived by the service when none.
    pub transactional_id: Option<String>,
}

/// Bounds of `commit_interval`.
const MIN_COMMIT_INTERVAL: Duration = Duration::from_millis(1);
const MAX_COMMIT_INTERVAL: Duration = Duration::from_secs(3_600);
/// Upper bound of `max_batch`.
const MAX_BATCH_LIMIT: u32 = 1_000_000;
/// Bounds of `alignment_buffer` (beyond 100 000 records alignment is given up).
const MIN_ALIGNMENT_BUFFER: u32 = 10;
const MAX_ALIGNMENT_BUFFER: u32 = 50_000;
/// Upper bound of `held_changelog_kib` (1 GiB).
const MAX_HELD_CHANGELOG_KIB: u32 = 1 << 20;
/// Lower bound of `idle_timeout`.
const MIN_IDLE_TIMEOUT: Duration = Duration::from_secs(1);

impl Default for ProcessingConfig {
    /// Exactly-once, committing every 100 ms or 10 000 records, pausing a partition 50 000
    /// records ahead, holding up to 16 MiB of changelog per at-least-once batch, idle
    /// partitions after 30 s.
    fn default() -> Self {
        ProcessingConfig {
            guarantee: Guarantee::ExactlyOnce,
            commit_interval: Duration::from_millis(100),
            max_batch: 10_000,
            alignment_buffer: 50_000,
            held_changelog_kib: 16_384,
            idle_timeout: Duration::from_secs(30),
            transactional_id: None,
        }
    }
}

impl Section for ProcessingConfig {
    type Raw = RawProcessing;

    fn overlay(&self, raw: &RawProcessing, table: &str) -> Result<Self, ConfigError> {
        let mut out = self.clone();
        if let Some(text) = &raw.guarantee {
            out.guarantee = Guarantee::parse(&key(table, "guarantee"), text)?;
        }
        if let Some(text) = &raw.commit_interval {
            let key = key(table, "commit_interval");
            let interval = values::duration(&key, text)?;
            if !(MIN_COMMIT_INTERVAL..=MAX_COMMIT_INTERVAL).contains(&interval) {
                return Err(ConfigError::invalid(
                    key,
                    format!("must be between 1ms and 1h, got {text:?}"),
                ));
            }
            out.commit_interval = interval;
        }
        if let Some(count) = raw.max_batch {
            let count = values::bounded(&key(table, "max_batch"), count, 1, MAX_BATCH_LIMIT)?;
            out.max_batch = usize::try_from(count).unwrap_or(usize::MAX);
        }
        if let Some(count) = raw.alignment_buffer {
            let key = key(table, "alignment_buffer");
            let count = values::bounded(&key, count, MIN_ALIGNMENT_BUFFER, MAX_ALIGNMENT_BUFFER)?;
            out.alignment_buffer = usize::try_from(count).unwrap_or(usize::MAX);
        }
        if let Some(kib) = raw.held_changelog_kib {
            let key = key(table, "held_changelog_kib");
            let kib = values::bounded(&key, kib, 0, MAX_HELD_CHANGELOG_KIB)?;
            out.held_changelog_kib = usize::try_from(kib).unwrap_or(usize::MAX);
        }
        if let Some(text) = &raw.idle_timeout {
            let key = key(table, "idle_timeout");
            let timeout = values::duration(&key, text)?;
            if timeout < MIN_IDLE_TIMEOUT {
                return Err(ConfigError::invalid(
                    key,
                    format!("must be at least 1s, got {text:?}"),
                ));
            }
            out.idle_timeout = timeout;
        }
        if let Some(id) = &raw.transactional_id {
            values::name(&key(table, "transactional_id"), id)?;
            out.transactional_id = Some(id.clone());
        }
        Ok(out)
    }

    fn to_raw(&self) -> RawProcessing {
        RawProcessing {
            guarantee: Some(self.guarantee.as_str().to_owned()),
            commit_interval: Some(values::format_duration(self.commit_interval)),
            max_batch: Some(i64::try_from(self.max_batch).unwrap_or(i64::MAX)),
            alignment_buffer: Some(i64::try_from(self.alignment_buffer).unwrap_or(i64::MAX)),
            held_changelog_kib: Some(i64::try_from(self.held_changelog_kib).unwrap_or(i64::MAX)),
            idle_timeout: Some(values::format_duration(self.idle_timeout)),
            transactional_id: self.transactional_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_raw_overlays_back_to_the_same_processing_config() {
        let config = ProcessingConfig {
            guarantee: Guarantee::AtLeastOnce,
            commit_interval: Duration::from_micros(2_500),
            max_batch: 1,
            alignment_buffer: 10,
            held_changelog_kib: 0,
            idle_timeout: Duration::from_secs(3_600),
            transactional_id: Some("dozvon-eu-1".into()),
        };
        let again = ProcessingConfig::default().overlay(&config.to_raw(), "processing");
        assert_eq!(again.unwrap(), config);
    }

    #[test]
    fn bounds_name_the_key() {
        let raw = RawProcessing {
            commit_interval: Some("2h".into()),
            ..RawProcessing::default()
        };
        let error = ProcessingConfig::default()
            .overlay(&raw, "processing")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "processing.commit_interval: must be between 1ms and 1h, got \"2h\""
        );
    }
}
