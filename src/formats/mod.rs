//! Foreign input formats (Bitrix24 REST, Asterisk CDR) mapped onto dozvon's own input model.
//
// Layout: `fields` (typed reads from one JSON object: strings or numbers, seconds, times),
// `bitrix24` (calls, options) + `bitrix24_lead` (leads, stage mapping), `asterisk` (options, one
// CDR row) + `asterisk_legs` (the leg-merge rule) + `asterisk_merge` (`CdrMerger`: legs of one
// call by `linkedid`), `serde_util` (durations and time zones in options). All pure: bytes and
// options in, model records or a typed [`FormatError`] out. `decoder` picks dozvon's codec or a
// mapper per input topic (`[kafka.format]`) for the service and replay. docs/formats.md has
// the field tables and the reason behind each mapping.

pub mod asterisk;
mod asterisk_legs;
mod asterisk_merge;
pub mod bitrix24;
mod bitrix24_lead;
mod decoder;
mod fields;
mod serde_util;
#[cfg(test)]
mod tests_asterisk;
#[cfg(test)]
mod tests_bitrix24;
#[cfg(test)]
mod tests_bitrix24_lead;
#[cfg(test)]
mod tests_fuzz;
#[cfg(test)]
mod tests_legs;
#[cfg(test)]
mod tests_merge;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use asterisk::{AsteriskOptions, CdrDisposition, CdrRow, ManagerSource};
pub use asterisk_merge::{CLOSED_RETENTION, CdrMerger, MergerStats};
pub use bitrix24::Bitrix24Options;
pub use bitrix24_lead::{Bitrix24LeadMapping, StageSemantic};
pub use decoder::{InputDecoder, InputError};

/// Which format a topic carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// dozvon's own records (SPEC §1), JSON or Avro.
    #[default]
    Dozvon,
    /// Bitrix24 REST payloads: call statistics rows and lead records.
    Bitrix24,
    /// Asterisk CDR rows as JSON objects; several rows (legs) make one call.
    Asterisk,
}

impl InputFormat {
    pub const ALL: [InputFormat; 3] = [
        InputFormat::Dozvon,
        InputFormat::Bitrix24,
        InputFormat::Asterisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Dozvon => "dozvon",
            InputFormat::Bitrix24 => "bitrix24",
            InputFormat::Asterisk => "asterisk",
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is none of [`InputFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown input format {0:?}: expected dozvon, bitrix24 or asterisk")]
pub struct UnknownFormat(pub String);

impl FromStr for InputFormat {
    type Err = UnknownFormat;

    /// The same names as the serde form, exactly (`"bitrix24"`, not `"Bitrix24"`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        InputFormat::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
            .ok_or_else(|| UnknownFormat(text.to_owned()))
    }
}

/// Longest input excerpt quoted in an error, in characters.
const MAX_QUOTED_CHARS: usize = 64;

/// Why a foreign payload could not be mapped. Each variant names the field (in the source
/// format's spelling, e.g. `CALL_FAILED_CODE`, `disposition`) and says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The bytes are not one JSON object.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A required field is absent, `null` or empty.
    #[error("missing field `{field}`")]
    Missing { field: &'static str },
    /// A field has the wrong type or an unusable value.
    #[error("field `{field}`: {reason}, got {value}")]
    BadValue {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    /// An enumerated field (call type, disposition, stage semantics) has a value outside its table.
    #[error("field `{field}`: unknown code {code}")]
    UnknownCode { field: &'static str, code: String },
    /// Well-formed, but not something the regulation judges (a robot call, an internal call).
    #[error("field `{field}` = {value}: {reason}")]
    NotApplicable {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
}

impl FormatError {
    /// A short stable label for metrics and dead-letter headers.
    pub fn kind(&self) -> &'static str {
        match self {
            FormatError::Json(_) => "json",
            FormatError::Missing { .. } => "missing",
            FormatError::BadValue { .. } => "bad_value",
            FormatError::UnknownCode { .. } => "unknown_code",
            FormatError::NotApplicable { .. } => "not_applicable",
        }
    }

    /// The field the error is about (`None` for malformed JSON).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            FormatError::Json(_) => None,
            FormatError::Missing { field }
            | FormatError::BadValue { field, .. }
            | FormatError::UnknownCode { field, .. }
            | FormatError::NotApplicable { field, .. } => Some(field),
        }
    }

    pub(crate) fn missing(field: &'static str) -> Self {
        FormatError::Missing { field }
    }

    pub(crate) fn bad(field: &'static str, value: &str, reason: &'static str) -> Self {
        FormatError::BadValue {
            field,
            value: quote(value),
            reason,
        }
    }

    pub(crate) fn unknown(field: &'static str, code: &str) -> Self {
        FormatError::UnknownCode {
            field,
            code: quote(code),
        }
    }

    pub(crate) fn not_applicable(field: &'static str, value: &str, reason: &'static str) -> Self {
        FormatError::NotApplicable {
            field,
            value: quote(value),
            reason,
        }
    }
}

/// `value` as a quoted, escaped excerpt of at most [`MAX_QUOTED_CHARS`] characters.
fn quote(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(MAX_QUOTED_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip_through_from_str_and_serde() {
        for format in InputFormat::ALL {
            assert_eq!(format.as_str().parse::<InputFormat>(), Ok(format));
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{format}\""));
            assert_eq!(serde_json::from_str::<InputFormat>(&json).unwrap(), format);
        }
        assert_eq!(InputFormat::default(), InputFormat::Dozvon);
        let error = "Bitrix24".parse::<InputFormat>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown input format \"Bitrix24\": expected dozvon, bitrix24 or asterisk"
        );
        assert!(serde_json::from_str::<InputFormat>("\"amo\"").is_err());
    }

    #[test]
    fn errors_name_the_field_quote_the_value_and_have_stable_kinds() {
        let error = FormatError::bad("CALL_DURATION", "-5", "expected whole seconds ≥ 0");
        assert_eq!(
            error.to_string(),
            "field `CALL_DURATION`: expected whole seconds ≥ 0, got \"-5\""
        );
        assert_eq!(
            (error.kind(), error.field()),
            ("bad_value", Some("CALL_DURATION"))
        );
        let long = "x".repeat(500);
        let FormatError::UnknownCode { code, .. } = FormatError::unknown("CALL_TYPE", &long) else {
            panic!("unexpected variant");
        };
        assert_eq!(code.chars().count(), MAX_QUOTED_CHARS + 3);
        assert_eq!(
            FormatError::missing("CALL_ID").to_string(),
            "missing field `CALL_ID`"
        );
        assert_eq!(FormatError::Json("eof".into()).field(), None);
    }
}
