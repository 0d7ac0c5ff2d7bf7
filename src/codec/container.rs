//! Avro object container files (`Obj\x01` header, schema, blocks) of calls and lead events.

use std::io::{Read, Write};

use apache_avro::{Reader, Writer};

use super::avro::AvroRecord;
use super::error::{DecodeError, EncodeError};
use crate::model::{CallRecord, LeadEvent};

/// Magic bytes at the start of every Avro object container file.
pub const CONTAINER_MAGIC: [u8; 4] = *b"Obj\x01";

/// Whether `first_bytes` (at least four bytes of a file) start an Avro object container file.
pub fn is_avro_container(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(&CONTAINER_MAGIC)
}

fn container_error(message: impl Into<String>) -> DecodeError {
    DecodeError::Container {
        message: message.into(),
    }
}

/// Opens a container of `T` records; the file's writer schema is resolved into ours.
fn read_container<T: AvroRecord, R: Read>(
    input: R,
) -> Result<impl Iterator<Item = Result<T, DecodeError>>, DecodeError> {
    let ours = T::KIND.compiled().schema;
    let reader = Reader::builder(input)
        .reader_schema(ours)
        .schemata(Vec::new())
        .build()
        .map_err(|e| container_error(format!("unreadable header: {e}")))?;
    let found = match reader.writer_schema() {
        apache_avro::Schema::Record(record) => record.name.fullname(None),
        other => format!("{:?}", apache_avro::schema::SchemaKind::from(other)),
    };
    let expected = T::KIND.full_name();
    // Records carry the full name; also accept a writer that left out the namespace.
    let short = expected.rsplit('.').next().unwrap_or(expected);
    if found != expected && found != short {
        return Err(container_error(format!(
            "the file holds {found} records, expected {expected}"
        )));
    }
    Ok(reader.enumerate().map(|(index, item)| {
        let value = item.map_err(|e| container_error(format!("record {index}: {e}")))?;
        T::from_avro(value)
    }))
}

/// Writes `records` as a container file (null codec) and returns the writer.
fn write_container<'r, T: AvroRecord + 'r, W: Write>(
    output: W,
    records: impl IntoIterator<Item = &'r T>,
) -> Result<W, EncodeError> {
    let mut writer = Writer::new(T::KIND.compiled().schema, output)?;
    for record in records {
        writer.append_value_ref(&record.to_avro()?)?;
    }
    Ok(writer.into_inner()?)
}

/// Reads an Avro container file of call-detail records. Fails up front on a bad header or a
/// file of another record type; afterwards yields one result per record and stops after the
/// first container-level error.
pub fn read_calls_container<R: Read>(
    input: R,
) -> Result<impl Iterator<Item = Result<CallRecord<'static>, DecodeError>>, DecodeError> {
    read_container(input)
}

/// Reads an Avro container file of lead events (see [`read_calls_container`]).
pub fn read_leads_container<R: Read>(
    input: R,
) -> Result<impl Iterator<Item = Result<LeadEvent<'static>, DecodeError>>, DecodeError> {
    read_container(input)
}

/// Writes call-detail records as an Avro container file (null codec); returns the writer.
pub fn write_calls_container<'r, 'c: 'r, W: Write>(
    output: W,
    calls: impl IntoIterator<Item = &'r CallRecord<'c>>,
) -> Result<W, EncodeError> {
    write_container(output, calls)
}

/// Writes lead events as an Avro container file (null codec); returns the writer.
pub fn write_leads_container<'r, 'l: 'r, W: Write>(
    output: W,
    leads: impl IntoIterator<Item = &'r LeadEvent<'l>>,
) -> Result<W, EncodeError> {
    write_container(output, leads)
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;
    use apache_avro::{Codec, DeflateSettings, Schema};

    use super::*;
    use crate::codec::schema::RecordKind;
    use crate::model::{Direction, Disposition, Timestamp};

    fn call(i: u32) -> CallRecord<'static> {
        CallRecord {
            call_id: format!("c{i}").into(),
            tenant: Some("acme".into()),
            lead_id: None,
            phone: "79000000000".into(),
            manager_id: Some("m1".into()),
            direction: Direction::Inbound,
            started_at: Timestamp::from_millis(1_772_434_800_000 + i64::from(i)).unwrap(),
            talk_seconds: i,
            disposition: Disposition::Busy,
            recording_url: Some(format!("https://rec/{i}").into()),
        }
    }

    #[test]
    fn reads_deflate_containers() {
        let schema = RecordKind::Call.schema();
        let codec = Codec::Deflate(DeflateSettings::default());
        let mut writer = Writer::with_codec(schema, Vec::new(), codec).unwrap();
        for i in 0..50 {
            writer
                .append_value_ref(&call(i).to_avro().unwrap())
                .unwrap();
        }
        let bytes = writer.into_inner().unwrap();
        let read: Vec<_> = read_calls_container(&bytes[..])
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read, (0..50).map(call).collect::<Vec<_>>());
    }

    #[test]
    fn refuses_a_container_of_another_record_type() {
        let bytes = write_calls_container(Vec::new(), &[call(1)]).unwrap();
        let err = read_leads_container(&bytes[..]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "Avro container: the file holds dev.dozvon.CallRecord records, expected dev.dozvon.LeadEvent"
        );
        let err = read_calls_container(&b"Obj\x02"[..]).err().unwrap();
        assert!(err.to_string().contains("unreadable header"), "{err}");
    }

    #[test]
    fn resolves_an_older_writer_schema() {
        // An earlier CallRecord without manager_id and recording_url.
        let old = Schema::parse_str(
            r#"{"type":"record","name":"CallRecord","namespace":"dev.dozvon","fields":[
            {"name":"call_id","type":"string"},
            {"name":"tenant","type":["null","string"],"default":null},
            {"name":"lead_id","type":["null","string"],"default":null},
            {"name":"phone","type":"string"},
            {"name":"direction","type":{"type":"enum","name":"Direction","symbols":["outbound","inbound"]}},
            {"name":"started_at","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"talk_seconds","type":"int"},
            {"name":"disposition","type":{"type":"enum","name":"Disposition","symbols":["answered","no_answer","busy","failed"]}}]}"#,
        )
        .unwrap();
        let mut writer = Writer::new(&old, Vec::new()).unwrap();
        let Value::Record(items) = call(7).to_avro().unwrap() else {
            panic!("not a record")
        };
        let items: Vec<_> = items
            .into_iter()
            .filter(|(name, _)| name != "manager_id" && name != "recording_url")
            .collect();
        writer.append_value_ref(&Value::Record(items)).unwrap();
        let bytes = writer.into_inner().unwrap();
        let read: Vec<_> = read_calls_container(&bytes[..]).unwrap().collect();
        let expected = CallRecord {
            manager_id: None,
            recording_url: None,
            ..call(7)
        };
        assert_eq!(read, vec![Ok(expected)]);
    }
}
