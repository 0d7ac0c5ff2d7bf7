//! Decode and encode errors; each variant says what was wrong and where.

use crate::model::ValidationError;

/// Why bytes could not be turned into a record. Cheap to clone, comparable, `Send + Sync`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Malformed JSON or a missing / ill-typed field; `message` is serde_json's and names the field.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// The record decoded but breaks the contract (e.g. an empty id).
    #[error("invalid record: {0}")]
    Invalid(#[from] ValidationError),
    /// An Avro field is missing, has the wrong type or an out-of-range value.
    #[error("field `{field}`: {reason}")]
    Field { field: &'static str, reason: String },
    /// The input is shorter than the frame header of its format.
    #[error("{format} frame needs at least {needed} bytes, got {available}")]
    ShortFrame {
        format: &'static str,
        needed: usize,
        available: usize,
    },
    /// The Avro datum ends before the record is complete.
    #[error("Avro datum truncated: input ends at byte {offset} in the middle of the record")]
    Truncated { offset: usize },
    /// The first bytes are not the magic of the requested format.
    #[error("bad magic for {format}: expected {expected}, found {found}")]
    BadMagic {
        format: &'static str,
        expected: &'static str,
        found: String,
    },
    /// A single-object frame names a schema other than ours.
    #[error(
        "single-object fingerprint {found:#018x} is not the schema of {record} ({expected:#018x}){}",
        other_record_hint(.other_record)
    )]
    FingerprintMismatch {
        record: &'static str,
        expected: u64,
        found: u64,
        /// Set when the fingerprint is that of another dozvon record type.
        other_record: Option<&'static str>,
    },
    /// Bytes are left over after a complete datum.
    #[error("{count} trailing byte(s) after the Avro datum at byte {offset}")]
    TrailingBytes { offset: usize, count: usize },
    /// apache_avro refused the datum (bad union index, bad UTF-8, oversized length, ...).
    #[error("Avro datum invalid at byte {offset}: {message}")]
    Avro { offset: usize, message: String },
    /// The schema resolver could not supply the writer schema of a Confluent frame.
    #[error("writer schema id {schema_id}: {reason}")]
    SchemaId { schema_id: u32, reason: String },
    /// An Avro object container file is unreadable or holds another record type.
    #[error("Avro container: {message}")]
    Container { message: String },
}

fn other_record_hint(other: &Option<&'static str>) -> String {
    other.map_or_else(String::new, |name| format!("; it is the schema of {name}"))
}

impl DecodeError {
    /// A short stable label for metrics and dead-letter headers.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Json { .. } => "json",
            DecodeError::Invalid(_) => "invalid",
            DecodeError::Field { .. } => "field",
            DecodeError::ShortFrame { .. } => "short_frame",
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::BadMagic { .. } => "bad_magic",
            DecodeError::FingerprintMismatch { .. } => "fingerprint",
            DecodeError::TrailingBytes { .. } => "trailing_bytes",
            DecodeError::Avro { .. } => "avro",
            DecodeError::SchemaId { .. } => "schema_id",
            DecodeError::Container { .. } => "container",
        }
    }

    pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> Self {
        DecodeError::Field {
            field,
            reason: reason.into(),
        }
    }
}

impl From<serde_json::Error> for DecodeError {
    fn from(err: serde_json::Error) -> Self {
        let (line, column) = (err.line(), err.column());
        let full = err.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        DecodeError::Json {
            line,
            column,
            message,
        }
    }
}

/// Why a record could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("JSON encoding failed: {0}")]
    Json(String),
    /// A value does not fit its Avro type (e.g. a count above `i32::MAX`).
    #[error("field `{field}`: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("Avro encoding failed: {0}")]
    Avro(String),
}

impl From<serde_json::Error> for EncodeError {
    fn from(err: serde_json::Error) -> Self {
        EncodeError::Json(err.to_string())
    }
}

impl From<apache_avro::Error> for EncodeError {
    fn from(err: apache_avro::Error) -> Self {
        EncodeError::Avro(err.to_string())
    }
}
