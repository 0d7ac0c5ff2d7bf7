//! Tests of the contacts topic's records: round trips, the schemas, refusals of bad bytes.

use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::types::Value;
use proptest::prelude::*;

use super::contacts::{ENTRY_FINGERPRINT, ENTRY_SCHEMA, MARKER_FINGERPRINT, MARKER_SCHEMA};
use super::tests_contacts_gen::{entry, marker};
use super::*;
use crate::contacts::{ContactEntry, ContactValue, Mark, StoredEntry};
use crate::engine::Secs;

/// The datum after the single-object header, read by apache_avro with `source`.
fn avro_read(source: &str, bytes: &[u8]) -> Value {
    crate::codec::schema::avro_allocation_limit();
    let schema = Schema::parse_str(source).expect("schema parses");
    let mut datum = &bytes[10..];
    let reader = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .expect("a datum reader");
    let value = reader.read_value(&mut datum).expect("avro reads it");
    assert!(datum.is_empty(), "apache_avro consumed every byte");
    value
}

/// A record's fields, checked to be exactly `names` in this order.
fn fields(value: Value, names: &[&str]) -> Vec<Value> {
    let Value::Record(fields) = value else {
        panic!("a record: {value:?}");
    };
    let got: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(got, names);
    fields.into_iter().map(|(_, v)| v).collect()
}

fn long(value: &Value) -> i64 {
    match value {
        Value::Long(n) => *n,
        other => panic!("a long: {other:?}"),
    }
}

fn secs(value: &Value) -> Secs {
    Secs::try_from(long(value)).expect("fits u32")
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => panic!("a string: {other:?}"),
    }
}

fn flag(value: &Value) -> bool {
    match value {
        Value::Boolean(b) => *b,
        other => panic!("a boolean: {other:?}"),
    }
}

fn optional(value: Value) -> Option<Value> {
    match value {
        Value::Union(0, inner) if *inner == Value::Null => None,
        Value::Union(1, inner) => Some(*inner),
        other => panic!("a [null, T] union: {other:?}"),
    }
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => panic!("an array: {other:?}"),
    }
}

fn avro_values(value: Value) -> Vec<ContactValue> {
    array(value)
        .into_iter()
        .map(|v| {
            let f = fields(v, &["value", "since", "last"]);
            ContactValue {
                value: text(&f[0]).into(),
                since: secs(&f[1]),
                last: secs(&f[2]),
            }
        })
        .collect()
}

fn avro_mark(value: Value) -> Mark {
    let f = fields(value, &["at", "key", "terminal", "manager"]);
    Mark {
        at: secs(&f[0]),
        key: long(&f[1]) as u64,
        terminal: flag(&f[2]),
        manager: optional(f[3].clone()).map(|m| Arc::from(text(&m))),
    }
}

/// What apache_avro read, as an entry, field by field.
fn avro_entry(value: Value) -> ContactEntry {
    let names = [
        "lead_id",
        "phones",
        "emails",
        "first",
        "created",
        "base",
        "base_manager",
        "recent",
        "base_activity",
        "recent_attempts",
        "unfolded_from",
        "duplicate_checked",
    ];
    let mut f = fields(value, &names).into_iter();
    let mut next = || f.next().expect("a field");
    ContactEntry {
        lead_id: text(&next()).into(),
        phones: avro_values(next()),
        emails: avro_values(next()),
        first: optional(next()).map(|v| {
            let f = fields(v, &["at", "key"]);
            (secs(&f[0]), long(&f[1]) as u64)
        }),
        created: secs(&next()),
        base: optional(next()).map(avro_mark),
        base_manager: optional(next()).map(|v| {
            let f = fields(v, &["at", "key", "manager"]);
            ((secs(&f[0]), long(&f[1]) as u64), Arc::from(text(&f[2])))
        }),
        recent: array(next()).into_iter().map(avro_mark).collect(),
        base_activity: secs(&next()),
        recent_attempts: array(next()).iter().map(secs).collect(),
        unfolded_from: secs(&next()),
        duplicate_checked: flag(&next()),
    }
}

fn avro_marker(value: Value) -> Marker {
    let f = fields(value, &["clock", "released"]);
    Marker {
        clock: optional(f[0].clone()).map(|v| secs(&v)),
        released: optional(f[1].clone()).map(|v| secs(&v)),
    }
}

proptest! {
    #[test]
    fn entries_pushed_back_to_back_are_the_records_encoded_one_by_one(
        entries in proptest::collection::vec(entry(), 0..6),
        tombstone in 0usize..6,
    ) {
        let mut managers = crate::contacts::Managers::default();
        let stored: Vec<StoredEntry> = entries
            .iter()
            .map(|entry| StoredEntry::from_wire(entry, &mut managers, 0))
            .collect();
        let mut out = Encoded::default();
        let mut expected = Vec::new();
        for (i, (entry, wire)) in stored.iter().zip(&entries).enumerate() {
            let tenant = format!("t{i}");
            let value = (i != tombstone).then_some((entry, &managers));
            push_entry(&mut out, &tenant, &wire.lead_id, value);
            expected.push((
                entry_key(&tenant, &wire.lead_id),
                value.map(|(entry, managers)| encode_stored(entry, managers)),
            ));
        }
        let got: Vec<(Vec<u8>, Option<Vec<u8>>)> = out
            .records()
            .map(|(key, value)| (key.to_vec(), value.map(<[u8]>::to_vec)))
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn entries_round_trip_and_follow_the_schema(entry in entry()) {
        let bytes = encode_entry(&entry);
        prop_assert_eq!(&bytes[..2], &[0xC3, 0x01]);
        let decoded = decode_entry(&bytes);
        prop_assert_eq!(decoded.as_ref(), Ok(&entry));
        prop_assert_eq!(avro_entry(avro_read(ENTRY_SCHEMA, &bytes)), entry);
    }

    #[test]
    fn markers_round_trip_and_follow_the_schema(marker in marker()) {
        let bytes = encode_marker(&marker);
        prop_assert_eq!(decode_marker(&bytes), Ok(marker));
        prop_assert_eq!(avro_marker(avro_read(MARKER_SCHEMA, &bytes)), marker);
    }

    #[test]
    fn keys_round_trip(tenant in "\\PC{0,12}", lead_id in "\\PC{0,12}", partition in 0..=i32::MAX) {
        let entry = entry_key(&tenant, &lead_id);
        prop_assert_eq!(entry[0], b'E');
        prop_assert_eq!(
            decode_contact_key(&entry),
            Ok(ContactKey::Entry { tenant, lead_id })
        );
        let marker = marker_key(partition);
        prop_assert_eq!(marker[0], b'M');
        prop_assert_eq!(decode_contact_key(&marker), Ok(ContactKey::Marker { partition }));
    }

    /// Arbitrary bytes, bare or behind a valid header, give an error (or, rarely, a valid
    /// record), never a panic or a huge allocation.
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_contact_key(&bytes);
        let _ = decode_entry(&bytes);
        let _ = decode_marker(&bytes);
        for fingerprint in [*ENTRY_FINGERPRINT, *MARKER_FINGERPRINT] {
            let framed = framed(fingerprint, |w| w.bytes.extend_from_slice(&bytes));
            let _ = decode_entry(&framed);
            let _ = decode_marker(&framed);
        }
    }

    /// A valid entry cut short is always an error; with bytes flipped, never a panic.
    #[test]
    fn damaged_entries_are_refused(
        entry in entry(),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
    ) {
        let bytes = encode_entry(&entry);
        let short = &bytes[..cut.index(bytes.len())];
        prop_assert!(decode_entry(short).is_err());
        let mut flipped = bytes.clone();
        for (at, byte) in flips {
            let len = flipped.len();
            flipped[10 + at.index(len - 10)] ^= byte;
        }
        let _ = decode_entry(&flipped);
    }
}

#[test]
fn marker_seconds_past_u32_name_the_field_and_offset() {
    let bytes = framed(*MARKER_FINGERPRINT, |w| {
        w.long(1);
        w.long(1 << 32); // five bytes zig-zagged: the read ends at byte 6 of the datum
        w.long(0);
    });
    assert_eq!(
        decode_marker(&bytes),
        Err(ChangelogError::Field {
            field: "clock",
            offset: 6,
            reason: "4294967296 is out of range".to_owned(),
        })
    );
    let negative = framed(*MARKER_FINGERPRINT, |w| {
        w.long(0);
        w.long(1);
        w.long(-1);
    });
    assert!(matches!(
        decode_marker(&negative),
        Err(ChangelogError::Field {
            field: "released",
            ..
        })
    ));
}

#[test]
fn entry_seconds_past_u32_name_the_field_and_offset() {
    let bytes = framed(*ENTRY_FINGERPRINT, |w| {
        w.string("L"); // bytes 0..2
        w.long(1); // one phone: byte 2
        w.string("p"); // bytes 3..5
        w.long(1 << 32); // since: bytes 5..10
    });
    assert_eq!(
        decode_entry(&bytes),
        Err(ChangelogError::Field {
            field: "phones.since",
            offset: 10,
            reason: "4294967296 is out of range".to_owned(),
        })
    );
}

#[test]
fn trailing_bytes_and_foreign_values_are_refused() {
    let mut entry = ContactEntry::new("L-1".into());
    entry.recent_attempts = vec![100];
    entry.unfolded_from = 100;
    let mut bytes = encode_entry(&entry);
    bytes.push(0);
    assert_eq!(
        decode_entry(&bytes),
        Err(ChangelogError::TrailingBytes { extra: 1 })
    );
    let mut marker = encode_marker(&Marker::default());
    marker.extend_from_slice(&[2, 4]);
    assert_eq!(
        decode_marker(&marker),
        Err(ChangelogError::TrailingBytes { extra: 2 })
    );
    let marker = encode_marker(&Marker {
        clock: Some(7),
        released: None,
    });
    assert_eq!(
        decode_entry(&marker),
        Err(ChangelogError::Mismatch {
            key: "contact entry",
            value: "contact marker",
        })
    );
    let mut unknown = marker.clone();
    unknown[5] ^= 0x10;
    assert!(matches!(
        decode_marker(&unknown),
        Err(ChangelogError::UnknownSchema { .. })
    ));
    assert_eq!(
        decode_marker(b"{\"clock\": 7}"),
        Err(ChangelogError::NotSingleObject)
    );
    // A changelog lead record is not a contact entry.
    let lead = framed(*LEAD_FINGERPRINT, |_| {});
    assert!(matches!(
        decode_entry(&lead),
        Err(ChangelogError::UnknownSchema { fingerprint }) if fingerprint == *LEAD_FINGERPRINT
    ));
}

#[test]
fn entries_breaking_the_directory_invariants_are_refused() {
    let mark = |at, key| Mark {
        at,
        key,
        terminal: false,
        manager: None,
    };
    let mut entry = ContactEntry::new("L".into());
    entry.recent = vec![mark(20, 1), mark(10, 2)];
    entry.unfolded_from = 10;
    assert!(matches!(
        decode_entry(&encode_entry(&entry)),
        Err(ChangelogError::Field {
            field: "recent",
            ..
        })
    ));
    entry.recent = vec![mark(10, 1), mark(10, 1)];
    assert!(matches!(
        decode_entry(&encode_entry(&entry)),
        Err(ChangelogError::Field {
            field: "recent",
            ..
        })
    ));
    entry.recent = vec![mark(10, 1), mark(20, 0)];
    entry.recent_attempts = vec![5];
    entry.unfolded_from = 10;
    assert!(matches!(
        decode_entry(&encode_entry(&entry)),
        Err(ChangelogError::Field {
            field: "unfolded_from",
            ..
        })
    ));
    entry.unfolded_from = 5;
    assert_eq!(decode_entry(&encode_entry(&entry)), Ok(entry));
}

#[test]
fn bad_keys_are_refused() {
    for bad in [
        &b""[..],
        b"X\x02ab",
        b"L\x02abL-1", // a changelog lead key
        b"M",
        b"M\x01",      // partition -1
        b"M\x02\x00",  // trailing bytes
        b"M\x80",      // truncated
        b"E\x08ab",    // tenant past the end
        b"E\x02a\xff", // lead id not UTF-8
    ] {
        assert!(
            matches!(decode_contact_key(bad), Err(ChangelogError::Key(_))),
            "{bad:?}"
        );
    }
    assert_eq!(
        decode_contact_key(b"E\x02ab"),
        Ok(ContactKey::Entry {
            tenant: "a".into(),
            lead_id: "b".into()
        })
    );
    // An entry key is exactly a changelog lead key with another kind byte.
    assert_eq!(entry_key("t", "L-1")[1..], key(b'L', "t", Some("L-1"))[1..]);
}

#[test]
fn the_contact_schemas_have_fingerprints() {
    let all = schemas();
    let fingerprints: std::collections::BTreeSet<u64> = all.iter().map(|s| s.2).collect();
    assert_eq!(fingerprints.len(), all.len(), "distinct");
    assert!(!fingerprints.contains(&0), "every schema parses");
}
