//! JSON and Avro (Confluent, single-object, container files) codecs with format auto-detection.
//
// Layout: `schema` (embedded schemas, fingerprints), `json` (+ `json_fast`, a single-pass
// scanner for the common input shape, and `json_write`, the findings' hand-written encoder),
// `avro` + `avro_value` (explicit record <-> `apache_avro::types::Value` mappings), `framing` (wire headers, schema resolver hook),
// `container` (object container files), `error`.

mod avro;
mod avro_value;
mod container;
mod error;
mod framing;
#[cfg(test)]
mod fuzz_tests;
mod json;
mod json_fast;
#[cfg(test)]
mod json_fast_tests;
mod json_write;
pub(crate) mod schema;

pub use container::{
    CONTAINER_MAGIC, is_avro_container, read_calls_container, read_leads_container,
    write_calls_container, write_leads_container,
};
pub use error::{DecodeError, EncodeError};
pub use framing::{
    CONFLUENT_HEADER_LEN, CONFLUENT_MAGIC, EmbeddedSchemas, SINGLE_OBJECT_HEADER_LEN,
    SINGLE_OBJECT_MAGIC, SchemaResolver, WriterSchema,
};
pub use json::{
    decode_json_call, decode_json_lead, decode_json_qc_review, decode_json_violation,
    encode_json_call, encode_json_lead, encode_json_qc_review, encode_json_qc_review_into,
    encode_json_violation, encode_json_violation_into,
};
pub use schema::{MAX_AVRO_ALLOCATION, RecordKind, avro_allocation_limit, rabin_fingerprint};

use avro::AvroRecord;
use json::JsonRecord;

use crate::model::{CallRecord, LeadEvent, QcReview, Violation};

/// How a record is (to be) serialized on a topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// One UTF-8 JSON object.
    Json,
    /// `00` + 4-byte big-endian Schema Registry id + Avro datum.
    AvroConfluent { schema_id: u32 },
    /// `C3 01` + 8-byte little-endian CRC-64-AVRO fingerprint + Avro datum.
    AvroSingleObject,
}

/// The wire format of one message, as told by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireFormat {
    Json,
    AvroConfluent,
    AvroSingleObject,
}

impl WireFormat {
    /// Byte 0 `00` is Confluent, `C3 01` single-object, anything else JSON (a JSON text
    /// starts with whitespace or `{`, never with these bytes).
    pub fn detect(bytes: &[u8]) -> WireFormat {
        match bytes {
            [CONFLUENT_MAGIC, ..] => WireFormat::AvroConfluent,
            [0xC3, 0x01, ..] => WireFormat::AvroSingleObject,
            _ => WireFormat::Json,
        }
    }

    /// A short stable label (`json`, `avro_confluent`, `avro_single_object`).
    pub fn as_str(self) -> &'static str {
        match self {
            WireFormat::Json => "json",
            WireFormat::AvroConfluent => "avro_confluent",
            WireFormat::AvroSingleObject => "avro_single_object",
        }
    }
}

fn decode_auto<'a, T: AvroRecord + JsonRecord<'a>>(
    bytes: &'a [u8],
    resolver: &dyn SchemaResolver,
) -> Result<T, DecodeError> {
    match WireFormat::detect(bytes) {
        WireFormat::Json => json::decode(bytes),
        WireFormat::AvroConfluent => framing::decode_confluent(bytes, resolver),
        WireFormat::AvroSingleObject => framing::decode_single_object(bytes, resolver),
    }
}

fn encode_as<T: AvroRecord + serde::Serialize>(
    record: &T,
    encoding: Encoding,
) -> Result<Vec<u8>, EncodeError> {
    match encoding {
        Encoding::Json => json::encode(record),
        Encoding::AvroConfluent { schema_id } => framing::encode_confluent(record, schema_id),
        Encoding::AvroSingleObject => framing::encode_single_object(record),
    }
}

/// Decodes a call-detail record in any supported format (see [`WireFormat::detect`]),
/// taking Confluent frames to be written with the embedded schema, and validates it.
pub fn decode_call(bytes: &[u8]) -> Result<CallRecord<'_>, DecodeError> {
    decode_auto(bytes, &EmbeddedSchemas)
}

/// Like [`decode_call`], with writer schemas supplied by `resolver`.
pub fn decode_call_with<'a>(
    bytes: &'a [u8],
    resolver: &dyn SchemaResolver,
) -> Result<CallRecord<'a>, DecodeError> {
    decode_auto(bytes, resolver)
}

/// Decodes a lead event in any supported format and validates it.
pub fn decode_lead(bytes: &[u8]) -> Result<LeadEvent<'_>, DecodeError> {
    decode_auto(bytes, &EmbeddedSchemas)
}

/// Like [`decode_lead`], with writer schemas supplied by `resolver`.
pub fn decode_lead_with<'a>(
    bytes: &'a [u8],
    resolver: &dyn SchemaResolver,
) -> Result<LeadEvent<'a>, DecodeError> {
    decode_auto(bytes, resolver)
}

/// Decodes a violation in any supported format.
pub fn decode_violation(bytes: &[u8]) -> Result<Violation, DecodeError> {
    decode_auto(bytes, &EmbeddedSchemas)
}

/// Decodes a QC review in any supported format.
pub fn decode_qc_review(bytes: &[u8]) -> Result<QcReview, DecodeError> {
    decode_auto(bytes, &EmbeddedSchemas)
}

/// Encodes a call-detail record.
pub fn encode_call(call: &CallRecord<'_>, encoding: Encoding) -> Result<Vec<u8>, EncodeError> {
    encode_as(call, encoding)
}

/// Encodes a lead event.
pub fn encode_lead(lead: &LeadEvent<'_>, encoding: Encoding) -> Result<Vec<u8>, EncodeError> {
    encode_as(lead, encoding)
}

/// Encodes a violation (or retraction).
pub fn encode_violation(violation: &Violation, encoding: Encoding) -> Result<Vec<u8>, EncodeError> {
    match encoding {
        // The hand-written writer: serde_json's bytes (proptested), without its overhead.
        Encoding::Json => json::encode_json_violation(violation),
        _ => encode_as(violation, encoding),
    }
}

/// Encodes a QC review.
pub fn encode_qc_review(review: &QcReview, encoding: Encoding) -> Result<Vec<u8>, EncodeError> {
    match encoding {
        Encoding::Json => json::encode_json_qc_review(review),
        _ => encode_as(review, encoding),
    }
}
