//! A realistic, seeded generator of PBX calls and CRM lead events for tests, benchmarks and demos.

mod clock;
mod emit;
mod knobs;
mod lead;
mod outcome;
mod people;
pub mod publish;
mod record;
mod rng;
mod stream;

use std::io::{self, Write};

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::model::{CallRecord, InputEvent, LeadEvent, Timestamp};

pub use knobs::MAX_CALL_SKEW_MS;
pub use people::ManagerProfile;
pub use stream::{StreamStats, stream};

/// One generated record; [`generate_into`] hands calls and lead events over merged in delivery order.
pub type GeneratedEvent = InputEvent<'static>;

/// What to generate. Output is a pure function of this value: same config ⇒ byte-identical NDJSON.
#[derive(Clone, Debug)]
pub struct GenConfig {
    pub seed: u64,
    /// Written into every record; `None` ⇒ records carry no `tenant` field.
    pub tenant: Option<String>,
    /// Zone of the business calendar (Mon–Fri 09:00–18:00, no holidays).
    pub timezone: Tz,
    /// First local day of lead arrivals.
    pub start: NaiveDate,
    /// Calendar days of lead arrivals (dialing and follow-ups continue a few weeks past them).
    pub days: u32,
    /// Managers `m01..mNN` (at least one is used).
    pub managers: u32,
    /// Leads created each calendar day, around the clock (mostly daytime), weekends included.
    pub leads_per_day: u32,
    /// Fraction of records delivered twice (exact copies), clamped to 0..=1.
    pub duplicate_rate: f64,
    /// Each record is delivered `uniform[0, max_disorder_ms)` after its event time. Keep it below
    /// the engine's `allowed_lateness` (10 min) for order-insensitive tests; ≤ 0 means in order.
    pub max_disorder_ms: i64,
    /// Prefix of lead (`{prefix}L{n}`), event (`{prefix}E{n}`) and call (`{prefix}C{n}`) ids.
    pub id_prefix: String,
}

const DEFAULT_START: NaiveDate = match NaiveDate::from_ymd_opt(2026, 3, 2) {
    Some(date) => date,
    None => NaiveDate::MIN,
};

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 42,
            tenant: None,
            timezone: chrono_tz::Europe::Moscow,
            start: DEFAULT_START,
            days: 10,
            managers: 20,
            leads_per_day: 100,
            duplicate_rate: 0.01,
            max_disorder_ms: 5 * 60_000,
            id_prefix: "g".to_owned(),
        }
    }
}

/// A generated dataset: both streams in delivery order, duplicates included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dataset {
    pub calls: Vec<CallRecord<'static>>,
    pub leads: Vec<LeadEvent<'static>>,
}

impl Dataset {
    /// Records of both kinds, duplicates included.
    pub fn len(&self) -> usize {
        self.calls.len() + self.leads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.leads.is_empty()
    }

    /// The latest event time (`started_at` / `occurred_at`) of any record.
    pub fn latest_event_time(&self) -> Option<Timestamp> {
        let calls = self.calls.iter().map(|c| c.started_at);
        let leads = self.leads.iter().map(|l| l.occurred_at);
        calls.chain(leads).max()
    }

    /// Calls and lead events merged into one sequence in event-time order (stable: records
    /// with equal times keep their delivery order, calls first).
    pub fn into_time_ordered_events(self) -> Vec<crate::model::InputEvent<'static>> {
        use crate::model::InputEvent;
        let mut events: Vec<InputEvent<'static>> = self
            .calls
            .into_iter()
            .map(InputEvent::Call)
            .chain(self.leads.into_iter().map(InputEvent::Lead))
            .collect();
        events.sort_by_key(InputEvent::event_time);
        events
    }

    /// Writes one SPEC §1 JSON object per line, in delivery order.
    pub fn write_ndjson(&self, calls: &mut impl Write, leads: &mut impl Write) -> io::Result<()> {
        for call in &self.calls {
            serde_json::to_writer(&mut *calls, call)?;
            calls.write_all(b"\n")?;
        }
        for lead in &self.leads {
            serde_json::to_writer(&mut *leads, lead)?;
            leads.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// Generates the whole dataset in memory (see [`stream`] for how records are produced).
pub fn generate(config: &GenConfig) -> Dataset {
    let mut dataset = Dataset::default();
    generate_into(config, &mut |event| match event {
        GeneratedEvent::Call(call) => dataset.calls.push(call),
        GeneratedEvent::Lead(lead) => dataset.leads.push(lead),
    });
    dataset
}

/// Streams every record, calls and lead events merged, in delivery order, without holding the
/// run in memory; [`generate`] yields the same records split by kind. See [`stream`].
pub fn generate_into(config: &GenConfig, sink: &mut dyn FnMut(GeneratedEvent)) {
    stream(config, sink);
}

/// The managers of a run, with the diligence that drives their behaviour.
pub fn managers(config: &GenConfig) -> Vec<ManagerProfile> {
    people::managers(config.seed, config.managers)
}
