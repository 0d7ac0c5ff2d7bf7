//! JSON codec: a thin `serde_json::from_slice` + validation, borrowing strings from the input.

use serde::{Deserialize, Serialize};

use super::error::{DecodeError, EncodeError};
use super::json_fast;
use crate::model::{CallRecord, LeadEvent, QcReview, ValidationError, Violation};

/// A record type with a JSON form (its serde derive) and contract checks beyond the types.
pub(crate) trait JsonRecord<'a>: Deserialize<'a> + Serialize {
    fn check(&self) -> Result<(), ValidationError> {
        Ok(())
    }
    /// The record by the single-pass scanner, or `None` when serde_json must decide.
    fn decode_fast(_bytes: &'a [u8]) -> Option<Self> {
        None
    }
}

impl<'a> JsonRecord<'a> for CallRecord<'a> {
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
    fn decode_fast(bytes: &'a [u8]) -> Option<Self> {
        json_fast::call(bytes)
    }
}

impl<'a> JsonRecord<'a> for LeadEvent<'a> {
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
    fn decode_fast(bytes: &'a [u8]) -> Option<Self> {
        json_fast::lead(bytes)
    }
}

impl JsonRecord<'_> for Violation {}
impl JsonRecord<'_> for QcReview {}

/// Parses one JSON object and validates it. Unknown fields are ignored.
pub(crate) fn decode<'a, T: JsonRecord<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    let record: T = match T::decode_fast(bytes) {
        Some(record) => record,
        None => serde_json::from_slice(bytes)?,
    };
    record.check()?;
    Ok(record)
}

pub(crate) fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>, EncodeError> {
    Ok(serde_json::to_vec(record)?)
}

/// Parses a JSON call-detail record (strings borrow from `bytes` unless escaped).
pub fn decode_json_call(bytes: &[u8]) -> Result<CallRecord<'_>, DecodeError> {
    decode(bytes)
}

/// Parses a JSON lead event (strings borrow from `bytes` unless escaped).
pub fn decode_json_lead(bytes: &[u8]) -> Result<LeadEvent<'_>, DecodeError> {
    decode(bytes)
}

/// Parses a JSON violation.
pub fn decode_json_violation(bytes: &[u8]) -> Result<Violation, DecodeError> {
    decode(bytes)
}

/// Parses a JSON QC review.
pub fn decode_json_qc_review(bytes: &[u8]) -> Result<QcReview, DecodeError> {
    decode(bytes)
}

/// A call as one compact JSON object (absent optionals omitted).
pub fn encode_json_call(call: &CallRecord<'_>) -> Result<Vec<u8>, EncodeError> {
    encode(call)
}

/// A lead event as one compact JSON object (absent optionals omitted).
pub fn encode_json_lead(lead: &LeadEvent<'_>) -> Result<Vec<u8>, EncodeError> {
    encode(lead)
}

/// A violation as one compact JSON object (absent optionals omitted).
pub fn encode_json_violation(violation: &Violation) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(320);
    super::json_write::violation(violation, &mut out);
    Ok(out)
}

/// A QC review as one compact JSON object (absent optionals omitted).
pub fn encode_json_qc_review(review: &QcReview) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(320);
    super::json_write::qc_review(review, &mut out);
    Ok(out)
}

/// Appends [`encode_json_violation`]'s bytes to `out` (no intermediate buffer).
pub fn encode_json_violation_into(
    violation: &Violation,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    super::json_write::violation(violation, out);
    Ok(())
}

/// Appends [`encode_json_qc_review`]'s bytes to `out` (no intermediate buffer).
pub fn encode_json_qc_review_into(review: &QcReview, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    super::json_write::qc_review(review, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    const CALL: &[u8] = br#"{"call_id":"c1","phone":"+7 900 000-00-00","direction":"outbound",
        "started_at":"2026-03-02T10:00:00+03:00","talk_seconds":0,"disposition":"no_answer",
        "some_future_field":{"nested":[1,2]}}"#;

    #[test]
    fn decodes_borrowing_and_ignores_unknown_fields() {
        let call = decode_json_call(CALL).unwrap();
        assert!(matches!(call.call_id, Cow::Borrowed("c1")));
        assert!(matches!(call.phone, Cow::Borrowed(_)));
        assert_eq!(call.started_at.to_rfc3339(), "2026-03-02T07:00:00.000Z");
        assert_eq!(call.tenant(), "default");
    }

    #[test]
    fn escaped_strings_are_owned_and_unescaped() {
        let call = decode_json_call(
            br#"{"call_id":"c\"1","phone":"1","direction":"inbound",
            "started_at":"2026-03-02T10:00:00Z","talk_seconds":5,"disposition":"answered"}"#,
        )
        .unwrap();
        assert_eq!(call.call_id, "c\"1");
        assert!(matches!(call.call_id, Cow::Owned(_)));
    }

    #[test]
    fn errors_name_the_field_and_position() {
        let err = decode_json_call(br#"{"call_id":"c1"}"#).unwrap_err();
        match err {
            DecodeError::Json {
                line,
                column,
                message,
            } => {
                assert_eq!((line, column), (1, 16));
                assert_eq!(message, "missing field `phone`");
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = decode_json_lead(
            br#"{"event_id":"e","lead_id":"L","stage":"NEW","occurred_at":"2026-03-02 10:00"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("RFC 3339"), "{err}");
    }

    #[test]
    fn validation_runs_after_parsing() {
        let err = decode_json_lead(
            br#"{"event_id":" ","lead_id":"L","stage":"NEW","occurred_at":"2026-03-02T10:00:00Z"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            DecodeError::Invalid(ValidationError::Empty("event_id"))
        );
        assert_eq!(err.kind(), "invalid");
    }
}
