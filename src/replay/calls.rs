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

/// Asterisk CDR rows (NDJSON, one leg per line) fed to a [`CdrMerger`] in file order.
/// Asterisk writes the CDRs of a channel together when it hangs up, so a run of consecutive
/// rows of one `linkedid` is taken as one dispatch, which happens at the latest end among them;
/// merged calls come out when the merger's clock — the latest leg end, or the replay's clock —
/// passes their due time.
pub struct CdrCalls<'a> {
    path: PathBuf,
    lines: Lines<'a>,
    merger: CdrMerger,
    /// The next dispatch, decoded.
    batch: Vec<CdrRow>,
    /// The first row after it, read ahead.
    after: Option<CdrRow>,
}

impl<'a> CdrCalls<'a> {
    /// Reads rows from bytes already loaded from `path`; Avro container files are refused.
    pub fn new(path: &Path, data: &'a [u8], options: AsteriskOptions) -> Result<Self, Malformed> {
        refuse_container(path, data, Some(InputFormat::Asterisk.as_str()))?;
        Ok(CdrCalls {
            path: path.to_owned(),
            lines: Lines::new(data),
            merger: CdrMerger::new(options),
            batch: Vec::new(),
            after: None,
        })
    }

    /// The next well-formed row; malformed ones are reported with their line.
    fn next_row(&mut self, malformed: &mut Vec<Malformed>) -> Option<CdrRow> {
        loop {
            let (line, text) = self.lines.next()?;
            match asterisk::decode_cdr(text, self.merger.options()) {
                Ok(row) => return Some(row),
                Err(error) => malformed.push(Malformed {
                    file: self.path.clone(),
                    line,
                    error: error.to_string(),
                }),
            }
        }
    }
}

impl<'a> CallSource<'a> for CdrCalls<'_> {
    fn next_time(&mut self, malformed: &mut Vec<Malformed>) -> Option<Timestamp> {
        if self.batch.is_empty() {
            let first = match self.after.take() {
                Some(row) => row,
                None => self.next_row(malformed)?,
            };
            self.batch.push(first);
            loop {
                match self.next_row(malformed) {
                    Some(row) if row.linkedid == self.batch[0].linkedid => self.batch.push(row),
                    other => {
                        self.after = other;
                        break;
                    }
                }
            }
        }
        self.batch.iter().map(CdrRow::ended_at).max()
    }

    // Merged calls are valid by construction (ids and phone are non-empty), so they are not
    // validated again.
    fn take(&mut self, ready: &mut Vec<CallRecord<'a>>) {
        let from = ready.len();
        for row in self.batch.drain(..) {
            ready.extend(self.merger.push(row));
        }
        ready[from..].sort_by(|a, b| (a.started_at, &a.call_id).cmp(&(b.started_at, &b.call_id)));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A leg of call `id` (Party A: extension 101) from `start` to `end`, local Moscow time.
    fn leg(id: &str, sequence: u32, start: &str, end: &str, disposition: &str) -> String {
        let billsec = if disposition == "ANSWERED" { 60 } else { 0 };
        format!(
            r#"{{"uniqueid":"{id}","linkedid":"{id}","sequence":{sequence},"calldate":"{start}",
            "end":"{end}","src":"101","dst":"79161234567","channel":"PJSIP/101-00000001",
            "dstchannel":"PJSIP/trunk-{sequence}","disposition":"{disposition}",
            "billsec":{billsec},"userfield":"lead:L1"}}"#
        )
        .replace('\n', "")
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).expect("RFC 3339")
    }

    #[test]
    fn consecutive_rows_of_one_call_are_one_dispatch_at_their_latest_end() {
        // A failover: the first trunk congested at 10:00, the second carried the call until
        // 10:10; Asterisk writes both rows at 10:10. Then another call, and a malformed row.
        let data = [
            leg(
                "a",
                1,
                "2026-03-02 10:00:00",
                "2026-03-02 10:00:00",
                "CONGESTION",
            ),
            "{\"uniqueid\": \"broken\"}".to_owned(),
            leg(
                "a",
                2,
                "2026-03-02 10:00:01",
                "2026-03-02 10:10:00",
                "ANSWERED",
            ),
            leg(
                "b",
                1,
                "2026-03-02 10:20:00",
                "2026-03-02 10:21:00",
                "ANSWERED",
            ),
        ]
        .join("\n");
        let path = Path::new("cdr.ndjson");
        let mut source =
            CdrCalls::new(path, data.as_bytes(), AsteriskOptions::default()).expect("NDJSON");
        let (mut malformed, mut ready) = (Vec::new(), Vec::new());
        assert_eq!(
            source.next_time(&mut malformed),
            Some(at("2026-03-02T07:10:00Z")),
            "the dispatch happens when its last leg ends, not at the first leg's end"
        );
        // A lead event at 10:05 comes first: the call is not complete (not even read) yet.
        source.reach(at("2026-03-02T07:05:00Z"), &mut ready);
        assert!(ready.is_empty());
        source.take(&mut ready);
        assert!(ready.is_empty(), "due 30 s after its end");
        assert_eq!(malformed.len(), 1);
        assert_eq!(malformed[0].line, 2);
        assert_eq!(
            source.next_time(&mut malformed),
            Some(at("2026-03-02T07:21:00Z"))
        );
        source.reach(at("2026-03-02T07:10:30Z"), &mut ready);
        assert_eq!(ready.len(), 1);
        let call = &ready[0];
        assert_eq!(
            (call.call_id.as_ref(), call.talk_seconds, call.started_at),
            ("a", 60, at("2026-03-02T07:00:00Z"))
        );
        source.take(&mut ready);
        source.finish(&mut ready);
        assert_eq!(ready.len(), 2);
        assert_eq!(source.next_time(&mut malformed), None);
        let stats = source.merger_stats().expect("an Asterisk source");
        assert_eq!((stats.legs, stats.calls, stats.late_legs), (3, 2, 0));
    }
}
