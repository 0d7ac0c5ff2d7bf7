//! The processing state: tasks, the producer, the open batch, commits, rebalances, recovery.
//
// Everything here runs on the service's one processing thread: `handle` for each polled record,
// `after_poll` between polls, `on_revoke` / `on_assign` from the rebalance callback that
// librdkafka invokes inside `poll`. None of it is async, so the blocking rdkafka calls
// (transactions, flush, committed offsets, restores) never occupy an executor thread.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CStr, CString};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

mod acking;
mod asterisk;
mod contacts;
mod inflight;
mod parked;

use contacts::{Origin, result_of};
use inflight::{Committed as CommittedBatch, InFlight, OutputProducer};
use parked::{OutRecord, Parked};

use super::batch::Batch;
use super::delivery::{DeliveryContext, Slot};
use super::faults::Faults;
use super::flow::{self, InputPartition};
use super::logs::LogLimiter;
use super::merge::{Aligner, BadRecord, Item, Pending};
use super::outcomes::OutcomeCounter;
use super::output::{self, Outputs, Source};
use super::parts;
use super::queries::{QueryInbox, StateRefresh};
use super::replica::Replica;
use super::restore::{Committed, OffsetMeta, Restored};
use super::routing;
use super::state_log::{self, RestoreError};
use super::task::{self, Input, Task};
use crate::changelog;
use crate::config::{Config, Guarantee};
use crate::engine::{ContactUpdate, Engine, Secs};
use crate::formats::InputDecoder;
use crate::metrics::{RecordResult, ServiceStats};
use crate::model::{Finding, InputEvent, Timestamp};

/// Timeout of the blocking transaction and commit calls.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

type Ack<T> = Result<T, KafkaError>;

/// Why the open batch cannot be committed; recovery rewinds to the last commit.
#[derive(Debug)]
struct Failure {
    reason: String,
    /// The producer must be replaced (a fatal producer error).
    fatal: bool,
    /// Another instance took over this instance's `transactional.id`: this one is a zombie
    /// and stops, rather than fence the newer one in turn.
    fenced: bool,
    /// Retrying cannot help (unreadable state): the service stops.
    halt: bool,
}

impl Failure {
    fn from_error(what: &str, error: &KafkaError) -> Self {
        let (fatal, fenced) = match error {
            KafkaError::Transaction(e) => (
                e.is_fatal(),
                matches!(
                    e.code(),
                    RDKafkaErrorCode::Fenced
                        | RDKafkaErrorCode::ProducerFenced
                        | RDKafkaErrorCode::InvalidProducerEpoch
                ),
            ),
            _ => (false, false),
        };
        Failure {
            reason: format!("{what}: {error}"),
            fatal,
            fenced,
            halt: false,
        }
    }

    /// `begin_transaction` refused: the producer is in a state only a new producer leaves
    /// (e.g. an earlier abort still retrying after its call timed out), so it is replaced.
    fn cannot_begin(error: &KafkaError) -> Self {
        Failure {
            fatal: true,
            ..Failure::from_error("begin transaction", error)
        }
    }

    /// A failure that stops the service.
    fn halt(reason: impl Into<String>) -> Self {
        Failure {
            reason: reason.into(),
            fatal: false,
            fenced: false,
            halt: true,
        }
    }

    /// A failure that only needs the batch rewound.
    fn rewind(reason: impl Into<String>) -> Self {
        Failure {
            reason: reason.into(),
            fatal: false,
            fenced: false,
            halt: false,
        }
    }
}

/// Everything the processing thread owns.
pub struct Processor {
    config: Arc<Config>,
    /// The topics consumed, by index: calls, leads, resolved calls.
    inputs: [String; 3],
    /// How each input's records are decoded (`[kafka.format]`), by input index.
    decoders: [InputDecoder; 2],
    /// The input topic names for librdkafka's C API, built once (read per released record).
    c_inputs: [CString; 3],
    outputs: Outputs,
    guarantee: Guarantee,
    producer_client: ClientConfig,
    restore_client: ClientConfig,
    producer: Arc<OutputProducer>,
    /// The previous batch's transaction, committing on its own thread (exactly-once).
    inflight: Option<InFlight>,
    /// Records sent while `inflight` commits, for the next transaction.
    parked: Parked,
    /// Batches closed at-least-once whose records are being acknowledged (`acking.rs`).
    acking: acking::AckQueue,
    /// How many batches were closed: the delivery-report slot of the records sent now.
    epoch: usize,
    tasks: BTreeMap<i32, Task>,
    /// Records received but not yet released in event-time order, per task.
    aligners: BTreeMap<i32, Aligner>,
    /// Input partitions paused because their aligner buffer ran far ahead (`flow.rs`).
    paused: flow::Paused,
    /// Offset of the last record received per input partition.
    received: BTreeMap<(usize, i32), i64>,
    /// Tasks kept across a revoke whose commit succeeded, reused if reassigned at once.
    standby: BTreeMap<i32, Task>,
    assigned: BTreeSet<(usize, i32)>,
    to_restore: BTreeSet<i32>,
    positions: BTreeMap<(usize, i32), i64>,
    batch: Batch,
    failed: Option<Failure>,
    /// Set once the service must stop: fenced, or state it cannot read.
    fenced: Option<Halt>,
    findings: Vec<Finding>,
    /// When the record behind `findings` was received (timers firing on the wall clock: then).
    findings_cause: Instant,
    stats: Arc<ServiceStats>,
    stop: Arc<AtomicBool>,
    faults: Faults,
    dead_letter_log: LogLimiter,
    error_log: LogLimiter,
    failures_in_a_row: u32,
    queries: QueryInbox,
    state: StateRefresh,
    outcomes: OutcomeCounter,
    /// The replicated contact directory (phone resolution across partitions).
    replica: Replica,
    /// The input partition count.
    partitions: usize,
    /// Tenants with leads here, with their allowed lateness in seconds.
    tenants: Vec<(Arc<str>, Secs)>,
    /// A buffer for the engines' contact updates.
    contact_updates: Vec<ContactUpdate>,
    /// A buffer for a commit's changelog records (kept between commits).
    /// Records of one task built in parts (`parts.rs`) at a commit — its contact entries, then
    /// its changelog; kept between commits.
    record_parts: Vec<changelog::Encoded>,
    /// Idle timers carried over an abort, per input partition: how far it had been read and
    /// how long it had been silent (see [`Task::resume_idle_timer`]).
    resumed: BTreeMap<(usize, i32), (i64, Duration)>,
}

/// Where [`Processor::write_changelog_of`] puts a task's changelog records.
enum ChangelogTo<'a> {
    /// Sent with the batch's outputs (exactly-once: in its transaction).
    Send,
    /// Held, to be produced once the batch's outputs are acknowledged (at-least-once).
    Hold(&'a mut Parked),
    /// Produced now in this delivery slot (at-least-once, the outputs acknowledged already).
    Produce(Slot),
}

/// How many records, and bytes of them, may be parked while a commit is in flight before the
/// processing thread waits for it instead.
const PARK_RECORDS: usize = 100_000;
const PARK_BYTES: usize = 64 << 20;

/// Capacity the findings buffer keeps between records (a finding is about 300 bytes).
const KEPT_FINDINGS: usize = 1024;

/// Index of the resolved-calls topic in `Processor::inputs`.
const RESOLVED: usize = 2;

/// How often each task's leads are scanned for the engine-state gauges (one task at a time).
const STATE_REFRESH: Duration = Duration::from_secs(5);

/// Why the processor stopped for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Halt {
    /// Another instance took over this transactional id.
    Fenced(String),
    /// A task's changelog could not be read (corrupt, or written by a newer dozvon).
    State(String),
}

/// What [`Processor::new`] needs.
pub struct ProcessorSetup {
    pub config: Arc<Config>,
    pub outputs: Outputs,
    pub producer_client: ClientConfig,
    pub restore_client: ClientConfig,
    pub stats: Arc<ServiceStats>,
    pub stop: Arc<AtomicBool>,
    pub faults: Faults,
    pub queries: QueryInbox,
    /// The contacts topic reader's settings, and the input partition count.
    pub replica_client: ClientConfig,
    pub partitions: usize,
}

impl Processor {
    pub fn new(setup: ProcessorSetup) -> Result<Self, KafkaError> {
        let guarantee = setup.config.processing.guarantee;
        let producer = Arc::new(create_producer(
            &setup.producer_client,
            guarantee,
            &setup.stats,
        )?);
        if guarantee == Guarantee::ExactlyOnce {
            tracing::info!("transactional producer ready");
        }
        let topics = &setup.config.kafka.topics;
        let inputs = [
            topics.calls.clone(),
            topics.leads.clone(),
            topics.resolved.clone(),
        ];
        let replica = Replica::new(
            &setup.replica_client,
            &topics.contacts,
            setup.partitions,
            Arc::clone(&setup.stats),
        )?;
        let c_inputs = inputs.clone().map(|name| {
            CString::new(name)
                .map_err(|e| KafkaError::ClientCreation(format!("topic name with a NUL byte: {e}")))
        });
        let [calls, leads, resolved] = c_inputs;
        Ok(Processor {
            c_inputs: [calls?, leads?, resolved?],
            inputs,
            decoders: InputDecoder::inputs(&setup.config),
            outputs: setup.outputs,
            guarantee,
            producer_client: setup.producer_client,
            restore_client: setup.restore_client,
            producer,
            inflight: None,
            parked: Parked::default(),
            acking: acking::AckQueue::new(),
            epoch: 0,
            tasks: BTreeMap::new(),
            aligners: BTreeMap::new(),
            paused: flow::Paused::new(setup.config.processing.alignment_buffer),
            received: BTreeMap::new(),
            standby: BTreeMap::new(),
            assigned: BTreeSet::new(),
            to_restore: BTreeSet::new(),
            positions: BTreeMap::new(),
            resumed: BTreeMap::new(),
            batch: Batch::new(),
            failed: None,
            fenced: None,
            findings: Vec::new(),
            findings_cause: Instant::now(),
            stats: setup.stats,
            stop: setup.stop,
            faults: setup.faults,
            dead_letter_log: LogLimiter::new(Duration::from_secs(5)),
            error_log: LogLimiter::new(Duration::from_secs(5)),
            failures_in_a_row: 0,
            queries: setup.queries,
            state: StateRefresh::new(STATE_REFRESH),
            outcomes: OutcomeCounter::default(),
            replica,
            partitions: setup.partitions,
            tenants: Vec::new(),
            contact_updates: Vec::new(),
            record_parts: Vec::new(),
            config: setup.config,
        })
    }

    fn input_index(&self, topic: &str) -> Option<usize> {
        self.inputs.iter().position(|t| t == topic)
    }

    /// One polled record: decoded and applied, or dead-lettered.
    pub fn handle<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        message: &BorrowedMessage<'_>,
    ) {
        if self.fenced.is_some() {
            return;
        }
        self.restore_pending(consumer);
        if self.failed.is_some() {
            return; // recovery rewinds to the last commit; this record is fetched again
        }
        let Some(i) = self.input_index(message.topic()) else {
            return;
        };
        let (partition, offset) = (message.partition(), message.offset());
        if !self.tasks.contains_key(&partition) {
            // A record of a partition this instance was not told about: restore it first.
            self.assigned.insert((i, partition));
            self.to_restore.insert(partition);
            self.restore_pending(consumer);
            if self.failed.is_some() {
                return;
            }
        }
        if i == RESOLVED {
            self.handle_resolved(partition, message);
            self.positions.insert((i, partition), offset + 1);
            self.batch.records += 1;
            self.batch.dirty = true;
            return;
        }
        let input = Input::ALL[i];
        let item = match message.payload() {
            None => Err(("empty", "the record has no value".to_owned())),
            Some(bytes) => decode_item(&self.decoders[i], input, bytes),
        };
        let item = item.unwrap_or_else(|(kind, error)| {
            Item::Bad(BadRecord {
                kind,
                error,
                key: message.key().map(<[u8]>::to_vec),
                payload: message.payload().map(<[u8]>::to_vec),
                headers: message
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        });
        self.received.insert((i, partition), offset);
        self.aligners.entry(partition).or_default().push(
            input,
            Pending {
                offset,
                item,
                received: Instant::now(),
            },
        );
        // Released in `after_poll`, once per burst of records.
    }

    /// Whether input partition `(i, partition)` has nothing more fetched right now: the next
    /// offset to read has reached librdkafka's cached high watermark.
    fn caught_up<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        i: usize,
        partition: i32,
    ) -> bool {
        let next = self
            .received
            .get(&(i, partition))
            .map(|o| o + 1)
            .or_else(|| self.positions.get(&(i, partition)).copied())
            .unwrap_or(0);
        high_watermark(consumer, &self.c_inputs[i], partition).is_some_and(|high| next >= high)
    }

    /// Applies the task's buffered records that event-time order allows.
    fn release<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>, partition: i32) {
        // Whether each input has been read to librdkafka's high watermark, asked at most once
        // per call (a locked read in librdkafka): nothing is polled while records are released,
        // so only the fetcher's next response could move it, and that is seen next call.
        let mut at_end = [None; 2];
        loop {
            if self.failed.is_some() {
                return;
            }
            let caught = self.sync_caught_up_with(consumer, partition, &mut at_end);
            let Some(aligner) = self.aligners.get_mut(&partition) else {
                return;
            };
            let Some((input, pending)) = aligner.pop(|input| caught[input.index()]) else {
                return;
            };
            self.process(input, partition, pending);
        }
    }

    /// Which of the task's input partitions are caught up with nothing buffered (so they do not
    /// hold the other back, and may go idle); tells the task too.
    fn sync_caught_up<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        partition: i32,
    ) -> [bool; 2] {
        self.sync_caught_up_with(consumer, partition, &mut [None; 2])
    }

    /// [`Processor::sync_caught_up`] with the inputs' "read to the end" answers memoised in
    /// `at_end`.
    fn sync_caught_up_with<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        partition: i32,
        at_end: &mut [Option<bool>; 2],
    ) -> [bool; 2] {
        let caught = Input::ALL.map(|input| {
            let i = input.index();
            self.aligners
                .get(&partition)
                .is_none_or(|a| a.is_empty(input))
                && *at_end[i].get_or_insert_with(|| self.caught_up(consumer, i, partition))
        });
        if let Some(task) = self.tasks.get_mut(&partition) {
            for input in Input::ALL {
                task.set_caught_up(input, caught[input.index()]);
            }
        }
        caught
    }

    fn process(&mut self, input: Input, partition: i32, pending: Pending) {
        let i = input.index();
        let offset = pending.offset;
        let reread = input == Input::Calls
            && self
                .tasks
                .get(&partition)
                .is_some_and(|t| t.routing.rereads(offset));
        if reread {
            self.reread_call(partition, offset, pending.item);
        } else {
            self.take(input, partition, pending);
        }
        self.positions.insert((i, partition), offset + 1);
        if input == Input::Calls {
            if let Some(task) = self.tasks.get_mut(&partition) {
                task.routing.calls_read_to(offset + 1);
            }
        }
        self.batch.dirty = true;
    }

    /// A record read for the first time: applied, held, dead-lettered or skipped, counted.
    fn take(&mut self, input: Input, partition: i32, pending: Pending) {
        let i = input.index();
        // Debug and trace lines of this record carry its partition, offset and lead.
        let _span = tracing::debug_span!("record", partition, offset = pending.offset).entered();
        match pending.item {
            Item::Event(InputEvent::Call(call))
                if self.route_call(partition, pending.offset, &call) =>
            {
                tracing::trace!(
                    partition,
                    offset = pending.offset,
                    "held for phone resolution"
                );
            }
            Item::Event(event) => {
                let _lead = tracing::trace_span!("lead", lead_id = event.lead_id()).entered();
                self.findings_cause = pending.received;
                if let Some(task) = self.tasks.get_mut(&partition) {
                    let applied = task.apply(
                        input,
                        pending.offset,
                        &event,
                        Instant::now(),
                        wall_now(),
                        &mut self.findings,
                    );
                    tracing::trace!(
                        partition,
                        ?input,
                        offset = pending.offset,
                        time = %event.event_time().to_rfc3339(),
                        ?applied,
                        "applied"
                    );
                    self.batch.tally.record(i, result_of(applied));
                }
                self.catch_up(partition);
                self.sync_contacts(partition, Origin::Input);
            }
            Item::Leg(row) => self.take_leg(partition, pending.offset, *row),
            Item::Bad(bad) => self.dead_letter(i, partition, pending.offset, bad),
            Item::Skipped(reason) => {
                tracing::debug!(partition, offset = pending.offset, "skipped: {reason}");
                self.batch.tally.record(i, RecordResult::Skipped);
            }
        }
        self.batch.records += 1;
        self.send_findings();
    }

    fn dead_letter(&mut self, input: usize, partition: i32, offset: i64, bad: BadRecord) {
        let source = Source {
            topic: &self.inputs[input],
            partition,
            offset,
        };
        if let Some(suppressed) = self.dead_letter_log.allow() {
            tracing::warn!(
                topic = source.topic,
                partition,
                offset,
                kind = bad.kind,
                suppressed,
                "dead-lettering a bad record: {}",
                bad.error
            );
        }
        let mut original = OwnedHeaders::new();
        for (key, value) in &bad.headers {
            original = original.insert(Header {
                key,
                value: value.as_deref(),
            });
        }
        let headers = output::dead_letter_headers(&original, source, bad.kind, &bad.error);
        let topic = self.outputs.dead_letter.clone();
        if self
            .send(
                &topic,
                bad.key.as_deref(),
                bad.payload.as_deref(),
                Some(headers),
            )
            .is_ok()
        {
            self.batch.tally.dead_letter(input, bad.kind);
        }
    }

    fn send_findings(&mut self) {
        if self.findings.is_empty() {
            return;
        }
        let findings = std::mem::take(&mut self.findings);
        for finding in &findings {
            let record = match self.outputs.encode(finding) {
                Ok(encoded) => encoded,
                Err(error) => {
                    // Our own records always encode; if one did not, say so loudly.
                    tracing::error!(%error, "cannot encode a finding");
                    continue;
                }
            };
            let topic = record.topic.to_owned();
            if self
                .send(
                    &topic,
                    Some(record.key.as_bytes()),
                    Some(&record.payload),
                    None,
                )
                .is_err()
            {
                break;
            }
            self.batch
                .tally
                .finding(finding, self.findings_cause, &mut self.stats.labels());
        }
        self.findings = findings;
        self.findings.clear();
        // A clock jump can fire a finding for most leads at once; do not keep that capacity.
        self.findings.shrink_to(KEPT_FINDINGS);
        self.batch.dirty = true;
    }

    /// Sends one record in the open transaction (begun on demand); a full queue waits.
    fn send(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        headers: Option<OwnedHeaders>,
    ) -> Result<(), ()> {
        self.send_to(topic, None, key, payload, headers)
    }

    /// [`Processor::send`] to one partition (else the partitioner's choice).
    fn send_to(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        headers: Option<OwnedHeaders>,
    ) -> Result<(), ()> {
        if self.failed.is_some() {
            return Err(());
        }
        if self.inflight.is_some() {
            if self.parked.len() < PARK_RECORDS && self.parked.bytes() < PARK_BYTES {
                self.parked.push((topic, partition, key, payload, headers));
                return Ok(());
            }
            // Too much waiting for the commit: wait for it instead.
            self.settle();
            if self.failed.is_some() {
                return Err(());
            }
        }
        self.produce((topic, partition, key, payload, headers))
    }

    /// Produces one output in the open transaction (begun on demand); a full queue waits.
    fn produce(&mut self, record: OutRecord<'_>) -> Result<(), ()> {
        self.produce_in(record, self.output_slot())
    }

    /// [`Processor::produce`] with its delivery report counted in `slot`.
    fn produce_in(
        &mut self,
        (topic, partition, key, payload, headers): OutRecord<'_>,
        slot: Slot,
    ) -> Result<(), ()> {
        if let Err(error) = self.ensure_transaction() {
            self.fail(Failure::cannot_begin(&error));
            return Err(());
        }
        let mut record: BaseRecord<'_, [u8], [u8], Slot> = BaseRecord::with_opaque_to(topic, slot);
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(payload) = payload {
            record = record.payload(payload);
        }
        if let Some(headers) = headers {
            record = record.headers(headers);
        }
        self.producer.context().sending(slot);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((error, _)) => {
                    self.producer.context().refused(slot);
                    self.fail(Failure::from_error("produce", &error));
                    return Err(());
                }
            }
        }
    }

    /// Waits for the commit in flight, if any: counts its batch, or fails with its failure
    /// (its transaction is left for recovery to abort); then produces what was parked.
    fn settle(&mut self) {
        let Some(inflight) = self.inflight.take() else {
            return;
        };
        match inflight.wait() {
            Ok(batch) => self.committed(batch),
            Err(failure) => {
                self.batch.in_txn = true;
                self.fail(failure);
            }
        }
        let mut parked = std::mem::take(&mut self.parked);
        if self.failed.is_none() {
            parked.drain(|record| self.produce(record));
        }
        parked.clear();
        self.parked = parked;
    }

    fn ensure_transaction(&mut self) -> Ack<()> {
        if self.guarantee == Guarantee::ExactlyOnce && !self.batch.in_txn {
            self.producer.begin_transaction()?;
            self.batch.in_txn = true;
        }
        Ok(())
    }

    fn fail(&mut self, failure: Failure) {
        if self.failed.is_none() {
            self.failed = Some(failure);
        }
    }

    /// Why the service must stop, once it must.
    pub fn halted(&self) -> Option<&Halt> {
        self.fenced.as_ref()
    }

    /// Between polls: pending restores, recovery after a failure, the commit when due.
    pub fn after_poll<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) {
        if self.fenced.is_some() {
            return;
        }
        if self.inflight.as_ref().is_some_and(InFlight::is_finished) {
            self.settle();
        }
        self.advance_acks(consumer, None);
        self.restore_pending(consumer);
        if self.failed.is_some() {
            self.recover(consumer);
            return;
        }
        let partitions: Vec<i32> = self.aligners.keys().copied().collect();
        for partition in partitions {
            self.release(consumer, partition);
        }
        self.back_pressure(consumer);
        self.replica.poll();
        self.flush_legs();
        self.release_routed();
        let ready =
            !self.assigned.is_empty() && self.to_restore.is_empty() && self.failed.is_none();
        self.stats.set_ready(ready);
        self.queries.answer_next(&self.tasks, ready, &self.config);
        if let Some(snapshot) = self.state.turn(&self.tasks, wall_now()) {
            self.stats.set_state(&snapshot);
        }
        let processing = &self.config.processing;
        let due =
            self.batch.records >= processing.max_batch || self.commit_due_in() == Duration::ZERO;
        if due {
            self.tick_all(consumer);
            self.commit(consumer);
        }
    }

    /// librdkafka's consumer lag of the input partitions (from its statistics).
    pub fn consumer_lag(&self, lags: &[(String, i32, i64)]) {
        let inputs: Vec<(String, i32, i64)> = lags
            .iter()
            .filter(|(topic, _, _)| self.inputs.contains(topic))
            .cloned()
            .collect();
        self.stats.set_consumer_lag(&inputs);
    }

    /// How long the next poll may wait before a commit is due.
    pub fn poll_timeout(&self) -> Duration {
        // While a commit is in flight, its end is looked for often: what was parked meanwhile
        // goes out then.
        let longest = if self.inflight.is_some() {
            Duration::from_millis(2)
        } else {
            Duration::from_millis(100)
        };
        self.commit_due_in()
            .clamp(Duration::from_millis(1), longest)
    }

    /// How long until the open batch is due by time.
    fn commit_due_in(&self) -> Duration {
        let caught_up = self.tasks.values().all(Task::caught_up);
        self.batch.due_in(
            self.config.processing.commit_interval,
            caught_up,
            Instant::now(),
        )
    }

    /// Pauses input partitions whose aligner buffer runs far ahead, or whose task runs far
    /// ahead of the slowest (`flow.rs`), resumes them once drained.
    fn back_pressure<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) {
        let (now, wall) = (Instant::now(), wall_now());
        let clocks: Vec<(i32, Option<Secs>, usize)> = self
            .tasks
            .iter()
            .map(|(&p, task)| (p, task.input_secs(now, wall), task.engine().queued_work().1))
            .collect();
        let ahead: BTreeMap<i32, usize> = flow::ahead_of_slowest(&clocks).collect();
        let waiting = self.aligners.iter().flat_map(|(&partition, aligner)| {
            let ahead = ahead.get(&partition).copied().unwrap_or(0);
            Input::ALL.map(|input| {
                let buffered = aligner.buffered(input);
                (
                    (input.index(), partition),
                    flow::Waiting { buffered, ahead },
                )
            })
        });
        let plan = self.paused.plan(waiting);
        if plan.is_empty() {
            return;
        }
        let list = |keys: &[InputPartition]| {
            let mut tpl = TopicPartitionList::new();
            for &(i, partition) in keys {
                tpl.add_partition(&self.inputs[i], partition);
            }
            tpl
        };
        if !plan.pause.is_empty() {
            for &(_, reason) in &plan.pause {
                ServiceStats::add(&self.stats.alignment_pauses[reason as usize], 1);
            }
            let keys: Vec<InputPartition> = plan.pause.iter().map(|&(key, _)| key).collect();
            if let Err(error) = consumer.pause(&list(&keys)) {
                tracing::warn!(%error, partitions = ?plan.pause, "pausing input partitions");
            }
        }
        if !plan.resume.is_empty() {
            if let Err(error) = consumer.resume(&list(&plan.resume)) {
                tracing::warn!(%error, partitions = ?plan.resume, "resuming input partitions");
            }
        }
        tracing::debug!(pause = ?plan.pause, resume = ?plan.resume, "alignment back-pressure");
        self.stats
            .alignment_paused
            .set(i64::try_from(self.paused.len()).unwrap_or(i64::MAX));
    }

    /// Idle partitions follow the wall clock: fire what that releases.
    fn tick_all<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) {
        let (now, wall) = (Instant::now(), wall_now());
        self.findings_cause = now;
        let partitions: Vec<i32> = self.tasks.keys().copied().collect();
        for partition in partitions {
            self.sync_caught_up(consumer, partition);
            if let Some(task) = self.tasks.get_mut(&partition) {
                task.tick(now, wall, &mut self.findings);
            }
            self.catch_up(partition);
            self.sync_contacts(partition, Origin::Input);
        }
        self.send_findings();
    }

    /// While the task's engine stopped advancing at [`task::TICK_FINDINGS`]: sends what it
    /// found and lets it go on, so a clock jump never holds all its findings at once.
    fn catch_up(&mut self, partition: i32) {
        while self.failed.is_none() && self.tasks.get(&partition).is_some_and(Task::behind) {
            self.send_findings();
            if let Some(task) = self.tasks.get_mut(&partition) {
                task.catch_up(&mut self.findings);
            }
        }
    }

    fn offsets(&self) -> Ack<TopicPartitionList> {
        let mut tpl = TopicPartitionList::new();
        let (now, wall) = (Instant::now(), wall_now());
        for (&(i, partition), &next) in &self.positions {
            let task = self.tasks.get(&partition);
            // A call held for phone resolution is read again after a restart.
            // So is a leg of a call its merger has not emitted yet.
            let held = task.filter(|_| i == Input::Calls.index()).and_then(|t| {
                let legs = t.legs.as_ref().and_then(|l| l.earliest_offset());
                let held = t.routing.earliest_held_offset();
                held.into_iter().chain(legs).min()
            });
            let read = task
                .and_then(|t| t.routing.read_at_least())
                .map_or(next, |read| read.max(next));
            let next = held.map_or(next, |held| held.min(next));
            let held_back = read > next;
            tpl.add_partition_offset(&self.inputs[i], partition, Offset::Offset(next))?;
            if let (Some(task), Some(mut element)) =
                (task, tpl.find_partition(&self.inputs[i], partition))
            {
                let input = Input::ALL.get(i).copied();
                let meta = OffsetMeta {
                    clock: Some(task.engine().clock()),
                    input: input.and_then(|input| task.input_reached(input, now, wall)),
                    read: held_back.then_some(read),
                    // Of the calls read again, those due before this were forwarded; a call
                    // still in the merger is due after its start + lateness, maybe before the
                    // router's release (a claim is never taken back).
                    released: held_back
                        .then(|| task.routing.released())
                        .flatten()
                        .map(|r| self.legs_floor(partition).map_or(r, |f| r.min(f))),
                    sources: (i == RESOLVED).then(|| task.routing.sources().to_vec()),
                };
                element.set_metadata(meta.encode());
            }
        }
        Ok(tpl)
    }

    /// Commits the open batch: outputs and offsets together (exactly-once), or offsets after
    /// every output is acknowledged (at-least-once).
    ///
    /// Exactly-once, the transaction's round trips run on a thread of their own
    /// ([`InFlight`]) while the next batch is processed; [`Processor::settle`] waits for it.
    fn commit<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) {
        self.settle();
        if self.failed.is_some() {
            return;
        }
        self.publish_contacts();
        if !self.batch.dirty {
            let now = Instant::now();
            (self.batch.since, self.batch.cycle) = (now, now);
            return;
        }
        let started = Instant::now();
        let held: usize = self.tasks.values().map(|t| t.routing.held()).sum();
        self.stats
            .calls_held
            .set(i64::try_from(held).unwrap_or(i64::MAX));
        let buffered: usize = self.aligners.values().map(Aligner::len).sum();
        self.stats
            .alignment_buffered
            .set(i64::try_from(buffered).unwrap_or(i64::MAX));
        let result = match self.guarantee {
            Guarantee::ExactlyOnce => self.start_transaction_commit(consumer, started),
            Guarantee::AtLeastOnce => self.close_batch(consumer, started),
        };
        match result {
            Ok(()) => {
                self.batch = Batch::new();
                self.batch.cycle = started;
            }
            Err(failure) => self.fail(failure),
        }
    }

    /// Commits the open batch and waits for it: before partitions go, and at shutdown.
    fn commit_and_wait<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) {
        self.commit(consumer);
        self.settle();
        self.advance_acks(consumer, Some(usize::MAX));
    }

    /// What the open batch counts once it has committed (taken from it now).
    fn committing(&mut self, started: Instant) -> CommittedBatch {
        CommittedBatch {
            started,
            tally: std::mem::take(&mut self.batch.tally),
            outcomes: self.outcomes.grown(&self.tasks),
        }
    }

    /// A batch committed: its counts go to the metrics.
    fn committed(&mut self, batch: CommittedBatch) {
        self.stats.observe_commit(batch.started.elapsed());
        for (tenant, grown) in &batch.outcomes {
            self.stats.add_qc_outcomes(tenant, *grown);
        }
        ServiceStats::add(&self.stats.commits, 1);
        self.stats.commit(&batch.tally);
        self.failures_in_a_row = 0;
    }

    /// Each task's state changes since the last commit, to its changelog partition, in the
    /// batch's transaction (exactly-once; at-least-once writes them per task in `acking.rs`,
    /// held until the outputs are acknowledged).
    fn write_changelog(&mut self) {
        let partitions: Vec<i32> = self.tasks.keys().copied().collect();
        for partition in partitions {
            if self
                .write_changelog_of(partition, &mut ChangelogTo::Send)
                .is_err()
            {
                return;
            }
        }
    }

    /// One task's state changes since the last commit, to its changelog partition, as `to`
    /// says; `Err` once a record could not be sent.
    fn write_changelog_of(&mut self, partition: i32, to: &mut ChangelogTo<'_>) -> Result<(), ()> {
        let topic = self.config.kafka.topics.changelog.clone();
        let mut parts = std::mem::take(&mut self.record_parts);
        let mut filled = 0;
        if let Some(task) = self.tasks.get_mut(&partition) {
            let engine = task.engine_mut();
            let changed = engine.take_changed();
            let view = engine.change_view(&changed);
            filled = parts::build_in_parts(view.len(), &mut parts, |range, encoded| {
                view.build(range, |change| encoded.push(change));
            });
        }
        let mut result = Ok(());
        for (key, value) in parts[..filled].iter().flat_map(changelog::Encoded::records) {
            let record = (topic.as_str(), Some(partition), Some(key), value, None);
            result = match to {
                ChangelogTo::Send => {
                    let (topic, partition, key, value, headers) = record;
                    self.send_to(topic, partition, key, value, headers)
                }
                ChangelogTo::Hold(hold) => {
                    hold.push(record);
                    Ok(())
                }
                ChangelogTo::Produce(slot) => self.produce_in(record, *slot),
            };
            if result.is_err() {
                break;
            }
        }
        for encoded in &mut parts {
            encoded.clear();
        }
        self.record_parts = parts;
        result
    }

    /// Writes the batch's changelog and hands its transaction, with its offsets, to the thread
    /// that commits it.
    fn start_transaction_commit<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        started: Instant,
    ) -> Result<(), Failure> {
        self.write_changelog();
        if let Some(failure) = self.failed.take() {
            return Err(failure);
        }
        let offsets = self
            .offsets()
            .map_err(|e| Failure::from_error("offsets", &e))?;
        self.ensure_transaction()
            .map_err(|e| Failure::cannot_begin(&e))?;
        let abort = self.faults.before_commit();
        let group = consumer
            .group_metadata()
            .ok_or_else(|| Failure::rewind("the consumer has no group metadata"))?;
        let batch = self.committing(started);
        self.inflight = Some(InFlight::start(
            Arc::clone(&self.producer),
            offsets,
            group,
            Arc::clone(&self.stats),
            batch,
            abort,
        )?);
        Ok(())
    }

    /// Undoes the open batch: aborts the transaction (a new producer when the old one is
    /// fenced or broken), rewinds every assigned partition to its committed offset and
    /// rebuilds the tasks from there.
    fn recover<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) {
        // The rewind reads the committed offsets: a commit in flight must have ended.
        self.settle();
        let Some(failure) = self.failed.take() else {
            return;
        };
        if failure.halt {
            tracing::error!(
                reason = failure.reason,
                "cannot restore a task's state; stopping"
            );
            self.fenced = Some(Halt::State(failure.reason));
            return;
        }
        if failure.fenced && self.guarantee == Guarantee::ExactlyOnce {
            // The broker aborted the open transaction when the newer instance initialised
            // its producer; nothing of this batch is visible. Re-initialising would fence
            // the newer instance in turn, so this one stops.
            tracing::error!(
                reason = failure.reason,
                "fenced: another instance took over this transactional id; stopping"
            );
            self.fenced = Some(Halt::Fenced(failure.reason));
            return;
        }
        self.failures_in_a_row += 1;
        ServiceStats::add(&self.stats.aborts, 1);
        tracing::warn!(
            reason = failure.reason,
            attempt = self.failures_in_a_row,
            "batch failed; rewinding to the last commit"
        );
        if self.failures_in_a_row > 1 {
            let backoff = Duration::from_millis(100 << self.failures_in_a_row.min(6));
            std::thread::sleep(backoff);
        }
        let mut fatal = failure.fatal;
        if self.guarantee == Guarantee::ExactlyOnce && self.batch.in_txn && !fatal {
            if let Err(error) = self.producer.abort_transaction(CALL_TIMEOUT) {
                tracing::warn!(%error, "abort failed; replacing the producer");
                fatal = true;
            }
        }
        if fatal {
            match create_producer(&self.producer_client, self.guarantee, &self.stats) {
                Ok(producer) => {
                    self.producer = Arc::new(producer);
                    ServiceStats::add(&self.stats.producer_restarts, 1);
                }
                Err(error) => {
                    self.fail(Failure::from_error("re-create the producer", &error));
                    return;
                }
            }
        }
        self.batch = Batch::new();
        self.drop_acks();
        self.standby.clear();
        self.resumed = self.idle_timers();
        self.tasks.clear();
        self.aligners.clear();
        self.received.clear();
        self.positions.clear();
        if let Err(error) = self.rewind(consumer) {
            self.fail(Failure::from_error("rewind", &error));
            return;
        }
        self.to_restore = self.assigned.iter().map(|&(_, p)| p).collect();
        self.restore_pending(consumer);
    }

    /// Each input partition's read position and last news, to carry over an abort.
    fn idle_timers(&self) -> BTreeMap<(usize, i32), (i64, Duration)> {
        let mut timers = BTreeMap::new();
        let now = Instant::now();
        for (&partition, task) in &self.tasks {
            for input in Input::ALL {
                let i = input.index();
                let read = self.received.get(&(i, partition)).map(|o| o + 1);
                let applied = self.positions.get(&(i, partition)).copied();
                if let Some(up_to) = read.max(applied) {
                    let silence = now.saturating_duration_since(task.last_record(input));
                    timers.insert((i, partition), (up_to, silence));
                }
            }
        }
        timers
    }

    fn assigned_list(&self, partitions: impl Fn(i32) -> bool) -> Ack<TopicPartitionList> {
        let mut tpl = TopicPartitionList::new();
        for &(i, partition) in &self.assigned {
            if partitions(partition) {
                tpl.add_partition(&self.inputs[i], partition);
            }
        }
        Ok(tpl)
    }

    fn rewind<C: ConsumerContext>(&self, consumer: &BaseConsumer<C>) -> Ack<()> {
        let committed = consumer.committed_offsets(self.assigned_list(|_| true)?, CALL_TIMEOUT)?;
        for element in committed.elements() {
            let offset = match element.offset() {
                Offset::Offset(o) => Offset::Offset(o),
                _ => Offset::Beginning,
            };
            consumer.seek(element.topic(), element.partition(), offset, CALL_TIMEOUT)?;
        }
        Ok(())
    }

    /// Builds the tasks of newly assigned partitions before any of their records is applied.
    fn restore_pending<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) {
        if self.to_restore.is_empty() || self.failed.is_some() {
            return;
        }
        // Restores start from the committed offsets: a commit in flight must have ended.
        self.settle();
        if self.failed.is_some() {
            return;
        }
        let wanted = std::mem::take(&mut self.to_restore);
        let committed = match self
            .assigned_list(|p| wanted.contains(&p))
            .and_then(|tpl| consumer.committed_offsets(tpl, CALL_TIMEOUT))
        {
            Ok(committed) => committed,
            Err(error) => {
                self.to_restore = wanted;
                self.fail(Failure::from_error("read committed offsets", &error));
                return;
            }
        };
        let mut states = Vec::with_capacity(wanted.len());
        for &partition in &wanted {
            let mut state = Committed::default();
            for (i, input) in Input::ALL.into_iter().enumerate() {
                let Some(element) = committed.find_partition(&self.inputs[i], partition) else {
                    continue;
                };
                if let Offset::Offset(next) = element.offset() {
                    self.positions.insert((i, partition), next);
                }
                if let Some(meta) = OffsetMeta::parse(element.metadata()) {
                    state.restore_clock(meta.clock);
                    state.inputs[i] = meta.input;
                    if input == Input::Calls {
                        state.calls_read = meta.read;
                        state.released = meta.released;
                    }
                }
            }
            if let Some(element) = committed.find_partition(&self.inputs[RESOLVED], partition) {
                if let Offset::Offset(next) = element.offset() {
                    self.positions.insert((RESOLVED, partition), next);
                }
                if let Some(meta) = OffsetMeta::parse(element.metadata()) {
                    state.restore_clock(meta.clock);
                    state.sources = meta.sources;
                }
            }
            states.push((partition, state));
        }
        let rebuild: Vec<i32> = wanted
            .iter()
            .copied()
            .filter(|p| !self.standby.contains_key(p))
            .collect();
        let parallel = std::thread::available_parallelism().map_or(1, usize::from);
        // The replica is read again up to the end of every partition (a partition taken over
        // comes with its previous owner's last committed entries), on a thread of its own
        // while the tasks are rebuilt: neither needs the other, and at 1M leads the read
        // alone took 7 s (docs/restore-bench.md).
        let (replica, stop) = (&mut self.replica, &self.stop);
        let (read, rebuilt) = std::thread::scope(|scope| {
            let reader = scope.spawn(move || replica.reset(stop));
            let rebuilt = state_log::rebuild(
                &self.config,
                &self.restore_client,
                &self.config.kafka.topics.changelog,
                &rebuild,
                parallel,
                &self.stop,
            );
            (reader.join(), rebuilt)
        });
        let unchecked = match read {
            Ok(Ok(unchecked)) => unchecked,
            Ok(Err(error)) => {
                self.to_restore = wanted;
                self.fail(Failure::rewind(error.to_string()));
                return;
            }
            Err(_) => {
                self.to_restore = wanted;
                self.fail(Failure::rewind("the contact directory's reader panicked"));
                return;
            }
        };
        let mut rebuilt = rebuilt.into_iter();
        for (partition, state) in states {
            if let Some(task) = self.standby.remove(&partition) {
                self.outcomes.baseline(partition, &task);
                self.tasks.insert(partition, task);
                continue;
            }
            let restored = rebuilt
                .next()
                .unwrap_or(Err(RestoreError::Stopped))
                .map_err(restore_failure);
            match restored {
                Ok((engine, report)) => {
                    let task = self.restored_task(partition, engine, &report, &state);
                    self.outcomes.baseline(partition, &task);
                    self.tasks.insert(partition, task);
                }
                Err(failure) => {
                    self.to_restore = wanted.clone();
                    self.fail(failure);
                    return;
                }
            }
        }
        self.standby.clear();
        self.replica.set_local(self.tasks.keys().copied());
        for (partition, tenant, lead_id, at) in unchecked {
            let due = at.saturating_add(self.lateness(&tenant));
            if let Some(task) = self.tasks.get_mut(&partition) {
                task.routing.schedule_check(routing::Check {
                    due,
                    at,
                    tenant,
                    lead_id,
                });
            }
        }
    }

    /// A task around an engine rebuilt from the changelog, its clock set to the committed one.
    fn restored_task(
        &mut self,
        partition: i32,
        mut engine: Engine,
        report: &Restored,
        committed: &Committed,
    ) -> Task {
        let _span = tracing::info_span!("restore", partition).entered();
        // Changes from here on go to the changelog; what was read is there already.
        engine.track_changes();
        engine.track_contacts();
        let mut task = Task::new(
            engine,
            self.config.processing.idle_timeout,
            Instant::now(),
            self.partitions,
        );
        task.legs = self.new_legs();
        if let Some(sources) = &committed.sources {
            task.routing.restore_sources(sources);
        }
        if let Some(read) = committed.calls_read {
            task.routing.catch_up_to(read, committed.released);
        }
        for (input, latest) in Input::ALL.into_iter().zip(committed.inputs) {
            if let Some(latest) = latest {
                task.restore_input(input, latest);
            }
            if let Some((up_to, silence)) = self.resumed.remove(&(input.index(), partition)) {
                task.resume_idle_timer(input, up_to, silence, Instant::now());
            }
        }
        if let Some(clock) = committed.clock {
            // Every timer due by this clock fired before the commit that stored the state.
            task.restore_clock(clock, &mut Vec::new());
        }
        self.stats.observe_restore(report.elapsed, report.bytes);
        ServiceStats::add(&self.stats.records_restored, report.records);
        tracing::info!(
            partition,
            leads = task.engine().tracked_leads(),
            clock = %task.engine().clock().to_rfc3339(),
            records = report.records,
            applied = report.latest,
            bytes = report.bytes,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "task restored"
        );
        task
    }

    /// Rebalance, before partitions go: commit what is open, keep the tasks as standby.
    pub fn on_revoke<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        revoked: &TopicPartitionList,
    ) {
        self.stats.set_ready(false);
        if self.failed.is_none() && self.fenced.is_none() {
            self.commit_and_wait(consumer);
        }
        let committed = self.failed.is_none();
        let mut committed_all = committed;
        if let Some(failure) = self.failed.take() {
            tracing::warn!(reason = failure.reason, "commit at revoke failed; aborting");
            let mut fatal = failure.fatal;
            if self.guarantee == Guarantee::ExactlyOnce && self.batch.in_txn && !fatal {
                if let Err(error) = self.producer.abort_transaction(CALL_TIMEOUT) {
                    // An abort that timed out keeps retrying inside librdkafka and every
                    // later begin_transaction conflicts with it.
                    tracing::warn!(%error, "abort failed; the producer will be replaced");
                    fatal = true;
                }
            }
            if fatal {
                // the producer is replaced by the next recovery
                self.failed = Some(Failure { fatal, ..failure });
            }
            self.batch.in_txn = false;
            self.batch.dirty = false;
            self.batch.records = 0;
            self.drop_acks();
        }
        for element in revoked.elements() {
            let Some(i) = self.input_index(element.topic()) else {
                continue;
            };
            let partition = element.partition();
            self.assigned.remove(&(i, partition));
            self.positions.remove(&(i, partition));
            self.received.remove(&(i, partition));
            self.resumed.remove(&(i, partition));
            if self
                .aligners
                .remove(&partition)
                .is_some_and(|a| a.len() > 0)
            {
                // Buffered records were not applied; the next owner fetches them again from
                // the committed offsets, which a kept task would not match.
                committed_all = false;
            }
            if let Some(task) = self.tasks.remove(&partition) {
                if committed_all {
                    self.standby.insert(partition, task);
                }
            }
        }
        self.to_restore.clear();
    }

    /// Rebalance, after partitions came: their tasks are built before their first record.
    pub fn on_assign(&mut self, assigned: &TopicPartitionList) {
        self.stats.set_ready(false);
        for element in assigned.elements() {
            // The consumer resumed them (`ServiceContext::post_rebalance`).
            self.paused.forget(element.partition());
            if let Some(i) = self.input_index(element.topic()) {
                self.assigned.insert((i, element.partition()));
                if !self.tasks.contains_key(&element.partition()) {
                    self.to_restore.insert(element.partition());
                }
            }
        }
        tracing::info!(partitions = ?self.assigned, "partitions assigned");
    }

    /// Shutdown: commit the in-flight batch (or abort it).
    pub fn finish<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) {
        if self.fenced.is_some() {
            return;
        }
        if self.failed.is_none() {
            self.tick_all(consumer);
            self.commit_and_wait(consumer);
        }
        // A failure left a commit in flight: it ends before the abort.
        self.settle();
        if let Some(failure) = self.failed.take() {
            tracing::warn!(reason = failure.reason, "final commit failed; aborting");
            if self.guarantee == Guarantee::ExactlyOnce && self.batch.in_txn {
                let _ = self.producer.abort_transaction(CALL_TIMEOUT);
            }
        }
        if let Err(error) = self.producer.flush(CALL_TIMEOUT) {
            tracing::warn!(%error, "flush at shutdown");
        }
    }

    /// Logs a client error (rate-limited) and counts it.
    pub fn client_error(&mut self, error: &KafkaError) {
        ServiceStats::add(&self.stats.transient_errors, 1);
        if let Some(suppressed) = self.error_log.allow() {
            tracing::warn!(%error, suppressed, "kafka");
        }
    }
}

/// Decodes a record of `input` into what the task takes: an event, a CDR leg for the merger
/// (Asterisk calls), a record to skip, or the error kind and message of a bad record.
fn decode_item(
    decoder: &InputDecoder,
    input: Input,
    bytes: &[u8],
) -> Result<Item, (&'static str, String)> {
    let decoded = match (decoder, input) {
        (InputDecoder::Asterisk(options), Input::Calls) => {
            crate::formats::asterisk::decode_cdr(bytes, options)
                .map(|row| Item::Leg(Box::new(row)))
                .map_err(crate::formats::InputError::from)
        }
        _ => task::decode(decoder, input, bytes).map(|event| Item::Event(event.into_owned())),
    };
    match decoded {
        Ok(item) => Ok(item),
        Err(e) if e.is_skip() => Ok(Item::Skipped(e.to_string())),
        Err(e) => Err((e.kind(), e.to_string())),
    }
}

/// librdkafka's cached high watermark of a partition (from the latest fetch response; no
/// request is made), `None` before the first fetch.
fn high_watermark<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &CStr,
    partition: i32,
) -> Option<i64> {
    let (mut low, mut high) = (-1_i64, -1_i64);
    // SAFETY: the client handle lives as long as `consumer`; `topic` is NUL-terminated and the
    // out-parameters point to live i64s. The call only reads librdkafka's cache.
    let error = unsafe {
        rdkafka::bindings::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (error == rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0)
        .then_some(high)
}

fn wall_now() -> Timestamp {
    Timestamp::from_datetime(&chrono::Utc::now())
        .unwrap_or_else(|_| Timestamp::from_compact_seconds(u32::MAX))
}

/// Retries a retriable error a few times with a short backoff.
fn retry<T>(stats: &ServiceStats, mut call: impl FnMut() -> Ack<T>) -> Ack<T> {
    let mut attempt = 0;
    loop {
        match call() {
            Err(KafkaError::Transaction(e)) if e.is_retriable() && attempt < 5 => {
                attempt += 1;
                ServiceStats::add(&stats.transient_errors, 1);
                std::thread::sleep(Duration::from_millis(100 * attempt));
            }
            other => return other,
        }
    }
}

/// A producer ready to use (transactions initialised under exactly-once; retried until the
/// broker answers).
fn create_producer(
    client: &ClientConfig,
    guarantee: Guarantee,
    stats: &Arc<ServiceStats>,
) -> Ack<OutputProducer> {
    let producer: OutputProducer = client.create_with_context(DeliveryContext::default())?;
    if guarantee == Guarantee::ExactlyOnce {
        retry(stats, || producer.init_transactions(CALL_TIMEOUT))?;
    }
    Ok(producer)
}

/// How a failed restore is handled: broker trouble and a stop are retried after a rewind; a
/// changelog this dozvon cannot read halts it (state is never guessed).
fn restore_failure(error: RestoreError) -> Failure {
    match error {
        RestoreError::Kafka(e) => Failure::from_error("restore", &e),
        RestoreError::Stopped => Failure::rewind("stopped while restoring"),
        halt @ (RestoreError::Corrupt { .. } | RestoreError::Engine(_)) => {
            Failure::halt(halt.to_string())
        }
    }
}
