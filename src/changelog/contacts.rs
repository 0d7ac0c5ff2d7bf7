//! The `dozvon.contacts` topic's records (issue 7): contact entries and partition markers.
//
// Key: a kind byte, then for `E` (a lead's entry) the tenant's length as an Avro long, the
// tenant and the lead id (as the changelog's lead keys), for `M` (a partition's marker) the
// partition as an Avro long. Value: Avro single-object encoding of
// `schemas/contact_entry.avsc` or `schemas/contact_marker.avsc`, the fingerprint being the
// version, as in the changelog. The marker's encoding is also the value of
// `dozvon.calls-resolved`'s markers. The tenant is in the key only; the lead id is in both
// and the caller compares them.

use std::sync::{Arc, LazyLock};

use super::binary::{Reader, Writer};
use super::{ChangelogError, Encoded, fingerprint_of, framed, unframe, write_framed};
use crate::contacts::{ContactEntry, ContactValue, List, Managers, Mark, PackedMark, StoredEntry};
use crate::engine::Secs;

pub(super) const ENTRY_SCHEMA: &str = include_str!("../../schemas/contact_entry.avsc");
pub(super) const MARKER_SCHEMA: &str = include_str!("../../schemas/contact_marker.avsc");

pub(super) static ENTRY_FINGERPRINT: LazyLock<u64> = LazyLock::new(|| fingerprint_of(ENTRY_SCHEMA));
pub(super) static MARKER_FINGERPRINT: LazyLock<u64> =
    LazyLock::new(|| fingerprint_of(MARKER_SCHEMA));

/// What a `dozvon.contacts` key names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactKey {
    Entry { tenant: String, lead_id: String },
    Marker { partition: i32 },
}

/// A partition's progress marker (`schemas/contact_marker.avsc`; `None`: not yet known).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marker {
    /// The partition's input clock: its entries are published up to this time.
    pub clock: Option<Secs>,
    /// How far the partition's router has released the calls it held.
    pub released: Option<Secs>,
}

/// The key of a lead's contact entry.
pub fn entry_key(tenant: &str, lead_id: &str) -> Vec<u8> {
    super::key(ENTRY_KIND, tenant, Some(lead_id))
}

/// The key of a partition's marker (partitions are never negative; a negative one is refused
/// when read).
pub fn marker_key(partition: i32) -> Vec<u8> {
    let mut w = Writer::default();
    w.bytes.push(b'M');
    w.long(i64::from(partition));
    w.bytes
}

/// The first byte of a lead's entry key (a marker's is `M`).
pub const ENTRY_KIND: u8 = b'E';

/// A `dozvon.contacts` key back as what it names.
pub fn decode_contact_key(bytes: &[u8]) -> Result<ContactKey, ChangelogError> {
    let key_error = |e: ChangelogError| ChangelogError::Key(e.to_string());
    let (&kind, rest) = bytes
        .split_first()
        .ok_or_else(|| ChangelogError::Key("empty".to_owned()))?;
    let mut r = Reader::new(rest);
    match kind {
        ENTRY_KIND => {
            let tenant = r.string("key.tenant").map_err(key_error)?;
            let lead_id = std::str::from_utf8(&rest[r.at..])
                .map_err(|e| ChangelogError::Key(format!("lead id is not UTF-8: {e}")))?
                .to_owned();
            Ok(ContactKey::Entry { tenant, lead_id })
        }
        b'M' => {
            let partition: i32 = r.int("key.partition").map_err(key_error)?;
            if partition < 0 {
                return Err(ChangelogError::Key(format!("partition {partition}")));
            }
            r.finish().map_err(key_error)?;
            Ok(ContactKey::Marker { partition })
        }
        other => Err(ChangelogError::Key(format!(
            "unknown record kind {other:#04x} in the contacts topic"
        ))),
    }
}

/// A lead's contact entry as a single-object encoded value.
pub fn encode_entry(entry: &ContactEntry) -> Vec<u8> {
    let mut managers = Managers::default();
    encode_stored(&StoredEntry::from_wire(entry, &mut managers, 0), &managers)
}

/// A stored entry as [`encode_entry`] writes it, its manager symbols named by its tenant's
/// `managers` (what the directory publishes, without building a [`ContactEntry`] first).
pub fn encode_stored(entry: &StoredEntry, managers: &Managers) -> Vec<u8> {
    framed(*ENTRY_FINGERPRINT, |w| write_entry(w, entry, managers))
}

/// A contact entry value back as the entry.
pub fn decode_entry(bytes: &[u8]) -> Result<ContactEntry, ChangelogError> {
    let (fingerprint, datum) = unframe(bytes)?;
    if fingerprint != *ENTRY_FINGERPRINT {
        return Err(refused(fingerprint, "contact entry"));
    }
    let mut r = Reader::new(datum);
    let entry = read_entry(&mut r)?;
    r.finish()?;
    Ok(entry)
}

/// Appends a lead's contact entry record to `out`: key [`entry_key`], value
/// [`encode_stored`] (`None`: a tombstone, the lead forgotten).
pub fn push_entry(
    out: &mut Encoded,
    tenant: &str,
    lead_id: &str,
    entry: Option<(&StoredEntry, &Managers)>,
) {
    out.push_with(ENTRY_KIND, tenant, Some(lead_id), |w| match entry {
        Some((entry, managers)) => {
            write_framed(w, *ENTRY_FINGERPRINT, |w| write_entry(w, entry, managers));
            true
        }
        None => false,
    });
}

/// A marker as a single-object encoded value.
pub fn encode_marker(marker: &Marker) -> Vec<u8> {
    framed(*MARKER_FINGERPRINT, |w| {
        optional_secs(w, marker.clock);
        optional_secs(w, marker.released);
    })
}

/// A marker value back as the marker.
pub fn decode_marker(bytes: &[u8]) -> Result<Marker, ChangelogError> {
    let (fingerprint, datum) = unframe(bytes)?;
    if fingerprint != *MARKER_FINGERPRINT {
        return Err(refused(fingerprint, "contact marker"));
    }
    let mut r = Reader::new(datum);
    let marker = Marker {
        clock: read_optional_secs(&mut r, "clock")?,
        released: read_optional_secs(&mut r, "released")?,
    };
    r.finish()?;
    Ok(marker)
}

/// The error for a value of another known record (a mismatch) or of an unknown schema.
fn refused(fingerprint: u64, expected: &'static str) -> ChangelogError {
    let value = if fingerprint == *ENTRY_FINGERPRINT {
        "contact entry"
    } else if fingerprint == *MARKER_FINGERPRINT {
        "contact marker"
    } else {
        return ChangelogError::UnknownSchema { fingerprint };
    };
    ChangelogError::Mismatch {
        key: expected,
        value,
    }
}

fn optional_secs(w: &mut Writer, value: Option<Secs>) {
    match value {
        None => w.long(0),
        Some(t) => {
            w.long(1);
            w.long(i64::from(t));
        }
    }
}

fn read_optional_secs(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<Option<Secs>, ChangelogError> {
    match r.branch(field, 2)? {
        0 => Ok(None),
        _ => r.int(field).map(Some),
    }
}

/// An Avro array of `count` items (as `Writer::block`, from an iterator).
fn block<T>(
    w: &mut Writer,
    count: usize,
    items: impl Iterator<Item = T>,
    mut item: impl FnMut(&mut Writer, T),
) {
    if count > 0 {
        w.long(count as i64);
        for value in items {
            item(w, value);
        }
    }
    w.long(0);
}

fn write_values(w: &mut Writer, entry: &StoredEntry, list: List) {
    block(w, entry.value_count(list), entry.values(list), |w, v| {
        w.string(v.as_str());
        w.long(i64::from(v.since));
        w.long(i64::from(v.last));
    });
}

fn write_mark(w: &mut Writer, mark: PackedMark, managers: &Managers) {
    w.long(i64::from(mark.at));
    w.long(mark.key as i64);
    w.boolean(mark.terminal);
    w.optional_string(managers.name(mark.who).map(|m| &**m));
}

fn write_entry(w: &mut Writer, entry: &StoredEntry, managers: &Managers) {
    w.string(entry.lead_id());
    write_values(w, entry, List::Phones);
    write_values(w, entry, List::Emails);
    match entry.first() {
        None => w.long(0),
        Some((at, key)) => {
            w.long(1);
            w.long(i64::from(at));
            w.long(key as i64);
        }
    }
    w.long(i64::from(entry.created()));
    match entry.base() {
        None => w.long(0),
        Some(mark) => {
            w.long(1);
            write_mark(w, mark, managers);
        }
    }
    let base_manager = entry
        .base_manager()
        .and_then(|(order, who)| Some((order, managers.name(who)?)));
    match base_manager {
        None => w.long(0),
        Some(((at, key), manager)) => {
            w.long(1);
            w.long(i64::from(at));
            w.long(key as i64);
            w.string(manager);
        }
    }
    let recent = entry.recent();
    block(w, recent.len(), recent.iter(), |w, m| {
        write_mark(w, m, managers);
    });
    w.long(i64::from(entry.base_activity()));
    let attempts = entry.recent_attempts();
    block(w, attempts.len(), attempts.iter(), |w, at| {
        w.long(i64::from(at));
    });
    w.long(i64::from(entry.unfolded_from()));
    w.boolean(entry.duplicate_checked());
}

/// Names of a value list's fields (`phones.*` or `emails.*`).
type ValueFields = [&'static str; 3];

fn read_values(
    r: &mut Reader<'_>,
    list: &'static str,
    [value, since, last]: ValueFields,
) -> Result<Vec<ContactValue>, ChangelogError> {
    r.block(list, |r| {
        Ok(ContactValue {
            value: r.string(value)?.into(),
            since: r.int(since)?,
            last: r.int(last)?,
        })
    })
}

fn read_mark(
    r: &mut Reader<'_>,
    [at, key, terminal, manager]: [&'static str; 4],
) -> Result<Mark, ChangelogError> {
    Ok(Mark {
        at: r.int(at)?,
        key: r.long(key)? as u64,
        terminal: r.boolean(terminal)?,
        manager: r.optional_string(manager)?.map(Arc::from),
    })
}

fn read_entry(r: &mut Reader<'_>) -> Result<ContactEntry, ChangelogError> {
    let lead_id: Arc<str> = r.string("lead_id")?.into();
    let phones = read_values(r, "phones", ["phones.value", "phones.since", "phones.last"])?;
    let emails = read_values(r, "emails", ["emails.value", "emails.since", "emails.last"])?;
    let first = match r.branch("first", 2)? {
        0 => None,
        _ => Some((r.int("first.at")?, r.long("first.key")? as u64)),
    };
    let created = r.int("created")?;
    let base = match r.branch("base", 2)? {
        0 => None,
        _ => Some(read_mark(
            r,
            ["base.at", "base.key", "base.terminal", "base.manager"],
        )?),
    };
    let base_manager = match r.branch("base_manager", 2)? {
        0 => None,
        _ => {
            let at = r.int("base_manager.at")?;
            let key = r.long("base_manager.key")? as u64;
            Some(((at, key), r.string("base_manager.manager")?.into()))
        }
    };
    let recent = r.block("recent", |r| {
        read_mark(
            r,
            [
                "recent.at",
                "recent.key",
                "recent.terminal",
                "recent.manager",
            ],
        )
    })?;
    if recent
        .windows(2)
        .any(|pair| (pair[0].at, pair[0].key) >= (pair[1].at, pair[1].key))
    {
        return Err(invalid(r, "recent", "events not sorted by (at, key)"));
    }
    let base_activity = r.int("base_activity")?;
    let recent_attempts = r.block("recent_attempts", |r| r.int("recent_attempts"))?;
    let unfolded_from: Secs = r.int("unfolded_from")?;
    // Folding is skipped until the watermark passes `unfolded_from`: a later time than the
    // earliest unfolded event or attempt would keep stale history forever.
    let earliest = recent
        .first()
        .map(|m| m.at)
        .into_iter()
        .chain(recent_attempts.iter().copied())
        .min();
    if earliest.is_some_and(|earliest| unfolded_from > earliest) {
        return Err(invalid(
            r,
            "unfolded_from",
            format!("{unfolded_from} is after the earliest unfolded time {earliest:?}"),
        ));
    }
    let duplicate_checked = r.boolean("duplicate_checked")?;
    Ok(ContactEntry {
        lead_id,
        phones,
        emails,
        first,
        created,
        base,
        base_manager,
        recent,
        base_activity,
        recent_attempts,
        unfolded_from,
        duplicate_checked,
    })
}

fn invalid(r: &Reader<'_>, field: &'static str, reason: impl Into<String>) -> ChangelogError {
    ChangelogError::Field {
        field,
        offset: r.at,
        reason: reason.into(),
    }
}
