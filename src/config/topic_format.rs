//! `[kafka.format]` and `[kafka.encoding]`: what each input topic carries (dozvon's records, Bitrix24, Asterisk CDR) and how topics are encoded.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::values::key;
use super::{ConfigError, Section};
use crate::formats::InputFormat;

/// `[kafka.format]` as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFormat {
    pub calls: Option<String>,
    pub leads: Option<String>,
}

/// The format of each input topic (docs/formats.md, "Wiring"); `dozvon` by default.
/// Asterisk CDR rows are calls, so only `calls` may be [`InputFormat::Asterisk`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FormatConfig {
    pub calls: InputFormat,
    pub leads: InputFormat,
}

impl FormatConfig {
    /// The formats of the calls and the leads topic.
    pub fn inputs(&self) -> [InputFormat; 2] {
        [self.calls, self.leads]
    }
}

/// A format name (any case, outer spaces ignored, like encodings) of the input `field`.
fn parse(key: &str, field: &str, text: &str) -> Result<InputFormat, ConfigError> {
    let lower = text.trim().to_ascii_lowercase();
    let expected = if field == "leads" {
        "expected \"dozvon\" or \"bitrix24\""
    } else {
        "expected \"dozvon\", \"bitrix24\" or \"asterisk\""
    };
    match lower.parse::<InputFormat>() {
        Ok(InputFormat::Asterisk) if field == "leads" => Err(ConfigError::invalid(
            key,
            format!("Asterisk CDR rows are calls, not lead events; {expected}"),
        )),
        Ok(format) => Ok(format),
        Err(_) if lower == "json" || lower == "avro" => Err(ConfigError::invalid(
            key,
            format!(
                "{text:?} is an encoding, not a format: dozvon's records are read in JSON and \
                 Avro alike (set [kafka.encoding] for the outputs); {expected}"
            ),
        )),
        Err(_) => Err(ConfigError::invalid(
            key,
            format!("unknown input format {text:?}; {expected}"),
        )),
    }
}

impl Section for FormatConfig {
    type Raw = RawFormat;

    fn overlay(&self, raw: &RawFormat, table: &str) -> Result<Self, ConfigError> {
        let mut out = *self;
        let slots = [
            ("calls", &raw.calls, &mut out.calls),
            ("leads", &raw.leads, &mut out.leads),
        ];
        for (field, value, slot) in slots {
            if let Some(text) = value {
                *slot = parse(&key(table, field), field, text)?;
            }
        }
        Ok(out)
    }

    fn to_raw(&self) -> RawFormat {
        RawFormat {
            calls: Some(self.calls.as_str().to_owned()),
            leads: Some(self.leads.as_str().to_owned()),
        }
    }
}

/// How the records of a topic are encoded (SPEC §1, §5). Inputs of format `dozvon` read both
/// anyway (detected per record); foreign formats (`[kafka.format]`) are JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TopicEncoding {
    /// One JSON object per record.
    #[default]
    Json,
    /// Avro: Confluent wire format or single-object encoding.
    Avro,
}

impl TopicEncoding {
    /// The name used in the configuration file: `"json"` or `"avro"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TopicEncoding::Json => "json",
            TopicEncoding::Avro => "avro",
        }
    }

    /// The encoding of topic `field`; `input` tells whether it is an input (calls, leads).
    /// Input format names (`"bitrix24"`, moved to `[kafka.format]`) are refused naming that key.
    fn parse(
        key: &str,
        field: &str,
        text: &str,
        input: bool,
    ) -> Result<TopicEncoding, ConfigError> {
        let lower = text.trim().to_ascii_lowercase();
        let reason = match (lower.as_str(), lower.parse::<InputFormat>()) {
            ("json", _) => return Ok(TopicEncoding::Json),
            ("avro", _) => return Ok(TopicEncoding::Avro),
            (_, Ok(InputFormat::Asterisk)) if field == "leads" => format!(
                "{text:?} is an input format, not an encoding, and Asterisk CDR rows are calls, \
                 not lead events (encodings are \"json\" or \"avro\")"
            ),
            (_, Ok(_)) if input => format!(
                "{text:?} is an input format, not an encoding: set [kafka.format] \
                 {field} = {lower:?} instead (encodings are \"json\" or \"avro\")"
            ),
            (_, Ok(_)) => {
                format!("{text:?} is an input format; outputs are written as \"json\" or \"avro\"")
            }
            (_, Err(_)) => format!("unknown encoding {text:?}; expected \"json\" or \"avro\""),
        };
        Err(ConfigError::invalid(key, reason))
    }
}

impl fmt::Display for TopicEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[kafka.encoding]` as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEncoding {
    pub calls: Option<String>,
    pub leads: Option<String>,
    pub violations: Option<String>,
    pub qc_reviews: Option<String>,
}

/// The encoding of each topic that carries records; the dead-letter topic keeps the original bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodingConfig {
    pub calls: TopicEncoding,
    pub leads: TopicEncoding,
    pub violations: TopicEncoding,
    pub qc_reviews: TopicEncoding,
}

impl Section for EncodingConfig {
    type Raw = RawEncoding;

    fn overlay(&self, raw: &RawEncoding, table: &str) -> Result<Self, ConfigError> {
        let mut out = self.clone();
        let slots = [
            ("calls", &raw.calls, &mut out.calls, true),
            ("leads", &raw.leads, &mut out.leads, true),
            ("violations", &raw.violations, &mut out.violations, false),
            ("qc_reviews", &raw.qc_reviews, &mut out.qc_reviews, false),
        ];
        for (field, value, slot, input) in slots {
            if let Some(text) = value {
                *slot = TopicEncoding::parse(&key(table, field), field, text, input)?;
            }
        }
        Ok(out)
    }

    fn to_raw(&self) -> RawEncoding {
        let name = |encoding: TopicEncoding| Some(encoding.as_str().to_owned());
        RawEncoding {
            calls: name(self.calls),
            leads: name(self.leads),
            violations: name(self.violations),
            qc_reviews: name(self.qc_reviews),
        }
    }
}

/// An input whose format is foreign (Bitrix24, Asterisk: JSON payloads) cannot say `"avro"`.
/// `table` is `[kafka]`'s key path.
pub(crate) fn foreign_inputs_are_json(
    format: &FormatConfig,
    encoding: &EncodingConfig,
    table: &str,
) -> Result<(), ConfigError> {
    let inputs = [
        ("calls", format.calls, encoding.calls),
        ("leads", format.leads, encoding.leads),
    ];
    for (field, format, encoding) in inputs {
        if format != InputFormat::Dozvon && encoding == TopicEncoding::Avro {
            return Err(ConfigError::invalid(
                key(&key(table, "encoding"), field),
                format!(
                    "\"avro\" is for dozvon's records, but [kafka.format] {field} = \"{format}\" \
                     (JSON payloads); remove it or write \"json\""
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(calls: &str, leads: &str) -> RawFormat {
        RawFormat {
            calls: Some(calls.to_owned()),
            leads: Some(leads.to_owned()),
        }
    }

    #[test]
    fn names_parse_in_any_case_and_print_back() {
        let parsed = FormatConfig::default().overlay(&raw(" Asterisk", "BITRIX24"), "kafka.format");
        let parsed = parsed.unwrap();
        assert_eq!(
            parsed.inputs(),
            [InputFormat::Asterisk, InputFormat::Bitrix24]
        );
        let again = FormatConfig::default().overlay(&parsed.to_raw(), "kafka.format");
        assert_eq!(again.unwrap(), parsed);
    }

    #[test]
    fn leads_cannot_be_asterisk_and_encodings_are_not_formats() {
        let error = |calls: &str, leads: &str| match FormatConfig::default()
            .overlay(&raw(calls, leads), "kafka.format")
        {
            Ok(config) => panic!("accepted {config:?}"),
            Err(error) => error.to_string(),
        };
        assert_eq!(
            error("dozvon", "asterisk"),
            "kafka.format.leads: Asterisk CDR rows are calls, not lead events; \
             expected \"dozvon\" or \"bitrix24\""
        );
        assert!(
            error("avro", "dozvon").starts_with("kafka.format.calls: \"avro\" is an encoding"),
            "{}",
            error("avro", "dozvon")
        );
        assert_eq!(
            error("amo", "dozvon"),
            "kafka.format.calls: unknown input format \"amo\"; \
             expected \"dozvon\", \"bitrix24\" or \"asterisk\""
        );
    }
}
