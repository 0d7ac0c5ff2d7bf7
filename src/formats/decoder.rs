//! The decoder of one input topic: dozvon's own codec, or a foreign format's mapper, by `[kafka.format]`.

use std::sync::Arc;

use super::{AsteriskOptions, Bitrix24Options, FormatError, InputFormat, asterisk, bitrix24};
use crate::codec::{self, DecodeError};
use crate::config::Config;
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
    /// Asterisk CDR rows (JSON objects). Per record, a row is decoded as a whole call by itself
    /// ([`asterisk::decode_call`]); calls of several legs need a [`super::CdrMerger`] over the
    /// rows, which is what `dozvon replay` does with these options ([`InputDecoder::asterisk`]).
    /// No lead events.
    Asterisk(Arc<AsteriskOptions>),
}

impl InputDecoder {
    /// The decoder of an input topic of `format`, taking format options from `config`.
    pub fn new(format: InputFormat, config: &Config) -> Self {
        match format {
            InputFormat::Dozvon => InputDecoder::Dozvon,
            InputFormat::Bitrix24 => {
                InputDecoder::Bitrix24(Arc::new(config.formats.bitrix24.clone()))
            }
            InputFormat::Asterisk => {
                InputDecoder::Asterisk(Arc::new(config.formats.asterisk.clone()))
            }
        }
    }

    /// The decoders of the calls and leads topics of `config` (`[kafka.format]`).
    pub fn inputs(config: &Config) -> [InputDecoder; 2] {
        config
            .kafka
            .format
            .inputs()
            .map(|format| InputDecoder::new(format, config))
    }

    /// The foreign format's name, `None` for dozvon's own records.
    pub fn foreign(&self) -> Option<&'static str> {
        match self {
            InputDecoder::Dozvon => None,
            InputDecoder::Bitrix24(_) => Some(InputFormat::Bitrix24.as_str()),
            InputDecoder::Asterisk(_) => Some(InputFormat::Asterisk.as_str()),
        }
    }

    /// The Asterisk options of an Asterisk topic: its rows are legs to merge.
    pub fn asterisk(&self) -> Option<&AsteriskOptions> {
        match self {
            InputDecoder::Asterisk(options) => Some(options),
            _ => None,
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
            InputDecoder::Asterisk(options) => {
                let call = asterisk::decode_call(bytes, options)?;
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
            // The configuration refuses `[kafka.format] leads = "asterisk"`; a Config built in
            // code could still hold it.
            InputDecoder::Asterisk(_) => Err(FormatError::bad(
                "format",
                InputFormat::Asterisk.as_str(),
                "Asterisk CDR rows are calls, not lead events",
            )
            .into()),
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
        config.kafka.format.calls = InputFormat::Bitrix24;
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

    #[test]
    fn asterisk_topics_decode_one_row_calls_and_expose_their_options() {
        let mut config = Config::default();
        config.kafka.format.calls = InputFormat::Asterisk;
        config.formats.asterisk.tenant = Some("pbx".into());
        let [calls, leads] = InputDecoder::inputs(&config);
        assert_eq!((calls.foreign(), leads.foreign()), (Some("asterisk"), None));
        assert_eq!(
            calls.asterisk().and_then(|o| o.tenant.as_deref()),
            Some("pbx")
        );
        assert!(leads.asterisk().is_none());
        let row = br#"{"uniqueid":"1.1","start":"2026-03-02 10:00:00","src":"101",
            "dst":"+79990001122","disposition":"BUSY","userfield":"lead:L7"}"#;
        let call = calls.call(row).expect("a one-row call maps");
        assert_eq!(
            (call.call_id.as_ref(), call.lead_id.as_deref()),
            ("1.1", Some("L7"))
        );
        let internal = br#"{"uniqueid":"1.2","start":"2026-03-02 10:00:00","src":"101",
            "dst":"102","disposition":"ANSWERED"}"#;
        assert!(calls.call(internal).unwrap_err().is_skip());
        let as_leads = InputDecoder::new(InputFormat::Asterisk, &config);
        let error = as_leads.lead(row).unwrap_err();
        assert_eq!(error.kind(), "bad_value");
        assert!(error.to_string().contains("not lead events"), "{error}");
    }
}
