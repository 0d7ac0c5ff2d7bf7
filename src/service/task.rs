//! A task: the engine of one partition number, fed by that partition of both input topics.
//!
//! Event time (SPEC §6): each input partition's clock is the latest event time read from it; the
//! task's clock — which the engine turns into the watermark by subtracting the allowed
//! lateness — is the minimum over its partitions, so a lagging topic holds timers back instead
//! of making its records late. A partition that has delivered nothing for `idle_timeout`
//! follows the wall clock instead, so day closes and SLA deadlines fire at night without
//! traffic.

use std::time::{Duration, Instant};

use super::legs::Legs;
use super::routing::Routing;
use crate::engine::{Applied, Engine, Secs};
use crate::formats::{InputDecoder, InputError};
use crate::model::{Finding, InputEvent, Timestamp};

/// Findings an advance of the engine collects before it stops for them to be sent: a clock
/// that jumps (a backlog, a gate opening, a day closing for every lead) fires a finding per
/// lead, which would otherwise all sit in memory at once (≈ 400 bytes each).
pub const TICK_FINDINGS: usize = 4096;

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
    /// Records below this offset were read before an abort rewound the partition: reading
    /// them again is not news. It resumes the silence the partition had kept when the abort
    /// came (`silence`), so the time spent recovering counts neither as news nor as silence.
    reread_below: i64,
    silence: Duration,
    /// Nothing more is fetched from the partition right now (set by the consumer loop).
    caught_up: bool,
}

impl InputClock {
    /// The partition has reached `time` (a clock never goes back).
    fn reach(&mut self, time: Timestamp) {
        self.latest = Some(self.latest.map_or(time, |latest| latest.max(time)));
    }

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
    /// The merger of an Asterisk calls partition (`None` for one-record-per-call formats).
    pub legs: Option<Legs>,
}

impl Task {
    /// A task among `partitions` partitions whose engine clock waits for the routers' release
    /// markers.
    pub fn new(engine: Engine, idle_timeout: Duration, now: Instant, partitions: usize) -> Self {
        let clock = InputClock {
            latest: None,
            last_record: now,
            reread_below: 0,
            silence: Duration::ZERO,
            caught_up: false,
        };
        Task {
            engine,
            clocks: [clock; 2],
            idle_timeout,
            routing: Routing::new(partitions),
            gated: true,
            legs: None,
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
        offset: i64,
        event: &InputEvent<'_>,
        now: Instant,
        wall: Timestamp,
        out: &mut Vec<Finding>,
    ) -> Applied {
        let applied = match event {
            InputEvent::Call(call) => self.engine.apply_call(call, out),
            InputEvent::Lead(lead) => self.engine.apply_lead_event(lead, out),
        };
        self.observe(input, offset, event.event_time(), now);
        self.tick(now, wall, out);
        applied
    }

    /// The record at `offset` of `input`, with event time `time`, was read (applied, or held
    /// for phone resolution): the partition's clock moves, and its idle timer restarts unless
    /// the record is one read again after an abort.
    pub fn observe(&mut self, input: Input, offset: i64, time: Timestamp, now: Instant) {
        let clock = &mut self.clocks[input.index()];
        clock.reach(time);
        clock.last_record = if offset >= clock.reread_below {
            now
        } else {
            now.checked_sub(clock.silence).unwrap_or(clock.last_record)
        };
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

    /// Advances the engine to the task's clock (idle partitions follow `wall`). It stops once
    /// `out` holds [`TICK_FINDINGS`]: while [`Task::behind`], the caller sends them and calls
    /// [`Task::catch_up`] before anything else.
    pub fn tick(&mut self, now: Instant, wall: Timestamp, out: &mut Vec<Finding>) {
        if let Some(clock) = self.clock(now, wall) {
            self.engine.advance_clock_within(clock, out, TICK_FINDINGS);
        }
    }

    /// Whether the last advance stopped at [`TICK_FINDINGS`] with more due.
    pub fn behind(&self) -> bool {
        self.engine.behind()
    }

    /// Goes on with an advance that stopped at [`TICK_FINDINGS`].
    pub fn catch_up(&mut self, out: &mut Vec<Finding>) {
        let clock = self.engine.clock();
        self.engine.advance_clock_within(clock, out, TICK_FINDINGS);
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

    /// The time `input`'s partition has reached (its latest event time, or the wall clock
    /// while idle): committed with its offset.
    pub fn input_reached(&self, input: Input, now: Instant, wall: Timestamp) -> Option<Timestamp> {
        self.clocks[input.index()].reached(now, wall, self.idle_timeout)
    }

    /// Resumes `input`'s partition clock from the one committed with its offset: the records
    /// before that offset are not read again, and an idle partition's wall-clock time is not
    /// lost to the restore (which restarts its idle timer).
    pub fn restore_input(&mut self, input: Input, latest: Timestamp) {
        self.clocks[input.index()].reach(latest);
    }

    /// Tells whether `input`'s partition has nothing more fetched right now.
    pub fn set_caught_up(&mut self, input: Input, caught_up: bool) {
        self.clocks[input.index()].caught_up = caught_up;
    }

    /// Both input partitions have nothing more fetched right now.
    pub fn caught_up(&self) -> bool {
        self.clocks.iter().all(|clock| clock.caught_up)
    }

    /// When `input`'s partition last delivered a record that was news.
    pub fn last_record(&self, input: Input) -> Instant {
        self.clocks[input.index()].last_record
    }

    /// Carries `input`'s idle timer over an abort in this process: the partition had been read
    /// up to `read_up_to` (exclusive) and had been silent for `silence` when the abort came.
    /// Reading those records again does not make an idle partition busy (else an instance
    /// that aborts while idle would never see its partitions go idle again), and the time spent
    /// recovering does not make a busy one idle.
    pub fn resume_idle_timer(
        &mut self,
        input: Input,
        read_up_to: i64,
        silence: Duration,
        now: Instant,
    ) {
        let clock = &mut self.clocks[input.index()];
        clock.reread_below = read_up_to;
        clock.silence = silence;
        clock.last_record = now.checked_sub(silence).unwrap_or(clock.last_record);
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

    /// Applies lead event `id` at `at`, read at `offset` of `input`, at `now`.
    fn apply(
        t: &mut Task,
        input: Input,
        offset: i64,
        (id, at): (&str, &str),
        now: Instant,
        wall: Timestamp,
    ) {
        t.apply(input, offset, &lead(id, at), now, wall, &mut Vec::new());
    }

    /// A task restored at `now` after an abort: both partitions caught up, read up to offset 5
    /// and silent for `silence` when the abort came.
    fn resumed(now: Instant, silence: Duration) -> Task {
        let mut t = task(now);
        for input in Input::ALL {
            t.set_caught_up(input, true);
            t.resume_idle_timer(input, 5, silence, now);
        }
        t
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
        apply(
            &mut t,
            Input::Leads,
            0,
            ("a", "2026-03-02T10:00:00Z"),
            start,
            wall,
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
        let later = start + Duration::from_secs(31);
        // Leads are active (a record just now); calls have been silent for 31 s.
        t.set_caught_up(Input::Calls, true);
        t.set_caught_up(Input::Leads, true);
        apply(
            &mut t,
            Input::Leads,
            0,
            ("a", "2026-03-02T10:00:00Z"),
            later,
            wall,
        );
        assert_eq!(t.clock(later, wall), Some(ts("2026-03-02T10:00:00Z")));
        assert_eq!(t.engine().clock(), ts("2026-03-02T10:00:00Z"));
    }

    #[test]
    fn records_read_again_after_an_abort_keep_an_idle_partition_idle() {
        let start = Instant::now();
        let wall = ts("2026-03-10T12:00:00Z");
        let later = start + Duration::from_secs(31);
        // Both partitions were read up to offset 5 and had been silent for 31 s.
        let mut t = resumed(later, Duration::from_secs(31));
        apply(
            &mut t,
            Input::Leads,
            4,
            ("a", "2026-03-02T10:00:00Z"),
            later,
            wall,
        );
        assert_eq!(t.clock(later, wall), Some(wall), "offset 4 was read before");
        // Offset 5 is news: the leads partition is busy again and holds the clock back.
        apply(
            &mut t,
            Input::Leads,
            5,
            ("b", "2026-03-02T11:00:00Z"),
            later,
            wall,
        );
        assert_eq!(t.clock(later, wall), Some(ts("2026-03-02T11:00:00Z")));
    }

    #[test]
    fn recovering_from_an_abort_does_not_make_a_busy_partition_idle() {
        let start = Instant::now();
        let wall = ts("2026-03-10T12:00:00Z");
        // Silent for 1 s when the abort came; re-reading ends 40 s later.
        let mut t = resumed(start, Duration::from_secs(1));
        let reread = start + Duration::from_secs(40);
        apply(
            &mut t,
            Input::Calls,
            4,
            ("a", "2026-03-02T10:00:00Z"),
            reread,
            wall,
        );
        apply(
            &mut t,
            Input::Leads,
            4,
            ("b", "2026-03-02T10:00:00Z"),
            reread,
            wall,
        );
        assert_eq!(t.clock(reread, wall), Some(ts("2026-03-02T10:00:00Z")));
        // 29 s more of silence make 30 s: idle.
        let idle = reread + Duration::from_secs(29);
        assert_eq!(t.clock(idle, wall), Some(wall));
    }
}
