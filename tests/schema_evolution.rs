//! Avro schema evolution of the QC review (`duplicate_lead` and its fields added): data written
//! with the first schema reads with the current one, and a kind added later reads as `unknown`.

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use dozvon::codec::{self, RecordKind};
use dozvon::model::{QcKind, Timestamp};

/// `schemas/qc_review.avsc` before `duplicate_lead` (as first registered).
const QC_REVIEW_V1: &str = include_str!("fixtures/schemas/qc_review.v1.avsc");

fn v1() -> Schema {
    Schema::parse_str(QC_REVIEW_V1).expect("v1 schema parses")
}

fn current() -> &'static Schema {
    RecordKind::QcReview.schema()
}

/// The current schema with one more kind (and one more optional field), as a later release
/// might write.
fn future() -> Schema {
    let mut json: serde_json::Value =
        serde_json::from_str(RecordKind::QcReview.schema_json()).expect("schema is JSON");
    let fields = json["fields"].as_array_mut().expect("fields");
    let symbols = fields[1]["type"]["symbols"]
        .as_array_mut()
        .expect("symbols");
    symbols.insert(3, "future_kind".into());
    fields.push(
        serde_json::json!({"name": "future_field", "type": ["null", "string"], "default": null}),
    );
    Schema::parse(&json).expect("future schema parses")
}

fn null() -> Value {
    Value::Union(0, Box::new(Value::Null))
}

fn some(text: &str) -> Value {
    Value::Union(1, Box::new(Value::String(text.into())))
}

/// A v1 `rejection_recheck` datum.
fn v1_datum() -> Value {
    Value::Record(vec![
        ("review_id".into(), Value::String("r-1".into())),
        ("kind".into(), Value::Enum(1, "rejection_recheck".into())),
        ("tenant".into(), Value::String("default".into())),
        ("lead_id".into(), Value::String("L".into())),
        ("manager_id".into(), some("M")),
        ("call_id".into(), null()),
        ("recording_url".into(), null()),
        ("talk_seconds".into(), null()),
        ("premature".into(), Value::Boolean(true)),
        (
            "detected_at".into(),
            Value::TimestampMillis(1_772_438_400_000),
        ),
        ("rejection_reason".into(), some("не берет трубку")),
        ("stage".into(), some("JUNK")),
        (
            "attempts_total".into(),
            Value::Union(1, Box::new(Value::Int(5))),
        ),
    ])
}

fn write(schema: &Schema, value: Value) -> Vec<u8> {
    GenericDatumWriter::builder(schema)
        .build()
        .expect("writer")
        .write_value_to_vec(value)
        .expect("datum writes")
}

/// Reads `bytes` written with `writer` into the current schema's shape.
fn read_as_current(writer: &Schema, bytes: &[u8]) -> Value {
    GenericDatumReader::builder(writer)
        .reader_schema(current())
        .build()
        .expect("reader")
        .read_value(&mut &bytes[..])
        .expect("datum resolves")
}

fn field<'v>(value: &'v Value, name: &str) -> &'v Value {
    let Value::Record(fields) = value else {
        panic!("not a record: {value:?}")
    };
    &fields.iter().find(|(n, _)| n == name).expect(name).1
}

#[test]
fn the_current_schema_reads_what_the_first_one_wrote() {
    assert_eq!(
        SchemaCompatibility::can_read(&v1(), current()).expect("backward compatible"),
        Compatibility::Full
    );
    let resolved = read_as_current(&v1(), &write(&v1(), v1_datum()));
    // Back through dozvon's own decoder: the new fields are absent.
    let mut frame = vec![0xC3, 0x01];
    frame.extend_from_slice(&RecordKind::QcReview.fingerprint().to_le_bytes());
    frame.extend(write(current(), resolved));
    let review = codec::decode_qc_review(&frame).expect("decodes");
    assert_eq!(review.kind, QcKind::RejectionRecheck);
    assert_eq!(review.lead_id, "L");
    assert!(review.premature);
    assert_eq!(review.attempts_total, Some(5));
    assert_eq!(
        review.detected_at,
        Timestamp::from_millis(1_772_438_400_000).expect("in range")
    );
    assert_eq!(
        (
            review.earlier_lead_id,
            review.earlier_manager_id,
            review.matched_on
        ),
        (None, None, None)
    );
}

#[test]
fn a_kind_added_later_reads_as_unknown() {
    assert_eq!(
        SchemaCompatibility::can_read(&future(), current()).expect("forward compatible now"),
        Compatibility::Full
    );
    let mut datum = v1_datum();
    if let Value::Record(fields) = &mut datum {
        fields[1].1 = Value::Enum(3, "future_kind".into());
        fields.extend([
            ("earlier_lead_id".into(), null()),
            ("earlier_manager_id".into(), null()),
            ("matched_on".into(), null()),
            ("future_field".into(), some("x")),
        ]);
    }
    let resolved = read_as_current(&future(), &write(&future(), datum));
    assert_eq!(field(&resolved, "kind"), &Value::Enum(3, "unknown".into()));
    assert_eq!(field(&resolved, "lead_id"), &Value::String("L".into()));
}

#[test]
fn a_first_schema_reader_cannot_read_duplicate_lead() {
    // The first schema had no enum default: its readers read the old kinds of new data but fail
    // on the new kind (a Schema Registry with FORWARD or FULL compatibility refuses the new
    // version; BACKWARD, the default, takes it). docs/contacts.md: upgrade consumers first.
    assert_eq!(
        SchemaCompatibility::can_read(current(), &v1()).expect("some symbols match"),
        Compatibility::Partial
    );
    let read_as_v1 = |kind: Value| {
        let mut datum = v1_datum();
        if let Value::Record(fields) = &mut datum {
            fields[1].1 = kind;
            fields.extend([
                ("earlier_lead_id".into(), some("A")),
                ("earlier_manager_id".into(), some("M1")),
                ("matched_on".into(), some("phone")),
            ]);
        }
        let bytes = write(current(), datum);
        GenericDatumReader::builder(current())
            .reader_schema(&v1())
            .build()
            .expect("reader")
            .read_value(&mut &bytes[..])
    };
    let old_kind = read_as_v1(Value::Enum(1, "rejection_recheck".into())).expect("old kind reads");
    assert_eq!(
        field(&old_kind, "kind"),
        &Value::Enum(1, "rejection_recheck".into())
    );
    assert!(read_as_v1(Value::Enum(2, "duplicate_lead".into())).is_err());
}
