//! TOML configuration: SPEC defaults, validation with key paths, per-tenant overrides.
//
// Layout: each file section (`[calendar]`, `[rules]`, `[stages]`, `[state]`, `[kafka]`,
// `[processing]`, `[http]`, `[log]`, `[formats]`) lives in its own module as a pair — a `Raw*`
// struct (serde, every key optional, unknown keys refused) and the typed, validated struct —
// joined by the [`Section`] trait: `overlay` applies the keys present in a raw table on top of a
// base value (defaults <- top level <- tenant), `to_raw` prints every key back. Sub-tables with
// rules of their own have a module too (`topic_format`: `[kafka.format]` and `[kafka.encoding]`;
// `asterisk`: `[formats.asterisk]`). Adding a section means: a new module implementing
// `Section`, one field in `RawFile`, one in `Config`, and one line each in `from_raw` and
// `to_raw` below. `[calendar]` and `[rules]` may be overridden per tenant
// (`[tenants.NAME.*]`); the other sections are global.

mod asterisk;
mod calendar;
mod error;
mod formats;
mod holidays;
mod http;
mod kafka;
mod log;
mod processing;
mod rules;
mod stages;
mod state;
mod tenant;
mod topic_format;
mod values;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_path_to_error::Segment;

pub use calendar::CalendarConfig;
pub use error::ConfigError;
pub use formats::FormatsConfig;
pub use http::HttpConfig;
pub use kafka::{KafkaConfig, TopicsConfig};
pub use log::{LogConfig, LogFormat};
pub use processing::{Guarantee, ProcessingConfig};
pub use rules::{MAX_PERIOD_DAYS, MAX_STALE_AFTER_DAYS, RulesConfig};
pub use stages::{StageKind, StagesConfig};
pub use state::StateConfig;
pub use tenant::TenantConfig;
pub use topic_format::{EncodingConfig, FormatConfig, TopicEncoding};

use calendar::RawCalendar;
use formats::RawFormats;
use http::RawHttp;
use kafka::RawKafka;
use log::RawLog;
use processing::RawProcessing;
use rules::RawRules;
use stages::RawStages;
use state::RawState;
use tenant::RawTenant;

/// One table of the file: validation of its raw form on top of a base, and printing back.
pub(crate) trait Section: Clone {
    /// The table as written, every key optional.
    type Raw;

    /// `self` with the keys present in `raw` applied and validated; `table` is the table's key
    /// path (`""` for the root) used in error messages.
    fn overlay(&self, raw: &Self::Raw, table: &str) -> Result<Self, ConfigError>;

    /// Every key of the table, so that `overlay(to_raw())` on any base gives `self` back.
    fn to_raw(&self) -> Self::Raw;

    /// [`Section::overlay`] for an optional table: a missing table changes nothing.
    fn overlay_opt(&self, raw: Option<&Self::Raw>, table: &str) -> Result<Self, ConfigError> {
        raw.map_or_else(|| Ok(self.clone()), |raw| self.overlay(raw, table))
    }
}

/// The whole file as written.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    calendar: Option<RawCalendar>,
    stages: Option<RawStages>,
    rules: Option<RawRules>,
    state: Option<RawState>,
    kafka: Option<RawKafka>,
    processing: Option<RawProcessing>,
    http: Option<RawHttp>,
    log: Option<RawLog>,
    formats: Option<RawFormats>,
    tenants: Option<BTreeMap<String, RawTenant>>,
}

/// The validated configuration of the service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub stages: StagesConfig,
    pub state: StateConfig,
    pub kafka: KafkaConfig,
    pub processing: ProcessingConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    /// Options of the foreign input formats (`[formats.bitrix24]`, `[formats.asterisk]`).
    pub formats: FormatsConfig,
    /// Calendar and rules of every tenant without an override (top-level tables over defaults).
    pub default_tenant: TenantConfig,
    /// Tenants with a `[tenants.NAME]` table, fully resolved over `default_tenant`.
    pub tenants: BTreeMap<String, TenantConfig>,
}

impl Config {
    /// Parses and validates a configuration; missing keys take the SPEC defaults.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|error| ConfigError::from_toml(String::new(), &error, text))?;
        let raw: RawFile = serde_path_to_error::deserialize(deserializer)
            .map_err(|error| ConfigError::from_toml(key_path(error.path()), error.inner(), text))?;
        Config::from_raw(&raw)
    }

    /// Reads and parses the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml_str(&text)
    }

    /// The configuration of tenant `name`: its override, else [`Config::default_tenant`].
    pub fn tenant(&self, name: &str) -> &TenantConfig {
        self.tenants.get(name).unwrap_or(&self.default_tenant)
    }

    /// The effective configuration as TOML (every key, with tenants fully resolved), parseable
    /// again by [`Config::from_toml_str`] to an equal `Config`.
    pub fn to_effective_toml(&self) -> String {
        match toml::to_string(&self.to_raw()) {
            Ok(text) => text,
            // Unreachable: every raw value is a string, integer, boolean, array or table.
            Err(error) => format!("# the configuration could not be printed: {error}\n"),
        }
    }

    fn from_raw(raw: &RawFile) -> Result<Config, ConfigError> {
        let top = RawTenant {
            calendar: raw.calendar.clone(),
            rules: raw.rules.clone(),
        };
        // Validated in the order the tables usually appear in the file.
        let default_tenant = TenantConfig::default().overlay(&top, "")?;
        let stages = StagesConfig::default().overlay_opt(raw.stages.as_ref(), "stages")?;
        let state = StateConfig::default().overlay_opt(raw.state.as_ref(), "state")?;
        let kafka = KafkaConfig::default().overlay_opt(raw.kafka.as_ref(), "kafka")?;
        let processing =
            ProcessingConfig::default().overlay_opt(raw.processing.as_ref(), "processing")?;
        let http = HttpConfig::default().overlay_opt(raw.http.as_ref(), "http")?;
        let log = LogConfig::default().overlay_opt(raw.log.as_ref(), "log")?;
        let formats = FormatsConfig::default().overlay_opt(raw.formats.as_ref(), "formats")?;
        let mut tenants = BTreeMap::new();
        for (name, tenant) in raw.tenants.iter().flatten() {
            tenant::check_tenant_name(name)?;
            let resolved = default_tenant.overlay(tenant, &tenant::tenant_table(name))?;
            tenants.insert(name.clone(), resolved);
        }
        Ok(Config {
            stages,
            state,
            kafka,
            processing,
            http,
            log,
            formats,
            default_tenant,
            tenants,
        })
    }

    fn to_raw(&self) -> RawFile {
        let top = self.default_tenant.to_raw();
        let tenants: BTreeMap<_, _> = self
            .tenants
            .iter()
            .map(|(name, tenant)| (name.clone(), tenant.to_raw()))
            .collect();
        RawFile {
            calendar: top.calendar,
            stages: Some(self.stages.to_raw()),
            rules: top.rules,
            state: Some(self.state.to_raw()),
            kafka: Some(self.kafka.to_raw()),
            processing: Some(self.processing.to_raw()),
            http: Some(self.http.to_raw()),
            log: Some(self.log.to_raw()),
            formats: Some(self.formats.to_raw()),
            tenants: Some(tenants).filter(|tenants| !tenants.is_empty()),
        }
    }
}

/// A deserialization path as a TOML key path (`kafka.properties."linger.ms"`, `holidays[1]`);
/// empty for the root.
fn key_path(path: &serde_path_to_error::Path) -> String {
    path.iter()
        .fold(String::new(), |table, segment| match segment {
            Segment::Seq { index } => format!("{table}[{index}]"),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                values::quoted_key(&table, key)
            }
            Segment::Unknown => values::key(&table, "?"),
        })
}
