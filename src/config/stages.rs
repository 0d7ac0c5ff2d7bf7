//! `[stages]`: which CRM stage ids are dialing (cadence), rejected or converted (SPEC §1.2).

use serde::{Deserialize, Serialize};

use super::values::{self, key};
use super::{ConfigError, Section};

/// What a CRM stage means for the regulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StageKind {
    /// The dialing regulation applies.
    Cadence,
    /// Terminal: the lead was rejected (junk).
    Rejected,
    /// Terminal: the lead was converted.
    Converted,
    /// In work; the regulation no longer applies, not terminal.
    Other,
}

/// `[stages]` as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStages {
    pub cadence: Option<Vec<String>>,
    pub rejected: Option<Vec<String>>,
    pub converted: Option<Vec<String>>,
}

/// The mapping of stage ids to kinds; ids are matched exactly (case-sensitive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagesConfig {
    pub cadence: Vec<String>,
    pub rejected: Vec<String>,
    pub converted: Vec<String>,
}

impl Default for StagesConfig {
    /// Bitrix24: `NEW`, `IN_PROCESS` are dialed; `JUNK` is rejected; `CONVERTED` is converted.
    fn default() -> Self {
        let list = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect();
        StagesConfig {
            cadence: list(&["NEW", "IN_PROCESS"]),
            rejected: list(&["JUNK"]),
            converted: list(&["CONVERTED"]),
        }
    }
}

impl StagesConfig {
    /// The kind of `stage`; stages in no list are [`StageKind::Other`].
    pub fn kind(&self, stage: &str) -> StageKind {
        let listed = |ids: &[String]| ids.iter().any(|id| id == stage);
        if listed(&self.cadence) {
            StageKind::Cadence
        } else if listed(&self.rejected) {
            StageKind::Rejected
        } else if listed(&self.converted) {
            StageKind::Converted
        } else {
            StageKind::Other
        }
    }

    fn lists(&self) -> [(&'static str, &[String]); 3] {
        [
            ("cadence", &self.cadence),
            ("rejected", &self.rejected),
            ("converted", &self.converted),
        ]
    }

    /// Cadence is non-empty and no stage id is in two lists.
    fn check(&self, table: &str) -> Result<(), ConfigError> {
        if self.cadence.is_empty() {
            return Err(ConfigError::invalid(
                key(table, "cadence"),
                "must list at least one stage",
            ));
        }
        let lists = self.lists();
        for (index, (name, ids)) in lists.iter().enumerate() {
            for (other, other_ids) in lists.iter().skip(index + 1) {
                if let Some(id) = ids.iter().find(|id| other_ids.contains(id)) {
                    return Err(ConfigError::invalid(
                        key(table, other),
                        format!("stage {id:?} is also listed in {}", key(table, name)),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Section for StagesConfig {
    type Raw = RawStages;

    fn overlay(&self, raw: &RawStages, table: &str) -> Result<Self, ConfigError> {
        let mut out = self.clone();
        let slots = [
            ("cadence", &raw.cadence, &mut out.cadence),
            ("rejected", &raw.rejected, &mut out.rejected),
            ("converted", &raw.converted, &mut out.converted),
        ];
        for (field, value, slot) in slots {
            if let Some(ids) = value {
                *slot = values::names(&key(table, field), ids)?;
            }
        }
        out.check(table)?;
        Ok(out)
    }

    fn to_raw(&self) -> RawStages {
        RawStages {
            cadence: Some(self.cadence.clone()),
            rejected: Some(self.rejected.clone()),
            converted: Some(self.converted.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_kinds_follow_bitrix_stage_ids() {
        let stages = StagesConfig::default();
        assert_eq!(stages.kind("NEW"), StageKind::Cadence);
        assert_eq!(stages.kind("IN_PROCESS"), StageKind::Cadence);
        assert_eq!(stages.kind("JUNK"), StageKind::Rejected);
        assert_eq!(stages.kind("CONVERTED"), StageKind::Converted);
        assert_eq!(stages.kind("PROCESSED"), StageKind::Other);
        assert_eq!(stages.kind("new"), StageKind::Other);
    }

    #[test]
    fn a_stage_moved_into_cadence_must_leave_its_default_list() {
        let raw = RawStages {
            cadence: Some(vec!["NEW".into(), "JUNK".into()]),
            ..RawStages::default()
        };
        let error = StagesConfig::default().overlay(&raw, "stages").unwrap_err();
        assert_eq!(
            error.to_string(),
            "stages.rejected: stage \"JUNK\" is also listed in stages.cadence"
        );
    }

    #[test]
    fn rejected_and_converted_may_be_empty_but_cadence_not() {
        let raw = RawStages {
            rejected: Some(vec![]),
            converted: Some(vec![]),
            ..RawStages::default()
        };
        let stages = StagesConfig::default().overlay(&raw, "stages").unwrap();
        assert_eq!(stages.kind("JUNK"), StageKind::Other);
        let raw = RawStages {
            cadence: Some(vec![]),
            ..RawStages::default()
        };
        let error = StagesConfig::default().overlay(&raw, "stages").unwrap_err();
        assert_eq!(
            error.to_string(),
            "stages.cadence: must list at least one stage"
        );
    }
}
