//! The embedded Avro schemas (`schemas/*.avsc`), parsed once, with their fingerprints.

use std::sync::LazyLock;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;

/// Cap on any single allocation apache_avro makes while decoding (string, bytes, block, ...).
///
/// A corrupted length prefix would otherwise make it try to allocate up to 512 MiB.
pub const MAX_AVRO_ALLOCATION: usize = 16 << 20;

/// The record types dozvon reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Call,
    Lead,
    Violation,
    QcReview,
}

const SCHEMA_SOURCES: [&str; 4] = [
    include_str!("../../schemas/call_record.avsc"),
    include_str!("../../schemas/lead_event.avsc"),
    include_str!("../../schemas/violation.avsc"),
    include_str!("../../schemas/qc_review.avsc"),
];

static SCHEMAS: LazyLock<[Schema; 4]> = LazyLock::new(|| {
    SCHEMA_SOURCES.map(|source| {
        Schema::parse_str(source).expect("embedded schemas/*.avsc must parse (unit-tested)")
    })
});

/// A schema with its cached datum reader/writer and fingerprints.
pub(crate) struct Compiled {
    pub(crate) schema: &'static Schema,
    pub(crate) reader: GenericDatumReader<'static>,
    pub(crate) writer: GenericDatumWriter<'static>,
    pub(crate) canonical_form: String,
    /// CRC-64-AVRO of the Parsing Canonical Form as the Avro spec (and Java) define it.
    pub(crate) fingerprint: u64,
    /// apache_avro 0.22's fingerprint, which keeps `{"type":"long"}` for logical types
    /// (AVRO-4004); accepted on input so Rust producers using it interoperate.
    pub(crate) legacy_fingerprint: u64,
}

static COMPILED: LazyLock<[Compiled; 4]> = LazyLock::new(|| {
    apache_avro::util::max_allocation_bytes(MAX_AVRO_ALLOCATION);
    let schemas: &'static [Schema; 4] = &SCHEMAS;
    [0, 1, 2, 3].map(|i| compile(&schemas[i]))
});

fn compile(schema: &'static Schema) -> Compiled {
    let reader = GenericDatumReader::builder(schema)
        .build()
        .expect("embedded schema must resolve (unit-tested)");
    let writer = GenericDatumWriter::builder(schema)
        .build()
        .expect("embedded schema must resolve (unit-tested)");
    let library_form = schema.canonical_form();
    let canonical_form = spec_canonical_form(&library_form);
    Compiled {
        schema,
        reader,
        writer,
        fingerprint: rabin_fingerprint(canonical_form.as_bytes()),
        legacy_fingerprint: rabin_fingerprint(library_form.as_bytes()),
        canonical_form,
    }
}

/// apache_avro strips `logicalType` but leaves `{"type":"long"}` where the spec's [PRIMITIVES]
/// rule (and Java's `SchemaNormalization`) produce `"long"`. Names cannot contain `{`, so the
/// replacement cannot touch anything else.
pub(crate) fn spec_canonical_form(library_form: &str) -> String {
    const PRIMITIVES: [&str; 8] = [
        "null", "boolean", "int", "long", "float", "double", "bytes", "string",
    ];
    let mut form = library_form.to_owned();
    for primitive in PRIMITIVES {
        form = form.replace(
            &format!(r#"{{"type":"{primitive}"}}"#),
            &format!(r#""{primitive}""#),
        );
    }
    form
}

/// CRC-64-AVRO (Rabin) fingerprint, as defined in the Avro specification.
pub fn rabin_fingerprint(bytes: &[u8]) -> u64 {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    static TABLE: LazyLock<[u64; 256]> = LazyLock::new(|| {
        let mut table = [0u64; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut fp = i as u64;
            for _ in 0..8 {
                fp = (fp >> 1) ^ (EMPTY & (fp & 1).wrapping_neg());
            }
            *slot = fp;
        }
        table
    });
    let table: &[u64; 256] = &TABLE;
    bytes.iter().fold(EMPTY, |fp, &b| {
        (fp >> 8) ^ table[((fp ^ u64::from(b)) & 0xff) as usize]
    })
}

impl RecordKind {
    pub const ALL: [RecordKind; 4] = [
        RecordKind::Call,
        RecordKind::Lead,
        RecordKind::Violation,
        RecordKind::QcReview,
    ];

    fn index(self) -> usize {
        match self {
            RecordKind::Call => 0,
            RecordKind::Lead => 1,
            RecordKind::Violation => 2,
            RecordKind::QcReview => 3,
        }
    }

    /// Full Avro name, e.g. `dev.dozvon.CallRecord`.
    pub fn full_name(self) -> &'static str {
        match self {
            RecordKind::Call => "dev.dozvon.CallRecord",
            RecordKind::Lead => "dev.dozvon.LeadEvent",
            RecordKind::Violation => "dev.dozvon.Violation",
            RecordKind::QcReview => "dev.dozvon.QcReview",
        }
    }

    /// The schema text as shipped in `schemas/` (for registering with a Schema Registry).
    pub fn schema_json(self) -> &'static str {
        SCHEMA_SOURCES[self.index()]
    }

    /// The parsed schema.
    pub fn schema(self) -> &'static Schema {
        self.compiled().schema
    }

    /// The Parsing Canonical Form per the Avro specification.
    pub fn canonical_form(self) -> &'static str {
        &self.compiled().canonical_form
    }

    /// CRC-64-AVRO fingerprint of [`Self::canonical_form`], as written in single-object frames
    /// (little-endian there).
    pub fn fingerprint(self) -> u64 {
        self.compiled().fingerprint
    }

    /// The record kind whose schema has this fingerprint (spec or apache_avro variant).
    pub fn by_fingerprint(fingerprint: u64) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|kind| {
            let c = kind.compiled();
            c.fingerprint == fingerprint || c.legacy_fingerprint == fingerprint
        })
    }

    pub(crate) fn compiled(self) -> &'static Compiled {
        &COMPILED[self.index()]
    }
}

/// The allocation cap apache_avro actually enforces in this process: [`MAX_AVRO_ALLOCATION`]
/// unless something used apache_avro before this module did.
pub fn avro_allocation_limit() -> usize {
    LazyLock::force(&COMPILED);
    apache_avro::util::max_allocation_bytes(MAX_AVRO_ALLOCATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schemas_parse_with_expected_names() {
        for kind in RecordKind::ALL {
            match kind.schema() {
                Schema::Record(record) => {
                    assert_eq!(record.name.fullname(None), kind.full_name());
                }
                other => panic!("{kind:?} is not a record: {other:?}"),
            }
        }
    }

    #[test]
    fn rabin_matches_spec_vectors_and_apache_avro() {
        // Avro's schema-tests: fingerprint of the canonical form `"int"`.
        assert_eq!(rabin_fingerprint(br#""int""#) as i64, 8247732601305521295);
        assert_eq!(rabin_fingerprint(br#""null""#) as i64, 7195948357588979594);
        let int = Schema::parse_str(r#""int""#).unwrap();
        let lib = int.fingerprint::<apache_avro::rabin::Rabin>().bytes;
        assert_eq!(lib, rabin_fingerprint(br#""int""#).to_le_bytes());
    }

    #[test]
    fn canonical_form_collapses_logical_primitives() {
        for kind in RecordKind::ALL {
            let form = kind.canonical_form();
            assert!(!form.contains(r#"{"type":"long"}"#), "{form}");
            assert!(!form.contains("logicalType"), "{form}");
            assert!(!form.contains("doc"), "{form}");
        }
        let call = RecordKind::Call.canonical_form();
        assert!(
            call.contains(r#"{"name":"started_at","type":"long"}"#),
            "{call}"
        );
        assert_ne!(
            RecordKind::Call.compiled().legacy_fingerprint,
            RecordKind::Call.fingerprint()
        );
    }

    #[test]
    fn fingerprints_identify_kinds() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::by_fingerprint(kind.fingerprint()), Some(kind));
            let legacy = kind.compiled().legacy_fingerprint;
            assert_eq!(RecordKind::by_fingerprint(legacy), Some(kind));
        }
        assert_eq!(RecordKind::by_fingerprint(0), None);
    }

    #[test]
    fn allocation_limit_is_ours() {
        assert_eq!(avro_allocation_limit(), MAX_AVRO_ALLOCATION);
    }
}
