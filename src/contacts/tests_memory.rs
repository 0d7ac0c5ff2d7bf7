//! The contact directory's bytes per lead on generated data, stored layout against the field-per-`Vec` layout it replaced (run by hand: `DOZVON_MEM_DATA=DIR cargo test --lib contact_bytes_per_lead -- --ignored --nocapture`, DIR holding `dozvon gen --out`'s files).

use std::path::Path;
use std::sync::Arc;

use super::{ContactEntry, StoredEntry};
use crate::config::Config;
use crate::engine::Engine;
use crate::model::{CallRecord, InputEvent, LeadEvent};
use crate::replay::{Driver, InputFile};

/// Heap bytes of the replaced layout: a 216-byte slot (208-byte entry + owner), the `Arc<str>`
/// id (16 bytes of counts), `Vec`s at exact capacity (24-byte values, 32-byte marks, 4-byte
/// attempts) and each value's boxed text; and its allocation count.
fn replaced_bytes(entry: &ContactEntry) -> (usize, usize, usize) {
    let values = |list: &[_]| {
        let texts: usize = list
            .iter()
            .map(|v: &super::ContactValue| v.value.len())
            .sum();
        let allocs = usize::from(!list.is_empty()) + list.len();
        (24 * list.len() + texts, allocs)
    };
    let (phones, phone_allocs) = values(&entry.phones);
    let (emails, email_allocs) = values(&entry.emails);
    let heap = 16
        + entry.lead_id.len()
        + phones
        + emails
        + 32 * entry.recent.len()
        + 4 * entry.recent_attempts.len();
    let allocs = 1
        + phone_allocs
        + email_allocs
        + usize::from(!entry.recent.is_empty())
        + usize::from(!entry.recent_attempts.is_empty());
    (216, heap, allocs)
}

/// A request's size in mimalloc's bins (8-byte steps to 64, then four bins per doubling).
fn binned(size: usize) -> usize {
    if size <= 64 {
        return size.div_ceil(8) * 8;
    }
    let step = (size.next_power_of_two() / 8).max(8);
    size.div_ceil(step) * step
}

#[test]
#[ignore = "needs generated data (DOZVON_MEM_DATA)"]
fn contact_bytes_per_lead() {
    let Some(dir) = std::env::var_os("DOZVON_MEM_DATA") else {
        return;
    };
    let dir = Path::new(&dir);
    let calls_data = std::fs::read(dir.join("calls.ndjson")).expect("calls");
    let leads_data = std::fs::read(dir.join("leads.ndjson")).expect("leads");
    let path = Path::new("calls");
    let mut calls = InputFile::<CallRecord>::new(path, &calls_data).expect("calls");
    let mut leads = InputFile::<LeadEvent>::new(path, &leads_data).expect("leads");
    let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
    let mut driver = Driver::resolving(&mut engine);
    let (mut findings, mut malformed) = (Vec::new(), Vec::new());
    let mut call = calls.next_record(&mut malformed);
    let mut lead = leads.next_record(&mut malformed);
    loop {
        let event = match (call.take(), lead.take()) {
            (None, None) => break,
            (Some(c), Some(l)) if l.occurred_at <= c.started_at => {
                call = Some(c);
                lead = leads.next_record(&mut malformed);
                InputEvent::Lead(l)
            }
            (Some(c), l) => {
                lead = l;
                call = calls.next_record(&mut malformed);
                InputEvent::Call(c)
            }
            (None, Some(l)) => {
                lead = leads.next_record(&mut malformed);
                InputEvent::Lead(l)
            }
        };
        driver.feed(&event, &mut findings);
    }
    let directory = driver.directory().expect("resolving");
    let (mut old, mut new) = ([0usize; 4], [0usize; 4]);
    let mut leads = 0;
    let mut parts = [0usize; 4];
    for (tenant, entry) in directory.entries() {
        leads += 1;
        let wire = directory
            .wire_entry(tenant, entry.lead_id())
            .expect("listed");
        let (slot, heap, allocs) = replaced_bytes(&wire);
        old[0] += slot;
        old[1] += heap;
        old[2] += allocs;
        old[3] += binned(16 + wire.lead_id.len())
            + [&wire.phones, &wire.emails]
                .into_iter()
                .filter(|l| !l.is_empty())
                .map(|l| {
                    binned(24 * l.len()) + l.iter().map(|v| binned(v.value.len())).sum::<usize>()
                })
                .sum::<usize>()
            + [32 * wire.recent.len(), 4 * wire.recent_attempts.len()]
                .into_iter()
                .filter(|&n| n > 0)
                .map(binned)
                .sum::<usize>();
        parts[0] += wire.recent.len();
        parts[1] += wire.recent_attempts.len();
        parts[2] += wire.lead_id.len();
        parts[3] += wire.phones.len() + wire.emails.len();
        new[0] += size_of::<StoredEntry>();
        new[1] += entry.tail.len();
        new[2] += 1;
        new[3] += binned(entry.tail.len());
    }
    assert!(leads > 0);
    let per = |n: usize| n as f64 / leads as f64;
    println!(
        "per lead: {:.2} unfolded events, {:.2} attempts, {:.1}-byte id, {:.2} phones and e-mails",
        per(parts[0]),
        per(parts[1]),
        per(parts[2]),
        per(parts[3]),
    );
    for (name, v) in [("replaced", old), ("stored", new)] {
        println!(
            "{name}: {leads} leads, slot {:.0} + heap {:.1} (binned {:.1}) = {:.1} B/lead, {:.2} allocations/lead",
            per(v[0]),
            per(v[1]),
            per(v[3]),
            per(v[0] + v[1]),
            per(v[2]),
        );
    }
}

#[test]
fn a_stored_entry_is_80_bytes() {
    // Slab slots hold `Option<StoredEntry>`: the boxed tail's niche keeps it the same size.
    assert_eq!(size_of::<StoredEntry>(), 80);
    assert_eq!(size_of::<Option<StoredEntry>>(), 80);
}
