//! `[rules]`: the calling regulation's thresholds, SLAs and tolerances (SPEC §3, §4).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use super::values::{self, key};
use super::{ConfigError, Section};

/// `[rules]` as written: every key optional (top level and `[tenants.NAME.rules]`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRules {
    pub daily_attempts: Option<i64>,
    pub period_days: Option<i64>,
    pub min_total_attempts: Option<i64>,
    pub touch_seconds: Option<i64>,
    pub touch_satisfies_day: Option<bool>,
    pub day1_cutoff: Option<String>,
    pub first_call_sla: Option<String>,
    pub stale_after_days: Option<i64>,
    pub exempt_reasons: Option<Vec<String>>,
    pub allowed_lateness: Option<String>,
    /// Last, so that it prints as a sub-table after the plain keys.
    pub first_call_sla_by_channel: Option<BTreeMap<String, String>>,
}

/// The calling regulation of one tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesConfig {
    /// Attempts required on each business day of the dialing period (§4.1).
    pub daily_attempts: u32,
    /// Length of the dialing period in business days (§3); at most 31.
    pub period_days: u32,
    /// Attempts an episode needs before a rejection is not premature (§4.2).
    pub min_total_attempts: u32,
    /// A touch is an answered call with talk time strictly greater than this (§3).
    pub touch_seconds: u32,
    /// Whether a touch makes a day compliant regardless of the attempt count (§4.1).
    pub touch_satisfies_day: bool,
    /// An episode started on a business day at or before this local time has it as day 1 (§3).
    pub day1_cutoff: NaiveTime,
    /// First-call SLA in working time (§4.5), unless the channel has its own.
    pub first_call_sla: Duration,
    /// Per-channel first-call SLAs, keyed by the lead's `channel` exactly.
    pub first_call_sla_by_channel: BTreeMap<String, Duration>,
    /// Business days of quiet after which a lead is stale (§4.6).
    pub stale_after_days: u32,
    /// Rejection reasons exempt from the premature-rejection rule (§4.2).
    pub exempt_reasons: Vec<String>,
    /// How long after a day's end late events are still applied before it closes (§4.1, §4.9).
    pub allowed_lateness: Duration,
}

/// Upper bound of `period_days`: the engine keeps one flag bit per period day.
pub const MAX_PERIOD_DAYS: u32 = 31;
/// Upper bound of `stale_after_days`: a year of business days.
pub const MAX_STALE_AFTER_DAYS: u32 = 366;

impl Default for RulesConfig {
    /// The sales regulation: 3 attempts a day for 5 business days, 15 in total, touch > 30 s.
    fn default() -> Self {
        RulesConfig {
            daily_attempts: 3,
            period_days: 5,
            min_total_attempts: 15,
            touch_seconds: 30,
            touch_satisfies_day: true,
            day1_cutoff: values::hm(13, 0),
            first_call_sla: Duration::from_secs(15 * 60),
            first_call_sla_by_channel: BTreeMap::new(),
            stale_after_days: 3,
            exempt_reasons: Vec::new(),
            allowed_lateness: Duration::from_secs(10 * 60),
        }
    }
}

impl RulesConfig {
    /// The first-call SLA for a lead from `channel`: its override, else `first_call_sla`.
    pub fn first_call_sla_for(&self, channel: Option<&str>) -> Duration {
        channel
            .and_then(|channel| self.first_call_sla_by_channel.get(channel))
            .copied()
            .unwrap_or(self.first_call_sla)
    }
}

impl Section for RulesConfig {
    type Raw = RawRules;

    fn overlay(&self, raw: &RawRules, table: &str) -> Result<Self, ConfigError> {
        let mut out = self.clone();
        let counts = [
            (
                "daily_attempts",
                raw.daily_attempts,
                1,
                u32::MAX,
                &mut out.daily_attempts,
            ),
            (
                "period_days",
                raw.period_days,
                1,
                MAX_PERIOD_DAYS,
                &mut out.period_days,
            ),
            (
                "min_total_attempts",
                raw.min_total_attempts,
                0,
                u32::MAX,
                &mut out.min_total_attempts,
            ),
            (
                "touch_seconds",
                raw.touch_seconds,
                0,
                u32::MAX,
                &mut out.touch_seconds,
            ),
            (
                "stale_after_days",
                raw.stale_after_days,
                1,
                MAX_STALE_AFTER_DAYS,
                &mut out.stale_after_days,
            ),
        ];
        for (field, value, min, max, slot) in counts {
            if let Some(value) = value {
                *slot = values::bounded(&key(table, field), value, min, max)?;
            }
        }
        if let Some(flag) = raw.touch_satisfies_day {
            out.touch_satisfies_day = flag;
        }
        if let Some(text) = &raw.day1_cutoff {
            out.day1_cutoff = values::time_of_day(&key(table, "day1_cutoff"), text)?;
        }
        if let Some(text) = &raw.first_call_sla {
            out.first_call_sla = values::positive_duration(&key(table, "first_call_sla"), text)?;
        }
        if let Some(channels) = &raw.first_call_sla_by_channel {
            let table = key(table, "first_call_sla_by_channel");
            out.first_call_sla_by_channel = channels
                .iter()
                .map(|(channel, text)| {
                    let key = key(&table, channel);
                    values::name(&key, channel)?;
                    Ok((channel.clone(), values::positive_duration(&key, text)?))
                })
                .collect::<Result<_, ConfigError>>()?;
        }
        if let Some(reasons) = &raw.exempt_reasons {
            out.exempt_reasons = values::names(&key(table, "exempt_reasons"), reasons)?;
        }
        if let Some(text) = &raw.allowed_lateness {
            out.allowed_lateness = values::duration(&key(table, "allowed_lateness"), text)?;
        }
        Ok(out)
    }

    fn to_raw(&self) -> RawRules {
        RawRules {
            daily_attempts: Some(i64::from(self.daily_attempts)),
            period_days: Some(i64::from(self.period_days)),
            min_total_attempts: Some(i64::from(self.min_total_attempts)),
            touch_seconds: Some(i64::from(self.touch_seconds)),
            touch_satisfies_day: Some(self.touch_satisfies_day),
            day1_cutoff: Some(values::format_time(self.day1_cutoff)),
            first_call_sla: Some(values::format_duration(self.first_call_sla)),
            stale_after_days: Some(i64::from(self.stale_after_days)),
            exempt_reasons: Some(self.exempt_reasons.clone()),
            allowed_lateness: Some(values::format_duration(self.allowed_lateness)),
            first_call_sla_by_channel: Some(
                self.first_call_sla_by_channel
                    .iter()
                    .map(|(channel, sla)| (channel.clone(), values::format_duration(*sla)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_override_applies_only_to_its_channel() {
        let mut rules = RulesConfig::default();
        rules
            .first_call_sla_by_channel
            .insert("paid_ads".into(), Duration::from_secs(300));
        assert_eq!(
            rules.first_call_sla_for(Some("paid_ads")),
            Duration::from_secs(300)
        );
        assert_eq!(
            rules.first_call_sla_for(Some("website")),
            Duration::from_secs(900)
        );
        assert_eq!(rules.first_call_sla_for(None), Duration::from_secs(900));
    }

    #[test]
    fn bounds_are_enforced_with_the_key_path() {
        let raw = RawRules {
            period_days: Some(32),
            ..RawRules::default()
        };
        let error = RulesConfig::default()
            .overlay(&raw, "tenants.x.rules")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "tenants.x.rules.period_days: must be between 1 and 31, got 32"
        );
    }

    #[test]
    fn to_raw_overlays_back_to_the_same_rules() {
        let mut rules = RulesConfig {
            daily_attempts: 4,
            touch_satisfies_day: false,
            first_call_sla: Duration::from_millis(5_400_250),
            exempt_reasons: vec!["дубль".into()],
            allowed_lateness: Duration::ZERO,
            ..RulesConfig::default()
        };
        rules
            .first_call_sla_by_channel
            .insert("paid ads".into(), Duration::from_secs(90));
        let again = RulesConfig::default().overlay(&rules.to_raw(), "rules");
        assert_eq!(again.unwrap(), rules);
    }
}
