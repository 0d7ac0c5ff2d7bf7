//! Avro wire framings: Confluent (`00` + schema id) and single-object (`C3 01` + fingerprint).

use std::io::{self, Read};
use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;

use super::avro::AvroRecord;
use super::error::{DecodeError, EncodeError};
use super::schema::RecordKind;

/// First byte of a Confluent Schema Registry frame.
pub const CONFLUENT_MAGIC: u8 = 0x00;
/// Confluent header: magic byte and a 4-byte big-endian schema id.
pub const CONFLUENT_HEADER_LEN: usize = 5;
/// First two bytes of an Avro single-object frame.
pub const SINGLE_OBJECT_MAGIC: [u8; 2] = [0xC3, 0x01];
/// Single-object header: magic and the 8-byte little-endian CRC-64-AVRO schema fingerprint.
pub const SINGLE_OBJECT_HEADER_LEN: usize = 10;

/// Where the writer schema of an Avro frame comes from.
#[derive(Clone, Debug)]
pub enum WriterSchema {
    /// The schema embedded in dozvon (`schemas/*.avsc`).
    Embedded,
    /// Another schema; data is resolved into the embedded one (Avro schema evolution).
    Other(Arc<Schema>),
}

/// Supplies writer schemas for Avro frames, e.g. from a Confluent Schema Registry.
///
/// The plain `decode_*` functions use [`EmbeddedSchemas`]: every Confluent schema id is taken
/// to mean our embedded schema. A registry-backed resolver should cache by id; it is called
/// once per frame.
pub trait SchemaResolver {
    /// The writer schema registered under `schema_id` for records of `kind`;
    /// `Err` (e.g. unknown id, registry down) fails the frame with [`DecodeError::SchemaId`].
    fn by_id(&self, kind: RecordKind, schema_id: u32) -> Result<WriterSchema, String>;

    /// A writer schema for a single-object fingerprint that is not our embedded schema's;
    /// `None` (the default) fails the frame with [`DecodeError::FingerprintMismatch`].
    fn by_fingerprint(&self, kind: RecordKind, fingerprint: u64) -> Option<Arc<Schema>> {
        let _ = (kind, fingerprint);
        None
    }
}

/// The default resolver: every frame was written with the embedded schema.
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbeddedSchemas;

impl SchemaResolver for EmbeddedSchemas {
    fn by_id(&self, _kind: RecordKind, _schema_id: u32) -> Result<WriterSchema, String> {
        Ok(WriterSchema::Embedded)
    }
}

/// A reader over a byte slice that remembers whether anything tried to read past its end
/// (apache_avro turns some end-of-input conditions into `null` values instead of errors).
struct SliceReader<'a> {
    data: &'a [u8],
    pos: usize,
    hit_end: bool,
}

impl SliceReader<'_> {
    fn rest(&self) -> &[u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }
}

impl Read for SliceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.rest();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        if n == 0 && !buf.is_empty() {
            self.hit_end = true;
        }
        self.pos += n;
        Ok(n)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let rest = self.rest();
        if buf.len() > rest.len() {
            self.pos = self.data.len();
            self.hit_end = true;
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.copy_from_slice(&rest[..buf.len()]);
        self.pos += buf.len();
        Ok(())
    }
}

/// Decodes exactly one datum from `payload`; `base` is its offset in the frame (for errors).
fn read_datum(
    reader: &GenericDatumReader<'_>,
    payload: &[u8],
    base: usize,
) -> Result<Value, DecodeError> {
    let mut input = SliceReader {
        data: payload,
        pos: 0,
        hit_end: false,
    };
    let result = reader.read_value(&mut input);
    if input.hit_end {
        return Err(DecodeError::Truncated {
            offset: base + payload.len(),
        });
    }
    let value = result.map_err(|e| DecodeError::Avro {
        offset: base + input.pos,
        message: e.to_string(),
    })?;
    if input.pos < payload.len() {
        return Err(DecodeError::TrailingBytes {
            offset: base + input.pos,
            count: payload.len() - input.pos,
        });
    }
    Ok(value)
}

/// Decodes a datum written with `writer`, resolving it into our schema when it differs.
fn read_with<T: AvroRecord>(
    writer: WriterSchema,
    payload: &[u8],
    base: usize,
) -> Result<T, DecodeError> {
    let compiled = T::KIND.compiled();
    let value = match writer {
        WriterSchema::Embedded => read_datum(&compiled.reader, payload, base)?,
        WriterSchema::Other(schema) => {
            let reader = GenericDatumReader::builder(&schema)
                .reader_schema(compiled.schema)
                .build()
                .map_err(|e| DecodeError::Avro {
                    offset: base,
                    message: format!("writer schema unusable: {e}"),
                })?;
            read_datum(&reader, payload, base)?
        }
    };
    T::from_avro(value)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes a Confluent frame: `00`, 4-byte big-endian schema id, datum.
pub(crate) fn decode_confluent<T: AvroRecord>(
    bytes: &[u8],
    resolver: &dyn SchemaResolver,
) -> Result<T, DecodeError> {
    let Some((header, payload)) = bytes.split_first_chunk::<CONFLUENT_HEADER_LEN>() else {
        return Err(DecodeError::ShortFrame {
            format: "Confluent",
            needed: CONFLUENT_HEADER_LEN,
            available: bytes.len(),
        });
    };
    let [magic, id @ ..] = *header;
    if magic != CONFLUENT_MAGIC {
        return Err(DecodeError::BadMagic {
            format: "Confluent",
            expected: "00",
            found: hex(&[magic]),
        });
    }
    let schema_id = u32::from_be_bytes(id);
    let writer = resolver
        .by_id(T::KIND, schema_id)
        .map_err(|reason| DecodeError::SchemaId { schema_id, reason })?;
    read_with(writer, payload, CONFLUENT_HEADER_LEN)
}

/// Decodes a single-object frame: `C3 01`, 8-byte little-endian fingerprint, datum.
pub(crate) fn decode_single_object<T: AvroRecord>(
    bytes: &[u8],
    resolver: &dyn SchemaResolver,
) -> Result<T, DecodeError> {
    let Some((header, payload)) = bytes.split_first_chunk::<SINGLE_OBJECT_HEADER_LEN>() else {
        return Err(DecodeError::ShortFrame {
            format: "single-object",
            needed: SINGLE_OBJECT_HEADER_LEN,
            available: bytes.len(),
        });
    };
    let [m0, m1, fp @ ..] = *header;
    if [m0, m1] != SINGLE_OBJECT_MAGIC {
        return Err(DecodeError::BadMagic {
            format: "single-object",
            expected: "c301",
            found: hex(&[m0, m1]),
        });
    }
    let found = u64::from_le_bytes(fp);
    let compiled = T::KIND.compiled();
    let writer = if found == compiled.fingerprint || found == compiled.legacy_fingerprint {
        WriterSchema::Embedded
    } else if let Some(schema) = resolver.by_fingerprint(T::KIND, found) {
        WriterSchema::Other(schema)
    } else {
        return Err(DecodeError::FingerprintMismatch {
            record: T::KIND.full_name(),
            expected: compiled.fingerprint,
            found,
            other_record: RecordKind::by_fingerprint(found).map(RecordKind::full_name),
        });
    };
    read_with(writer, payload, SINGLE_OBJECT_HEADER_LEN)
}

/// Appends the Avro datum of `record` to `out`.
fn write_datum<T: AvroRecord>(record: &T, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let value = record.to_avro()?;
    T::KIND.compiled().writer.write_value_ref(out, &value)?;
    Ok(())
}

pub(crate) fn encode_confluent<T: AvroRecord>(
    record: &T,
    schema_id: u32,
) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    out.push(CONFLUENT_MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
    write_datum(record, &mut out)?;
    Ok(out)
}

pub(crate) fn encode_single_object<T: AvroRecord>(record: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(&SINGLE_OBJECT_MAGIC);
    out.extend_from_slice(&T::KIND.fingerprint().to_le_bytes());
    write_datum(record, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::fuzz_tests::{call, lead};
    use crate::codec::{Encoding, MAX_AVRO_ALLOCATION, avro_allocation_limit};
    use crate::codec::{decode_call, decode_call_with, decode_lead_with, encode_call, encode_lead};
    use crate::model::CallRecord;

    #[test]
    fn single_object_accepts_apache_avro_fingerprints() {
        // apache_avro 0.22 fingerprints a non-spec canonical form; its frames must still decode.
        let legacy = RecordKind::Call
            .schema()
            .fingerprint::<apache_avro::rabin::Rabin>()
            .bytes;
        assert_ne!(legacy, RecordKind::Call.fingerprint().to_le_bytes());
        let mut frame = encode_call(&call("a", true), Encoding::AvroSingleObject).unwrap();
        frame[2..10].copy_from_slice(&legacy);
        assert_eq!(decode_call(&frame).unwrap(), call("a", true));
    }

    #[test]
    fn corrupted_lengths_cannot_allocate_much() {
        // A string length of 100 MiB (below apache_avro's 512 MiB default) is refused up front.
        let mut frame = vec![0, 0, 0, 0, 1];
        let mut n = (100u64 << 20) << 1; // zigzag
        while n >= 0x80 {
            frame.push((n as u8) | 0x80);
            n >>= 7;
        }
        frame.push(n as u8);
        frame.extend_from_slice(b"abc");
        let err = decode_call(&frame).unwrap_err();
        // The offset is right after the length varint.
        assert!(matches!(err, DecodeError::Avro { offset: 9, .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("allocate 104857600 bytes (maximum allowed: 16777216)"),
            "{text}"
        );
        assert_eq!(avro_allocation_limit(), MAX_AVRO_ALLOCATION);
    }

    /// A registry that knows an older CallRecord schema (without `recording_url`).
    struct Registry {
        old_call: Arc<Schema>,
    }

    impl SchemaResolver for Registry {
        fn by_id(&self, kind: RecordKind, schema_id: u32) -> Result<WriterSchema, String> {
            match (kind, schema_id) {
                (RecordKind::Call, 1) => Ok(WriterSchema::Other(self.old_call.clone())),
                (_, 2) => Ok(WriterSchema::Embedded),
                _ => Err("not registered".into()),
            }
        }

        fn by_fingerprint(&self, kind: RecordKind, fingerprint: u64) -> Option<Arc<Schema>> {
            let old = self
                .old_call
                .fingerprint::<apache_avro::rabin::Rabin>()
                .bytes;
            (kind == RecordKind::Call && fingerprint.to_le_bytes()[..] == old[..])
                .then(|| self.old_call.clone())
        }
    }

    fn registry() -> Registry {
        let mut old: serde_json::Value =
            serde_json::from_str(RecordKind::Call.schema_json()).unwrap();
        old["fields"].as_array_mut().unwrap().pop();
        Registry {
            old_call: Arc::new(Schema::parse(&old).unwrap()),
        }
    }

    #[test]
    fn schema_resolver_supplies_writer_schemas() {
        let registry = registry();
        let expected = CallRecord {
            recording_url: None,
            ..call("a", true)
        };
        let mut frame = encode_call(&expected, Encoding::AvroConfluent { schema_id: 1 }).unwrap();
        frame.pop(); // drop the null branch of recording_url: now as the old schema writes it
        assert_eq!(decode_call_with(&frame, &registry).unwrap(), expected);
        // Without the registry the old datum is one field short.
        assert!(matches!(
            decode_call(&frame),
            Err(DecodeError::Truncated { .. })
        ));

        let lead = lead("a", true);
        let frame = encode_lead(&lead, Encoding::AvroConfluent { schema_id: 2 }).unwrap();
        assert_eq!(decode_lead_with(&frame, &registry).unwrap(), lead);
        let frame = encode_lead(&lead, Encoding::AvroConfluent { schema_id: 9 }).unwrap();
        let err = decode_lead_with(&frame, &registry).unwrap_err();
        assert_eq!(err.to_string(), "writer schema id 9: not registered");
        assert_eq!(err.kind(), "schema_id");
    }

    #[test]
    fn schema_resolver_can_vouch_for_other_fingerprints() {
        let registry = registry();
        let expected = CallRecord {
            recording_url: None,
            ..call("b", true)
        };
        let mut frame = encode_call(&expected, Encoding::AvroSingleObject).unwrap();
        frame.pop();
        let old = registry
            .old_call
            .fingerprint::<apache_avro::rabin::Rabin>()
            .bytes;
        frame[2..10].copy_from_slice(&old);
        assert_eq!(decode_call_with(&frame, &registry).unwrap(), expected);
        let err = decode_call(&frame).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::FingerprintMismatch {
                other_record: None,
                ..
            }
        ));
    }
}
