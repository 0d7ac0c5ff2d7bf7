//! Engine state (the changelog, issue 4) and contact directory records (issue 7) as Kafka records.
//
// Key: a kind byte (`L` lead, `T` tenant), the tenant's length as an Avro long, the tenant,
// then the lead id (`L` only) — unique per lead, stable, and never mistaken for the tenant's
// record. Value: Avro single-object encoding (0xC3 0x01, the schema's CRC-64-AVRO fingerprint,
// little-endian, then the datum) of `schemas/lead_state.avsc` or `schemas/tenant_state.avsc`.
// The fingerprint is the format's version: a reader knows the fingerprints of every schema
// version it can read and refuses others with a message, never guessing. A forgotten
// (evicted) lead is a tombstone: its key with no value.

mod binary;
mod contacts;
mod records;

use std::sync::LazyLock;

use apache_avro::Schema;

use crate::codec::schema::{rabin_fingerprint, spec_canonical_form};
use crate::engine::StateChange;
use binary::{Reader, Writer};
pub use contacts::{
    ContactKey, ENTRY_KIND, Marker, decode_contact_key, decode_entry, decode_marker, encode_entry,
    encode_marker, encode_stored, entry_key, marker_key, push_entry,
};

/// Why a changelog record could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChangelogError {
    #[error("changelog key: {0}")]
    Key(String),
    #[error("changelog value is not Avro single-object encoded (no 0xC3 0x01 header)")]
    NotSingleObject,
    #[error(
        "changelog value written with schema fingerprint {fingerprint:#018x}, which this \
         dozvon does not know (a newer version wrote it?); refusing to guess"
    )]
    UnknownSchema { fingerprint: u64 },
    #[error("changelog key says {key} but the value is a {value}")]
    Mismatch {
        key: &'static str,
        value: &'static str,
    },
    #[error("changelog field {field} at byte {offset}: {reason}")]
    Field {
        field: &'static str,
        offset: usize,
        reason: String,
    },
    #[error("changelog value has {extra} bytes after the record")]
    TrailingBytes { extra: usize },
}

const LEAD_SCHEMA: &str = include_str!("../../schemas/lead_state.avsc");
const TENANT_SCHEMA: &str = include_str!("../../schemas/tenant_state.avsc");

/// The fingerprint of an embedded schema's canonical form.
fn fingerprint_of(source: &str) -> u64 {
    // apache_avro fixes its allocation cap at its first use in the process: the codec's.
    crate::codec::schema::avro_allocation_limit();
    match Schema::parse_str(source) {
        Ok(schema) => rabin_fingerprint(spec_canonical_form(&schema.canonical_form()).as_bytes()),
        // Unreachable: the embedded schemas parse (unit-tested); 0 matches no record.
        Err(_) => 0,
    }
}

static LEAD_FINGERPRINT: LazyLock<u64> = LazyLock::new(|| fingerprint_of(LEAD_SCHEMA));
static TENANT_FINGERPRINT: LazyLock<u64> = LazyLock::new(|| fingerprint_of(TENANT_SCHEMA));

/// The current schema versions: (what, schema JSON, fingerprint).
pub fn schemas() -> [(&'static str, &'static str, u64); 4] {
    [
        ("lead", LEAD_SCHEMA, *LEAD_FINGERPRINT),
        ("tenant", TENANT_SCHEMA, *TENANT_FINGERPRINT),
        (
            "contact entry",
            contacts::ENTRY_SCHEMA,
            *contacts::ENTRY_FINGERPRINT,
        ),
        (
            "contact marker",
            contacts::MARKER_SCHEMA,
            *contacts::MARKER_FINGERPRINT,
        ),
    ]
}

fn key(kind: u8, tenant: &str, lead_id: Option<&str>) -> Vec<u8> {
    let mut w = Writer::default();
    write_key(&mut w, kind, tenant, lead_id);
    w.bytes
}

fn write_key(w: &mut Writer, kind: u8, tenant: &str, lead_id: Option<&str>) {
    w.bytes.push(kind);
    w.string(tenant);
    if let Some(lead_id) = lead_id {
        w.bytes.extend_from_slice(lead_id.as_bytes());
    }
}

fn framed(fingerprint: u64, write: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::default();
    write_framed(&mut w, fingerprint, write);
    w.bytes
}

fn write_framed(w: &mut Writer, fingerprint: u64, write: impl FnOnce(&mut Writer)) {
    w.bytes.extend_from_slice(&[0xC3, 0x01]);
    w.bytes.extend_from_slice(&fingerprint.to_le_bytes());
    write(w);
}

/// A single-object encoded value's schema fingerprint and datum.
fn unframe(value: &[u8]) -> Result<(u64, &[u8]), ChangelogError> {
    let Some((header, datum)) = value.split_at_checked(10) else {
        return Err(ChangelogError::NotSingleObject);
    };
    if header[..2] != [0xC3, 0x01] {
        return Err(ChangelogError::NotSingleObject);
    }
    let mut fingerprint = [0u8; 8];
    fingerprint.copy_from_slice(&header[2..]);
    Ok((u64::from_le_bytes(fingerprint), datum))
}

/// A change as a Kafka record: key and value (`None`: a tombstone).
pub fn encode(change: &StateChange<'_>) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut one = Encoded::default();
    one.push(change);
    let Ends { key, has_value, .. } = one.ends[0];
    let value = has_value.then(|| one.bytes[key..].to_vec());
    one.bytes.truncate(key);
    (one.bytes, value)
}

/// Where one record of an [`Encoded`] batch ends.
#[derive(Clone, Copy, Debug)]
struct Ends {
    key: usize,
    value: usize,
    has_value: bool,
}

/// Changelog records encoded back to back into one buffer, kept between commits so that
/// encoding a commit's changes allocates nothing once the buffer has grown.
#[derive(Debug, Default)]
pub struct Encoded {
    bytes: Vec<u8>,
    ends: Vec<Ends>,
}

impl Encoded {
    /// Above this, the buffer is given back after a batch (one huge commit, e.g. a restore,
    /// does not pin its memory).
    const KEEP_BYTES: usize = 16 << 20;

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        if self.bytes.capacity() > Self::KEEP_BYTES {
            self.bytes.shrink_to(Self::KEEP_BYTES);
        }
    }

    pub fn push(&mut self, change: &StateChange<'_>) {
        let (kind, tenant, lead_id) = match change {
            StateChange::Lead(lead) => (b'L', &*lead.tenant, Some(&*lead.lead_id)),
            StateChange::Tenant(tenant) => (b'T', &*tenant.tenant, None),
            StateChange::Forget { tenant, lead_id } => (b'L', &**tenant, Some(&**lead_id)),
        };
        self.push_with(kind, tenant, lead_id, |w| match change {
            StateChange::Lead(lead) => {
                write_framed(w, *LEAD_FINGERPRINT, |w| records::write_lead(w, lead));
                true
            }
            StateChange::Tenant(tenant) => {
                write_framed(w, *TENANT_FINGERPRINT, |w| records::write_tenant(w, tenant));
                true
            }
            StateChange::Forget { .. } => false,
        });
    }

    /// Appends a record keyed `kind` + `tenant` (+ `lead_id`) whose value `write_value` writes
    /// (returning `false`: none, a tombstone).
    fn push_with(
        &mut self,
        kind: u8,
        tenant: &str,
        lead_id: Option<&str>,
        write_value: impl FnOnce(&mut Writer) -> bool,
    ) {
        let mut w = Writer {
            bytes: std::mem::take(&mut self.bytes),
        };
        write_key(&mut w, kind, tenant, lead_id);
        let key = w.bytes.len();
        let has_value = write_value(&mut w);
        self.ends.push(Ends {
            key,
            value: w.bytes.len(),
            has_value,
        });
        self.bytes = w.bytes;
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The records in order: key, value (`None`: a tombstone).
    pub fn records(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |ends| {
            let key = &self.bytes[start..ends.key];
            let value = ends.has_value.then(|| &self.bytes[ends.key..ends.value]);
            start = ends.value;
            (key, value)
        })
    }
}

/// A Kafka record of the changelog back as a change, borrowing its strings from the bytes.
pub fn decode<'a>(
    key_bytes: &'a [u8],
    value: Option<&'a [u8]>,
) -> Result<StateChange<'a>, ChangelogError> {
    let (&kind, rest) = key_bytes
        .split_first()
        .ok_or_else(|| ChangelogError::Key("empty".to_owned()))?;
    let mut r = Reader::new(rest);
    let tenant = r
        .str("key.tenant")
        .map_err(|e| ChangelogError::Key(e.to_string()))?;
    let lead_id = std::str::from_utf8(&rest[r.at..])
        .map_err(|e| ChangelogError::Key(format!("lead id is not UTF-8: {e}")))?;
    let Some(value) = value else {
        return match kind {
            b'L' => Ok(StateChange::Forget {
                tenant: tenant.into(),
                lead_id: lead_id.into(),
            }),
            _ => Err(ChangelogError::Key(format!(
                "a tombstone for record kind {kind:#04x}"
            ))),
        };
    };
    let (fingerprint, datum) = unframe(value)?;
    let mut r = Reader::new(datum);
    let change = if fingerprint == *LEAD_FINGERPRINT {
        let lead = records::read_lead(&mut r)?;
        if kind != b'L' || lead.tenant != tenant || lead.lead_id != lead_id {
            return Err(ChangelogError::Mismatch {
                key: key_kind(kind),
                value: "lead",
            });
        }
        StateChange::Lead(Box::new(lead))
    } else if fingerprint == *TENANT_FINGERPRINT {
        let record = records::read_tenant(&mut r)?;
        if kind != b'T' || record.tenant != tenant {
            return Err(ChangelogError::Mismatch {
                key: key_kind(kind),
                value: "tenant",
            });
        }
        StateChange::Tenant(record)
    } else {
        return Err(ChangelogError::UnknownSchema { fingerprint });
    };
    r.finish()?;
    Ok(change)
}

fn key_kind(kind: u8) -> &'static str {
    match kind {
        b'L' => "lead",
        b'T' => "tenant",
        _ => "an unknown kind",
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_contacts;
#[cfg(test)]
mod tests_contacts_gen;
