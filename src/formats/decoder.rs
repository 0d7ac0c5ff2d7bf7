//! The decoder of one input topic: dozvon's own codec, or a foreign format's mapper, by `[kafka.encoding]`.

use std::sync::Arc;

use super::{Bitrix24Options, FormatError, bitrix24};
use crate::codec::{self, DecodeError};
use crate::config::{Config, TopicEncoding};
use crate::model::{CallRecord, LeadEvent};

/// Why an input record was not turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// dozvon's own record (JSON or Avro) is malformed or invalid.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A foreign payload could not be mapped (or is not applicable: see [`InputError::is_skip`]).
    #[error(transparent)]
    Format(#[from] FormatError),
}

impl InputError {
    /// A short stable label for metrics and dead-letter headers (the inner error's kind).
    pub fn kind(&self) -> &'static str {
        match self {
            InputError::Decode(error) => error.kind(),
            InputError::Format(error) => error.kind(),
        }
    }

    /// Well-formed input that the regulation does not judge (a Bitrix24 robot call): counted
    /// as skipped, not dead-lettered.
    pub fn is_skip(&self) -> bool {
        matches!(self, InputError::Format(FormatError::NotApplicable { .. }))
    }
}

/// How the records of one input topic are decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum InputDecoder {
    /// dozvon's records in any supported wire format (JSON, Avro), detected per record.
    #[default]
    Dozvon,
    /// Bitrix24 REST payloads (JSON objects), mapped with these options.
    Bitrix24(Arc<Bitrix24Options>),
}

impl InputDecoder {
    /// The decoder of an input topic with `encoding`, taking format options from `config`.
    pub fn new(encoding: TopicEncoding, config: &Config) -> Self {
        match encoding {
            TopicEncoding::Json | TopicEncoding::Avro => InputDecoder::Dozvon,
            TopicEncoding::Bitrix24 => {
                InputDecoder::Bitrix24(Arc::new(config.formats.bitrix24.clone()))
            }
        }
    }

    /// The decoders of the calls and leads topics of `config`.
    pub fn inputs(config: &Config) -> [InputDecoder; 2] {
        let encoding = &config.kafka.encoding;
        [encoding.calls, encoding.leads].map(|encoding| InputDecoder::new(encoding, config))
    }

    /// The foreign format's name, `None` for dozvon's own records.
    pub fn foreign(&self) -> Option<&'static str> {
        match self {
            InputDecoder::Dozvon => None,
            InputDecoder::Bitrix24(_) => Some("bitrix24"),
        }
    }

    /// A call in any wire format (dozvon's records), validated.
    pub fn call<'a>(&self, bytes: &'a [u8]) -> Result<CallRecord<'a>, InputError> {
        self.call_with(bytes, codec::decode_call)
    }

    /// A lead event in any wire format (dozvon's records), validated.
    pub fn lead<'a>(&self, bytes: &'a [u8]) -> Result<LeadEvent<'a>, InputError> {
        self.lead_with(bytes, codec::decode_lead)
    }

    /// A call, decoding dozvon's own records with `own` (e.g. JSON only for NDJSON lines).
    pub fn call_with<'a>(
        &self,
        bytes: &'a [u8],
        own: impl FnOnce(&'a [u8]) -> Result<CallRecord<'a>, DecodeError>,
    ) -> Result<CallRecord<'a>, InputError> {
        match self {
            InputDecoder::Dozvon => Ok(own(bytes)?),
            InputDecoder::Bitrix24(options) => {
                let call = bitrix24::decode_call(bytes, options)?;
                call.validate().map_err(DecodeError::Invalid)?;
                Ok(call)
            }
        }
    }

    /// A lead event, decoding dozvon's own records with `own`.
    pub fn lead_with<'a>(
        &self,
        bytes: &'a [u8],
        own: impl FnOnce(&'a [u8]) -> Result<LeadEvent<'a>, DecodeError>,
    ) -> Result<LeadEvent<'a>, InputError> {
        match self {
            InputDecoder::Dozvon => Ok(own(bytes)?),
            InputDecoder::Bitrix24(options) => {
                let lead = bitrix24::decode_lead(bytes, options)?;
                lead.validate().map_err(DecodeError::Invalid)?;
                Ok(lead)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROBOT_CALL: &str = r#"{"CALL_ID":"c1","CALL_TYPE":"5","PHONE_NUMBER":"+79990001122",
        "CALL_START_DATE":"2026-03-02T10:00:00+03:00"}"#;

    #[test]
    fn bitrix24_topics_map_rows_and_skip_robot_calls() {
        let mut config = Config::default();
        config.kafka.encoding.calls = TopicEncoding::Bitrix24;
        config.formats.bitrix24.tenant = Some("acme".into());
        let [calls, leads] = InputDecoder::inputs(&config);
        assert_eq!((calls.foreign(), leads.foreign()), (Some("bitrix24"), None));
        let row = ROBOT_CALL.replace(r#""CALL_TYPE":"5""#, r#""CALL_TYPE":"1""#);
        let call = calls.call(row.as_bytes()).expect("an outgoing call maps");
        assert_eq!(call.tenant.as_deref(), Some("acme"));
        let robot = calls.call(ROBOT_CALL.as_bytes()).unwrap_err();
        assert!(robot.is_skip(), "{robot}");
        assert_eq!(robot.kind(), "not_applicable");
        let bad = calls.call(b"{\"CALL_ID\":\"c2\"}").unwrap_err();
        assert!(!bad.is_skip());
        assert_eq!(bad.kind(), "missing");
        assert_eq!(leads.call(b"not json").unwrap_err().kind(), "json");
    }
}
