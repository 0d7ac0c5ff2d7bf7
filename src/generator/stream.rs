//! The streaming driver: leads in arrival order, records through a reorder buffer keyed by delivery time.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

use super::clock::Clock;
use super::knobs::MAX_CALL_SKEW_MS;
use super::lead::{Ids, World, simulate};
use super::people::{self, PhoneBook};
use super::record::{Compact, Names};
use super::rng::{Rng, derive};
use super::{GenConfig, GeneratedEvent};

/// Seed streams besides the per-lead ones (which use the lead number).
const ARRIVALS_STREAM: u64 = 1 << 62;
const DELIVERY_STREAM: u64 = (1 << 62) + 1;
/// Calendar days cached past the last arrival day (lead lives last a few weeks).
const CLOCK_HORIZON_DAYS: u32 = 120;

/// Counts from one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub leads: u64,
    /// Records delivered, duplicates included.
    pub records: u64,
    /// Extra copies among `records`.
    pub duplicates: u64,
    /// Largest number of records waiting in the reorder buffer at once.
    pub peak_buffered: usize,
}

/// A record waiting for delivery; ordered so that `BinaryHeap` pops the earliest `(key, seq)`.
struct Pending {
    key: i64,
    seq: u64,
    record: Compact,
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.key, other.seq).cmp(&(self.key, self.seq))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.key, self.seq) == (other.key, other.seq)
    }
}

impl Eq for Pending {}

/// Generates a run and hands every record to `sink` in delivery order.
///
/// **Delivery order.** Each record gets a delivery key `event_time + delay`, `delay` uniform in
/// `[0, max_disorder_ms)`; a duplicate is an exact copy with its own delay in `[delay,
/// max_disorder_ms)`. Records are delivered by `(key, seq)`, `seq` being the order of generation,
/// so the order is total and deterministic, and a record is never delivered after one whose event
/// time is `max_disorder_ms` or more later.
///
/// **Streaming.** Leads are simulated one at a time in creation order (arrival times are drawn
/// per local day and sorted). A lead's whole life — calls, stage changes, QC — is simulated at
/// once and its records go into a min-heap as compact, string-free values. No record of a lead
/// is earlier than its creation minus [`MAX_CALL_SKEW_MS`](super::MAX_CALL_SKEW_MS), and keys are
/// never below event times; so before simulating a lead created at `c`, every buffered record
/// with key `< c − MAX_CALL_SKEW_MS` precedes anything still to come and is delivered. The
/// buffer holds only the records of leads still "alive" (about the last few weeks of arrivals),
/// never the run, and strings are built only at delivery.
///
/// **Determinism.** Randomness comes from a self-contained xoshiro256++ ([`rand`]'s algorithms
/// may change between versions): one stream for arrival times, one for delivery delays and
/// duplicates, and one per lead seeded from `(seed, lead number)`.
pub fn stream(config: &GenConfig, sink: &mut dyn FnMut(GeneratedEvent)) -> StreamStats {
    let clock = Clock::new(
        config.timezone,
        config.start,
        config.days.saturating_add(CLOCK_HORIZON_DAYS),
    );
    let managers = people::managers(config.seed, config.managers);
    let qc = people::qc_operators(config.managers);
    let phones = PhoneBook::new(config.seed, &config.id_prefix);
    let world = World {
        clock: &clock,
        managers: &managers,
        qc_count: qc.len() as u32,
    };
    let names = Names {
        prefix: &config.id_prefix,
        tenant: config.tenant.as_deref(),
        managers: &managers,
        qc: &qc,
        phones: &phones,
    };
    let disorder = config.max_disorder_ms.max(0);
    let duplicate_rate = config.duplicate_rate.clamp(0.0, 1.0);
    let mut arrivals_rng = Rng::new(derive(config.seed, ARRIVALS_STREAM));
    let mut delivery_rng = Rng::new(derive(config.seed, DELIVERY_STREAM));
    let mut ids = Ids::default();
    let mut stats = StreamStats::default();
    let mut heap: BinaryHeap<Pending> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut arrivals = Vec::new();
    let mut produced = Vec::new();
    let first_day = clock.index_of(config.start);
    for day in 0..i64::from(config.days) {
        let count = config.leads_per_day;
        people::arrivals(
            &clock,
            first_day + day,
            count,
            &mut arrivals_rng,
            &mut arrivals,
        );
        for &created in &arrivals {
            deliver(
                &mut heap,
                Some(created - MAX_CALL_SKEW_MS),
                &names,
                sink,
                &mut stats,
            );
            stats.leads += 1;
            let seed = derive(config.seed, stats.leads);
            simulate(&world, &mut ids, &mut produced, stats.leads, created, seed);
            for record in produced.drain(..) {
                let delay = delivery_rng.range(0, disorder);
                let copy = delivery_rng
                    .chance(duplicate_rate)
                    .then(|| delivery_rng.range(delay, disorder));
                let mut push = |delay: i64| {
                    seq += 1;
                    let key = record.time.saturating_add(delay);
                    heap.push(Pending { key, seq, record });
                };
                push(delay);
                if let Some(copy_delay) = copy {
                    push(copy_delay);
                    stats.duplicates += 1;
                }
            }
            stats.peak_buffered = stats.peak_buffered.max(heap.len());
        }
    }
    deliver(&mut heap, None, &names, sink, &mut stats);
    stats
}

/// Delivers buffered records with a key below `below` (all of them for `None`), earliest first.
fn deliver(
    heap: &mut BinaryHeap<Pending>,
    below: Option<i64>,
    names: &Names<'_>,
    sink: &mut dyn FnMut(GeneratedEvent),
    stats: &mut StreamStats,
) {
    while let Some(top) = heap.peek_mut() {
        if below.is_some_and(|limit| top.key >= limit) {
            break;
        }
        let pending = PeekMut::pop(top);
        sink(pending.record.materialize(names));
        stats.records += 1;
    }
}
