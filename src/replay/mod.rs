//! `dozvon replay`: runs the engine over call and lead files merged by event time.

mod calls;
mod input;
mod summary;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use calls::{CallSource, CdrCalls, RecordCalls};
pub use input::{InputFile, InputRecord, Malformed};
pub use summary::Summary;

use crate::codec;
use crate::config::Config;
use crate::contacts::{ContactDirectory, ContactStats, Due, Resolver};
use crate::engine::{ContactUpdate, Engine, EngineError, EngineStats};
use crate::formats::{InputDecoder, MergerStats};
use crate::model::{CallRecord, Finding, InputEvent, LeadEvent, QcReview, Timestamp, Violation};

/// Why a replay could not run at all (bad lines do not stop it; see [`ReplayOutput::malformed`]).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(Malformed),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("cannot encode a finding: {0}")]
    Encode(String),
}

/// Everything a replay produced.
#[derive(Debug, Default)]
pub struct ReplayOutput {
    pub violations: Vec<Violation>,
    pub reviews: Vec<QcReview>,
    pub malformed: Vec<Malformed>,
    pub stats: EngineStats,
    /// Good records read from both inputs.
    pub events: u64,
    /// Well-formed foreign rows the regulation does not judge (Bitrix24 robot calls, Asterisk
    /// internal calls), skipped.
    pub skipped: u64,
    /// The leg merger's counters when the calls are Asterisk CDR rows.
    pub merger: Option<MergerStats>,
    /// The final watermark (`--until`, else the latest event time seen).
    pub until: Option<Timestamp>,
    /// Calls resolved by phone, left unresolved, duplicate leads flagged (docs/contacts.md).
    pub contacts: ContactStats,
}

/// Feeds events to an engine in the given order, advancing the clock to the latest event time
/// seen after each one — the same loop for files, generated data and tests. With
/// [`Driver::resolving`], calls without `lead_id` are bound by phone and duplicate leads flagged
/// (a [`Resolver`] between the inputs and the engine, docs/contacts.md).
pub struct Driver<'e> {
    engine: &'e mut Engine,
    contacts: Option<Contacts>,
    latest: Option<Timestamp>,
    events: u64,
}

/// Where the call whose contact updates are synced came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Input,
    ResolvedByPhone,
}

/// The resolver and a buffer for the engine's contact updates.
struct Contacts {
    resolver: Resolver,
    updates: Vec<ContactUpdate>,
}

/// What [`Driver::finish`] reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Finished {
    /// Events fed.
    pub events: u64,
    /// The final watermark (`until`, else the latest event time seen).
    pub until: Option<Timestamp>,
    /// Phone resolution and duplicate leads ([`Driver::resolving`] only).
    pub contacts: Option<ContactStats>,
}

impl<'e> Driver<'e> {
    /// A driver without phone resolution: calls without `lead_id` reach the engine as they are
    /// and are counted as unresolved.
    pub fn new(engine: &'e mut Engine) -> Self {
        Driver {
            engine,
            contacts: None,
            latest: None,
            events: 0,
        }
    }

    /// A driver that resolves calls without `lead_id` by phone and flags duplicate leads.
    pub fn resolving(engine: &'e mut Engine) -> Self {
        engine.track_contacts();
        let resolver = Resolver::new(Arc::clone(engine.config()));
        Driver {
            engine,
            contacts: Some(Contacts {
                resolver,
                updates: Vec::new(),
            }),
            latest: None,
            events: 0,
        }
    }

    /// The contact directory ([`Driver::resolving`] only).
    pub fn directory(&self) -> Option<&ContactDirectory> {
        self.contacts.as_ref().map(|c| c.resolver.directory())
    }

    pub fn feed(&mut self, event: &InputEvent<'_>, findings: &mut Vec<Finding>) {
        match (event, &mut self.contacts) {
            (InputEvent::Call(call), Some(contacts)) if call.lead_id.is_none() => {
                if let Some(call) = contacts.resolver.hold_call(call.clone().into_owned()) {
                    self.engine.apply_call(&call, findings);
                }
            }
            (InputEvent::Call(call), _) => {
                self.engine.apply_call(call, findings);
            }
            (InputEvent::Lead(lead), _) => {
                self.engine.apply_lead_event(lead, findings);
            }
        }
        self.events += 1;
        let time = event.event_time();
        let clock = self.latest.map_or(time, |l| l.max(time));
        self.latest = Some(clock);
        self.release(findings, |resolver| resolver.next_due(clock));
        if let Some(contacts) = &mut self.contacts {
            contacts.resolver.prune(clock);
        }
        self.engine.advance_clock(clock, findings);
        self.sync_contacts();
    }

    /// Moves the engine's contact updates into the directory.
    fn sync_contacts(&mut self) {
        self.sync_contacts_of(Origin::Input);
    }

    /// Moves the engine's contact updates into the directory; those of a call bound by phone
    /// leave out its attempt (activity for phone resolution is what came keyed by lead:
    /// docs/contacts.md).
    fn sync_contacts_of(&mut self, origin: Origin) {
        if let Some(contacts) = &mut self.contacts {
            self.engine.take_contact_updates(&mut contacts.updates);
            for update in contacts.updates.drain(..) {
                if origin == Origin::ResolvedByPhone && update.is_attempt() {
                    continue;
                }
                contacts.resolver.apply(&update);
            }
        }
    }

    /// Applies what the resolver releases (calls to the engine, reviews to the findings).
    fn release(
        &mut self,
        findings: &mut Vec<Finding>,
        next: impl Fn(&mut Resolver) -> Option<Due>,
    ) {
        self.sync_contacts();
        while let Some(due) = self.contacts.as_mut().and_then(|c| next(&mut c.resolver)) {
            match due {
                Due::Call(call) => {
                    self.engine.apply_call(&call, findings);
                    self.sync_contacts_of(if call.lead_id.is_some() {
                        Origin::ResolvedByPhone
                    } else {
                        Origin::Input
                    });
                }
                Due::Review(review) => findings.push(Finding::Qc(review)),
            }
        }
    }

    /// End of input: releases every waiting call, moves the watermark to `until` (default: the
    /// latest event time seen) and reports what was done.
    pub fn finish(mut self, until: Option<Timestamp>, findings: &mut Vec<Finding>) -> Finished {
        let until = until.or(self.latest);
        self.release(findings, |resolver| resolver.next_remaining(until));
        if let Some(until) = until {
            self.engine.flush_until(until, findings);
        }
        Finished {
            events: self.events,
            until,
            contacts: self.contacts.map(|c| c.resolver.stats().clone()),
        }
    }
}

/// Runs a whole event sequence through a fresh engine and returns the findings.
pub fn run_events<'a>(
    config: Arc<Config>,
    events: impl IntoIterator<Item = InputEvent<'a>>,
    until: Option<Timestamp>,
) -> Result<Vec<Finding>, EngineError> {
    let mut engine = Engine::new(config)?;
    let mut driver = Driver::resolving(&mut engine);
    let mut findings = Vec::new();
    for event in events {
        driver.feed(&event, &mut findings);
    }
    driver.finish(until, &mut findings);
    Ok(findings)
}

/// [`run_with`] a [`Driver::resolving`] the engine: the malformed records, the number of
/// events and the final watermark.
pub fn run<'a, C: CallSource<'a> + ?Sized>(
    engine: &mut Engine,
    calls: &mut C,
    leads: &mut InputFile<'a, LeadEvent<'a>>,
    until: Option<Timestamp>,
    findings: &mut Vec<Finding>,
) -> (Vec<Malformed>, u64, Option<Timestamp>) {
    let (malformed, finished) = run_with(Driver::resolving(engine), calls, leads, until, findings);
    (malformed, finished.events, finished.until)
}

/// Merges both inputs by event time (a stable two-way merge: each file keeps its own order,
/// so out-of-order delivery recorded in a file is replayed as such) and feeds them to `driver`.
/// Before a lead event is fed, the calls input is told the clock has reached its time, so calls
/// that an Asterisk merger completes by then are fed first.
pub fn run_with<'a, C: CallSource<'a> + ?Sized>(
    mut driver: Driver<'_>,
    calls: &mut C,
    leads: &mut InputFile<'a, LeadEvent<'a>>,
    until: Option<Timestamp>,
    findings: &mut Vec<Finding>,
) -> (Vec<Malformed>, Finished) {
    let mut malformed = Vec::new();
    let mut next_lead = leads.next_record(&mut malformed);
    let mut ready = Vec::new();
    loop {
        let call_time = calls.next_time(&mut malformed);
        let lead = match (call_time, next_lead.take()) {
            (None, None) => break,
            (Some(call), Some(lead)) if lead.occurred_at <= call => lead,
            (None, Some(lead)) => lead,
            (_, lead) => {
                next_lead = lead;
                calls.take(&mut ready);
                feed_calls(&mut driver, &mut ready, findings);
                continue;
            }
        };
        calls.reach(lead.occurred_at, &mut ready);
        feed_calls(&mut driver, &mut ready, findings);
        driver.feed(&InputEvent::Lead(lead), findings);
        next_lead = leads.next_record(&mut malformed);
    }
    calls.finish(&mut ready);
    feed_calls(&mut driver, &mut ready, findings);
    let finished = driver.finish(until, findings);
    (malformed, finished)
}

fn feed_calls<'a>(
    driver: &mut Driver<'_>,
    ready: &mut Vec<CallRecord<'a>>,
    findings: &mut Vec<Finding>,
) {
    for call in ready.drain(..) {
        driver.feed(&InputEvent::Call(call), findings);
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ReplayError> {
    std::fs::read(path).map_err(|source| ReplayError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Replays two files with the given configuration. `[kafka.format] calls` / `leads` =
/// `"bitrix24"` reads that file as Bitrix24 NDJSON (with `[formats.bitrix24]`), as the service
/// would; `calls = "asterisk"` reads CDR rows (NDJSON) and merges their legs into calls (with
/// `[formats.asterisk]`).
pub fn replay_files(
    config: Arc<Config>,
    calls_path: &Path,
    leads_path: &Path,
    until: Option<Timestamp>,
) -> Result<ReplayOutput, ReplayError> {
    replay_files_with(config, calls_path, leads_path, until, true)
}

/// [`replay_files`], with phone resolution and duplicate detection (`contacts`) or without
/// (calls without `lead_id` unresolved, as the service still treats them).
pub fn replay_files_with(
    config: Arc<Config>,
    calls_path: &Path,
    leads_path: &Path,
    until: Option<Timestamp>,
    contacts: bool,
) -> Result<ReplayOutput, ReplayError> {
    let calls_data = read(calls_path)?;
    let leads_data = read(leads_path)?;
    let [calls_decoder, leads_decoder] = InputDecoder::inputs(&config);
    let mut calls: Box<dyn CallSource<'_>> = match calls_decoder.asterisk() {
        Some(options) => Box::new(
            CdrCalls::new(calls_path, &calls_data, options.clone()).map_err(ReplayError::Input)?,
        ),
        None => Box::new(RecordCalls::new(
            InputFile::<CallRecord>::with_decoder(calls_path, &calls_data, calls_decoder)
                .map_err(ReplayError::Input)?,
        )),
    };
    let mut leads = InputFile::<LeadEvent>::with_decoder(leads_path, &leads_data, leads_decoder)
        .map_err(ReplayError::Input)?;
    let mut engine = Engine::new(config)?;
    let mut findings = Vec::new();
    let driver = if contacts {
        Driver::resolving(&mut engine)
    } else {
        Driver::new(&mut engine)
    };
    let (malformed, finished) = run_with(driver, calls.as_mut(), &mut leads, until, &mut findings);
    let mut output = ReplayOutput {
        malformed,
        events: finished.events,
        skipped: calls.skipped() + leads.skipped(),
        merger: calls.merger_stats(),
        until: finished.until,
        contacts: finished.contacts.unwrap_or_else(|| ContactStats {
            unresolved_calls: engine.stats().unresolved_calls,
            ..ContactStats::default()
        }),
        stats: engine.stats().clone(),
        ..ReplayOutput::default()
    };
    for finding in findings {
        match finding {
            Finding::Violation(v) => output.violations.push(v),
            Finding::Qc(q) => output.reviews.push(q),
        }
    }
    Ok(output)
}

/// Writes `violations.ndjson` and `qc-reviews.ndjson` into `dir` (created if missing): each
/// line is exactly the JSON payload that goes to Kafka.
pub fn write_outputs(dir: &Path, output: &ReplayOutput) -> Result<(), ReplayError> {
    std::fs::create_dir_all(dir).map_err(|source| ReplayError::Write {
        path: dir.to_owned(),
        source,
    })?;
    write_ndjson(
        &dir.join("violations.ndjson"),
        &output.violations,
        codec::encode_json_violation_into,
    )?;
    write_ndjson(
        &dir.join("qc-reviews.ndjson"),
        &output.reviews,
        codec::encode_json_qc_review_into,
    )
}

/// One line per item, each exactly the JSON payload of `codec`'s encoder, into one buffer.
fn write_ndjson<T, E: std::fmt::Display>(
    path: &Path,
    items: &[T],
    encode: impl Fn(&T, &mut Vec<u8>) -> Result<(), E>,
) -> Result<(), ReplayError> {
    let mut lines = Vec::with_capacity(items.len() * 320);
    for item in items {
        encode(item, &mut lines).map_err(|e| ReplayError::Encode(e.to_string()))?;
        lines.push(b'\n');
    }
    std::fs::write(path, &lines).map_err(|source| ReplayError::Write {
        path: path.to_owned(),
        source,
    })
}
