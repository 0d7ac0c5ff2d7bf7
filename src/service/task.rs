//! A task: the engine of one partition number, fed by that partition of both input topics.
//!
//! Event time (SPEC §6): each input partition's clock is the latest event time read from it; the
//! task's clock — which the engine turns into the watermark by subtracting the allowed
//! lateness — is the minimum over its partitions, so a lagging topic holds timers back instead
//! of making its records late. A partition that has delivered nothing for `idle_timeout`
//! follows the wall clock instead, so day closes and SLA deadlines fire at night without
//! traffic.

use std::time::{Duration, Instant};

use super::routing::Routing;
use crate::engine::{Applied, Engine, Secs};
use crate::formats::{InputDecoder, InputError};
use crate::model::{Finding, InputEvent, Timestamp};

/// Which input topic a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    Calls,
    Leads,
}

impl Input {
    pub const ALL: [Input; 2] = [Input::Calls, Input::Leads];

    /// 0 for calls, 1 for leads: the slot of the input in per-input arrays.
    pub fn index(self) -> usize {
        match self {
            Input::Calls => 0,
            Input::Leads => 1,
        }
    }
}

/// Decodes a record of `input` with the topic's decoder (dozvon's records in any supported
/// wire format, or a foreign format's mapper) and validates it.
pub fn decode<'a>(
    decoder: &InputDecoder,
    input: Input,
    bytes: &'a [u8],
) -> Result<InputEvent<'a>, InputError> {
    match input {
        Input::Calls => decoder.call(bytes).map(InputEvent::Call),
        Input::Leads => decoder.lead(bytes).map(InputEvent::Lead),
    }
}

/// The clock of one input partition.
#[derive(Clone, Copy, Debug)]
struct InputClock {
    latest: Option<Timestamp>,
    last_record: Instant,
    /// Nothing more is fetched from the partition right now (set by the consumer loop).
    caught_up: bool,
}

impl InputClock {
    fn reached(&self, now: Instant, wall: Timestamp, idle_timeout: Duration) -> Option<Timestamp> {
        // Idle = caught up *and* silent: a partition that is merely slow to fetch (or behind a
        // backlog) must hold the clock back, or its records would all turn late.
        if self.caught_up && now.saturating_duration_since(self.last_record) >= idle_timeout {
            Some(self.latest.map_or(wall, |latest| latest.max(wall)))
        } else {
            self.latest
        }
    }
}

/// The engine of one partition number with the clocks of its two input partitions.
#[derive(Debug)]
pub struct Task {
    engine: Engine,
    clocks: [InputClock; 2],
    idle_timeout: Duration,
    /// Phone resolution: held calls, duplicate checks, the routers' release markers.
    pub routing: Routing,
    /// Whether the engine clock waits for the routers' release markers (`routing.gate()`).
    gated: bool,
}

impl Task {
    /// A task among `partitions` partitions whose engine clock waits for the routers' release
    /// markers.
    pub fn new(engine: Engine, idle_timeout: Duration, now: Instant, partitions: usize) -> Self {
        let clock = InputClock {
            latest: None,
            last_record: now,
            caught_up: false,
        };
        Task {
            engine,
            clocks: [clock; 2],
            idle_timeout,
            routing: Routing::new(partitions),
            gated: true,
        }
    }

    /// A task whose engine clock follows its inputs alone (no phone resolution).
    #[cfg(test)]
    fn ungated(engine: Engine, idle_timeout: Duration, now: Instant) -> Self {
        Task {
            gated: false,
            ..Task::new(engine, idle_timeout, now, 1)
        }
    }

    /// Applies one record from `input` and advances the clock as far as both partitions allow.
    pub fn apply(
        &mut self,
        input: Input,
        event: &InputEvent<'_>,
        now: Instant,
        wall: Timestamp,
        out: &mut Vec<Finding>,
    ) -> Applied {
        let applied = match event {
            InputEvent::Call(call) => self.engine.apply_call(call, out),
            InputEvent::Lead(lead) => self.engine.apply_lead_event(lead, out),
        };
        self.observe(input, event.event_time(), now);
        self.tick(now, wall, out);
        applied
    }

    /// A record of `input` at `time` was read (applied, or held for phone resolution): the
    /// partition's clock moves.
    pub fn observe(&mut self, input: Input, time: Timestamp, now: Instant) {
        let clock = &mut self.clocks[input.index()];
        clock.latest = Some(clock.latest.map_or(time, |latest| latest.max(time)));
        clock.last_record = now;
    }

    /// Applies a call bound by phone (from the resolved-calls topic): the engine takes it, no
    /// input clock moves (the routers' markers gate the clock).
    pub fn apply_resolved(
        &mut self,
        call: &crate::model::CallRecord<'_>,
        out: &mut Vec<Finding>,
    ) -> Applied {
        self.engine.apply_call(call, out)
    }

    /// Advances the engine to the task's clock (idle partitions follow `wall`).
    pub fn tick(&mut self, now: Instant, wall: Timestamp, out: &mut Vec<Finding>) {
        if let Some(clock) = self.clock(now, wall) {
            self.engine.advance_clock(clock, out);
        }
    }

    /// The engine's clock: the input clock, held back to the routers' release markers (calls
    /// bound by phone before them may still be on their way); `None` while either is unknown.
    pub fn clock(&self, now: Instant, wall: Timestamp) -> Option<Timestamp> {
        let clock = self.input_clock(now, wall)?;
        if !self.gated {
            return Some(clock);
        }
        let gate = Timestamp::from_compact_seconds(self.routing.gate()?);
        Some(clock.min(gate))
    }

    /// The minimum over both partitions of the time each has reached; `None` while a partition
    /// that is not idle has delivered nothing. Published as the partition's clock.
    pub fn input_clock(&self, now: Instant, wall: Timestamp) -> Option<Timestamp> {
        let mut clock: Option<Timestamp> = None;
        for input in &self.clocks {
            let reached = input.reached(now, wall, self.idle_timeout)?;
            clock = Some(clock.map_or(reached, |c| c.min(reached)));
        }
        clock
    }

    /// The input clock in compact seconds.
    pub fn input_secs(&self, now: Instant, wall: Timestamp) -> Option<Secs> {
        self.input_clock(now, wall)
            .map(Timestamp::as_compact_seconds)
    }

    /// Moves the engine's clock to at least `clock` (a restored task's committed clock).
    pub fn restore_clock(&mut self, clock: Timestamp, out: &mut Vec<Finding>) {
        self.engine.advance_clock(clock, out);
    }

    /// Tells whether `input`'s partition has nothing more fetched right now.
    pub fn set_caught_up(&mut self, input: Input, caught_up: bool) {
        self.clocks[input.index()].caught_up = caught_up;
    }

    /// Restarts both partitions' idle timers (after a restore, which is not "silence").
    pub fn touch(&mut self, now: Instant) {
        for clock in &mut self.clocks {
            clock.last_record = now;
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::LeadEvent;
    use std::borrow::Cow;
    use std::sync::Arc;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).expect("timestamp")
    }

    fn lead(id: &str, at: &str) -> InputEvent<'static> {
        InputEvent::Lead(LeadEvent {
            event_id: Cow::Owned(id.to_owned()),
            lead_id: Cow::Owned(format!("L-{id}")),
            occurred_at: ts(at),
            tenant: None,
            stage: Cow::Borrowed("NEW"),
            manager_id: None,
            created_at: None,
            channel: None,
            phone: None,
            email: None,
            rejection_reason: None,
        })
    }

    fn task(now: Instant) -> Task {
        let engine = Engine::new(Arc::new(Config::default())).expect("engine");
        Task::ungated(engine, Duration::from_secs(30), now)
    }

    #[test]
    fn clock_is_the_minimum_and_waits_for_a_silent_partition() {
        let start = Instant::now();
        let wall = ts("2026-03-10T12:00:00Z");
        let mut t = task(start);
        let mut out = Vec::new();
        t.apply(
            Input::Leads,
            &lead("a", "2026-03-02T10:00:00Z"),
            start,
            wall,
            &mut out,
        );
        // The calls partition has delivered nothing and is not idle yet: no clock.
        assert_eq!(t.clock(start, wall), None);
        assert_eq!(t.engine().clock(), Timestamp::from_compact_seconds(0));
        // Silent for longer than idle_timeout but not caught up (still fetching): no clock.
        let later = start + Duration::from_secs(31);
        assert_eq!(t.clock(later, wall), None);
        // Caught up and silent: both partitions follow the wall clock.
        t.set_caught_up(Input::Calls, true);
        t.set_caught_up(Input::Leads, true);
        assert_eq!(t.clock(later, wall), Some(wall));
    }

    #[test]
    fn an_active_partition_holds_the_clock_back() {
        let start = Instant::now();
        let wall = ts("2026-03-10T12:00:00Z");
        let mut t = task(start);
        let mut out = Vec::new();
        let later = start + Duration::from_secs(31);
        // Leads are active (a record just now); calls have been silent for 31 s.
        t.set_caught_up(Input::Calls, true);
        t.set_caught_up(Input::Leads, true);
        t.apply(
            Input::Leads,
            &lead("a", "2026-03-02T10:00:00Z"),
            later,
            wall,
            &mut out,
        );
        assert_eq!(t.clock(later, wall), Some(ts("2026-03-02T10:00:00Z")));
        assert_eq!(t.engine().clock(), ts("2026-03-02T10:00:00Z"));
    }
}
