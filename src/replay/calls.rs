//! The calls input of a replay: one record per call (dozvon, Bitrix24), or Asterisk CDR legs merged into calls.

use std::path::{Path, PathBuf};

use super::input::{InputFile, Lines, Malformed, refuse_container};
use crate::formats::{AsteriskOptions, CdrMerger, CdrRow, InputFormat, MergerStats, asterisk};
use crate::model::{CallRecord, Timestamp};

/// A calls input as the replay loop sees it: items happening at an event time, some of which
/// complete calls, and a clock (the time both inputs have reached) that may complete more.
pub trait CallSource<'a> {
    /// When the next item happens (a call's start; a CDR leg's end, when Asterisk writes it),
    /// reading past malformed lines; `None` at the end of the input.
    fn next_time(&mut self, malformed: &mut Vec<Malformed>) -> Option<Timestamp>;
    /// Consumes that item; the calls it completes are appended to `ready` by start time.
    fn take(&mut self, ready: &mut Vec<CallRecord<'a>>);
    /// Both inputs have reached `clock`: the calls complete by then are appended to `ready`.
    fn reach(&mut self, clock: Timestamp, ready: &mut Vec<CallRecord<'a>>);
    /// End of input: every call still pending is appended to `ready`.
    fn finish(&mut self, ready: &mut Vec<CallRecord<'a>>);
    /// Well-formed input not judged (a Bitrix24 robot call, an Asterisk internal call).
    fn skipped(&self) -> u64;
    /// The leg merger's counters of an Asterisk input.
    fn merger_stats(&self) -> Option<MergerStats> {
        None
    }
}

/// A file with one call per record: each record is a call at its start time.
pub struct RecordCalls<'a> {
    file: InputFile<'a, CallRecord<'a>>,
    next: Option<CallRecord<'a>>,
}

impl<'a> RecordCalls<'a> {
    pub fn new(file: InputFile<'a, CallRecord<'a>>) -> Self {
        RecordCalls { file, next: None }
    }
}

impl<'a> CallSource<'a> for RecordCalls<'a> {
    fn next_time(&mut self, malformed: &mut Vec<Malformed>) -> Option<Timestamp> {
        if self.next.is_none() {
            self.next = self.file.next_record(malformed);
        }
        self.next.as_ref().map(|call| call.started_at)
    }

    fn take(&mut self, ready: &mut Vec<CallRecord<'a>>) {
        ready.extend(self.next.take());
    }

    fn reach(&mut self, _clock: Timestamp, _ready: &mut Vec<CallRecord<'a>>) {}

    fn finish(&mut self, _ready: &mut Vec<CallRecord<'a>>) {}

    fn skipped(&self) -> u64 {
        self.file.skipped()
    }
}

/// Asterisk CDR rows (NDJSON, one leg per line) fed to a [`CdrMerger`] in file order. A row
/// happens at its end (Asterisk writes a CDR when Party A hangs up); merged calls come out when
/// the merger's clock — the latest leg end, or the replay's clock — passes their due time.
pub struct CdrCalls<'a> {
    path: PathBuf,
    lines: Lines<'a>,
    merger: CdrMerger,
    next: Option<CdrRow>,
}

impl<'a> CdrCalls<'a> {
    /// Reads rows from bytes already loaded from `path`; Avro container files are refused.
    pub fn new(path: &Path, data: &'a [u8], options: AsteriskOptions) -> Result<Self, Malformed> {
        refuse_container(path, data, Some(InputFormat::Asterisk.as_str()))?;
        Ok(CdrCalls {
            path: path.to_owned(),
            lines: Lines::new(data),
            merger: CdrMerger::new(options),
            next: None,
        })
    }
}

impl<'a> CallSource<'a> for CdrCalls<'_> {
    fn next_time(&mut self, malformed: &mut Vec<Malformed>) -> Option<Timestamp> {
        while self.next.is_none() {
            let (line, text) = self.lines.next()?;
            match asterisk::decode_cdr(text, self.merger.options()) {
                Ok(row) => self.next = Some(row),
                Err(error) => malformed.push(Malformed {
                    file: self.path.clone(),
                    line,
                    error: error.to_string(),
                }),
            }
        }
        self.next.as_ref().map(CdrRow::ended_at)
    }

    // Merged calls are valid by construction (ids and phone are non-empty), so they are not
    // validated again.
    fn take(&mut self, ready: &mut Vec<CallRecord<'a>>) {
        if let Some(row) = self.next.take() {
            ready.extend(self.merger.push(row));
        }
    }

    fn reach(&mut self, clock: Timestamp, ready: &mut Vec<CallRecord<'a>>) {
        ready.extend(self.merger.flush_before(clock));
    }

    fn finish(&mut self, ready: &mut Vec<CallRecord<'a>>) {
        ready.extend(self.merger.flush_all());
    }

    fn skipped(&self) -> u64 {
        self.merger.stats().internal_calls
    }

    fn merger_stats(&self) -> Option<MergerStats> {
        Some(self.merger.stats())
    }
}
