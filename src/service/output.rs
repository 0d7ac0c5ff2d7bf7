//! What the service writes: findings as keyed records, and dead-letter records with headers.

use rdkafka::message::{Header, Headers, OwnedHeaders};

use crate::codec::{self, EncodeError, Encoding};
use crate::model::Finding;

/// Header naming why a record was dead-lettered (human readable).
pub const HEADER_ERROR: &str = "dozvon.error";
/// Header with a stable error class (`decode`, `validation`, `empty`, …).
pub const HEADER_ERROR_KIND: &str = "dozvon.error.kind";
pub const HEADER_SOURCE_TOPIC: &str = "dozvon.source.topic";
pub const HEADER_SOURCE_PARTITION: &str = "dozvon.source.partition";
pub const HEADER_SOURCE_OFFSET: &str = "dozvon.source.offset";

/// Output topic names and encodings.
#[derive(Clone, Debug)]
pub struct Outputs {
    pub violations: String,
    pub qc_reviews: String,
    pub dead_letter: String,
    pub violation_encoding: Encoding,
    pub qc_encoding: Encoding,
}

/// One finding ready to send.
#[derive(Debug)]
pub struct Encoded<'o> {
    pub topic: &'o str,
    pub key: String,
    pub payload: Vec<u8>,
}

impl Outputs {
    /// The record for a finding: its topic, key `lead_id`, encoded payload.
    pub fn encode(&self, finding: &Finding) -> Result<Encoded<'_>, EncodeError> {
        Ok(match finding {
            Finding::Violation(v) => Encoded {
                topic: &self.violations,
                key: v.lead_id.clone(),
                payload: codec::encode_violation(v, self.violation_encoding)?,
            },
            Finding::Qc(q) => Encoded {
                topic: &self.qc_reviews,
                key: q.lead_id.clone(),
                payload: codec::encode_qc_review(q, self.qc_encoding)?,
            },
        })
    }
}

/// Where a bad record came from.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

/// The dead-letter headers: the original headers first, then dozvon's.
pub fn dead_letter_headers(
    original: &OwnedHeaders,
    source: Source<'_>,
    kind: &str,
    error: &str,
) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new();
    for header in original.iter() {
        headers = headers.insert(Header {
            key: header.key,
            value: header.value,
        });
    }
    let partition = source.partition.to_string();
    let offset = source.offset.to_string();
    let mine: [(&str, &str); 5] = [
        (HEADER_ERROR, error),
        (HEADER_ERROR_KIND, kind),
        (HEADER_SOURCE_TOPIC, source.topic),
        (HEADER_SOURCE_PARTITION, &partition),
        (HEADER_SOURCE_OFFSET, &offset),
    ];
    for (key, value) in mine {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    headers
}
