//! Asterisk CDR: options, one CDR row (a leg) decoded from JSON, and a single-row call decoder.
//
// Columns per the Asterisk CDR specification (github.com/asterisk/documentation,
// `docs/Configuration/Reporting/Call-Detail-Records-CDR/CDR-Specification.md`): accountcode, src,
// dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer, end, duration,
// billsec, disposition, amaflags, userfield, uniqueid, linkedid, peeraccount, sequence; the
// MySQL/FreePBX table names `start` `calldate` and adds `recordingfile`; the AMI `Cdr` event
// spells them `StartTime`, `BillableSeconds`, …, which are accepted as aliases.

use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::FormatError;
use super::fields::{Fields, parse_object};
use super::serde_util::{duration, zone};
use crate::model::{CallRecord, Timestamp};

pub use super::asterisk_legs::merge_legs;

/// Where the manager id of a call comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManagerSource {
    /// The agent's account code: `accountcode` when the agent is Party A (outbound),
    /// `peeraccount` when Party B (inbound); falls back to the extension.
    #[default]
    Account,
    /// The agent's extension: `src` or the endpoint of `channel` for Party A, the endpoint of
    /// `dstchannel` (`PJSIP/101-0000002a` → `101`) for Party B; falls back to the account code.
    Extension,
}

/// How one Asterisk topic is read; every key optional.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AsteriskOptions {
    /// Tenant stamped on every call of the topic (one PBX per topic); `None` = `"default"`.
    pub tenant: Option<String>,
    /// Zone of the PBX clock: CDR times are local wall-clock times without an offset.
    #[serde(with = "zone")]
    pub timezone: Tz,
    /// Numbers with at most this many digits are internal extensions; longer ones are clients.
    pub internal_max_digits: u8,
    /// Where the manager id comes from.
    pub manager: ManagerSource,
    /// Prefix of the `userfield` part that carries the lead id: `lead:123`, set in the dialplan
    /// with `Set(CDR(userfield)=lead:123)`; case-insensitive; `""` takes the whole first part.
    pub lead_id_prefix: String,
    /// Prepended to `recordingfile` when it is a bare file name, e.g. `https://pbx/records/`.
    pub recording_url_prefix: String,
    /// A call whose root leg (`uniqueid == linkedid`) has arrived is emitted once event time
    /// passes its last leg's end by this much (legs of one hangup can arrive slightly apart).
    #[serde(with = "duration")]
    pub settle: Duration,
    /// A call without a root leg is emitted once event time passes its last leg's end by this much.
    #[serde(with = "duration")]
    pub idle_timeout: Duration,
}

impl Default for AsteriskOptions {
    fn default() -> Self {
        AsteriskOptions {
            tenant: None,
            timezone: chrono_tz::Europe::Moscow,
            internal_max_digits: 4,
            manager: ManagerSource::Account,
            lead_id_prefix: "lead:".to_owned(),
            recording_url_prefix: String::new(),
            settle: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// The `disposition` column: the final state of the leg from Party A's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CdrDisposition {
    Answered,
    NoAnswer,
    Busy,
    Failed,
    Congestion,
}

impl CdrDisposition {
    /// `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED`, `CONGESTION` (case-insensitive). The numeric
    /// forms of `CDR(disposition,u)` differ between Asterisk versions, so they are refused.
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        let upper = text.trim().to_ascii_uppercase();
        match upper.as_str() {
            "ANSWERED" => Ok(CdrDisposition::Answered),
            "NO ANSWER" | "NOANSWER" | "NO_ANSWER" => Ok(CdrDisposition::NoAnswer),
            "BUSY" => Ok(CdrDisposition::Busy),
            "FAILED" => Ok(CdrDisposition::Failed),
            "CONGESTION" => Ok(CdrDisposition::Congestion),
            _ => Err(FormatError::unknown("disposition", text)),
        }
    }
}

/// One CDR row: a path of communication between Party A (`channel`) and Party B (`dstchannel`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrRow {
    pub uniqueid: String,
    /// Joins the legs of one call; a schema without it makes each row its own call.
    pub linkedid: String,
    pub sequence: Option<u64>,
    pub start: Timestamp,
    pub answer: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub src: String,
    pub dst: String,
    pub dcontext: String,
    pub channel: String,
    pub dstchannel: String,
    pub lastapp: String,
    pub duration: u32,
    pub billsec: u32,
    pub disposition: CdrDisposition,
    pub accountcode: String,
    pub peeraccount: String,
    pub userfield: String,
    pub recordingfile: String,
}

impl CdrRow {
    /// The leg of the call's oldest channel.
    pub fn is_root(&self) -> bool {
        self.uniqueid == self.linkedid
    }

    /// When the leg ended: `end`, else `start + duration`.
    pub fn ended_at(&self) -> Timestamp {
        let computed = self.start.plus_millis(i64::from(self.duration) * 1000);
        self.end.unwrap_or(computed).max(self.start)
    }

    /// Two people talked: answered *and* there is a Party B. `ANSWERED` without a Party B is
    /// Asterisk answering by itself (IVR, queue hold music, voicemail), not a conversation.
    pub fn talked(&self) -> bool {
        self.disposition == CdrDisposition::Answered && !self.dstchannel.is_empty()
    }
}

/// Decodes one CDR row (a JSON object with the standard columns).
pub fn decode_cdr(bytes: &[u8], options: &AsteriskOptions) -> Result<CdrRow, FormatError> {
    let map = parse_object(bytes)?;
    row_from(Fields(&map), options.timezone)
}

/// Decodes a CDR row that is a whole call by itself (a PBX that writes one row per call, or a
/// relay that merged the legs already). Multi-leg calls need [`super::CdrMerger`].
pub fn decode_call(
    bytes: &[u8],
    options: &AsteriskOptions,
) -> Result<CallRecord<'static>, FormatError> {
    let row = decode_cdr(bytes, options)?;
    merge_legs(std::slice::from_ref(&row), options)
}

fn text(fields: Fields<'_>, names: &[&'static str]) -> Result<String, FormatError> {
    Ok(fields.text(names)?.unwrap_or_default())
}

fn row_from(fields: Fields<'_>, zone: Tz) -> Result<CdrRow, FormatError> {
    let uniqueid = fields.required_text(&["uniqueid", "UniqueID"])?;
    let linkedid = fields
        .text(&["linkedid", "LinkedID"])?
        .unwrap_or_else(|| uniqueid.clone());
    let start = fields
        .local_time(&["start", "calldate", "StartTime"], zone)?
        .ok_or_else(|| FormatError::missing("start"))?;
    let answer = fields.local_time(&["answer", "AnswerTime"], zone)?;
    let end = fields.local_time(&["end", "EndTime"], zone)?;
    let disposition =
        CdrDisposition::parse(&fields.required_text(&["disposition", "Disposition"])?)?;
    let span = |from: Option<Timestamp>| match (from, end) {
        (Some(from), Some(end)) if end >= from => ((end.millis() - from.millis()) / 1000) as u32,
        _ => 0,
    };
    let billsec = match fields.seconds(&["billsec", "BillableSeconds"])? {
        Some(seconds) => seconds,
        None if disposition == CdrDisposition::Answered => span(answer),
        None => 0,
    };
    let duration = fields
        .seconds(&["duration", "Duration"])?
        .unwrap_or_else(|| span(Some(start)).max(billsec));
    let sequence =
        match fields.text(&["sequence", "Sequence"])? {
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                FormatError::bad("sequence", &text, "expected a non-negative integer")
            })?),
            None => None,
        };
    Ok(CdrRow {
        uniqueid,
        linkedid,
        sequence,
        start,
        answer,
        end,
        src: text(fields, &["src", "Source"])?,
        dst: text(fields, &["dst", "Destination"])?,
        dcontext: text(fields, &["dcontext", "DestinationContext"])?,
        channel: text(fields, &["channel", "Channel"])?,
        dstchannel: text(fields, &["dstchannel", "DestinationChannel"])?,
        lastapp: text(fields, &["lastapp", "LastApplication"])?,
        duration,
        billsec,
        disposition,
        accountcode: text(fields, &["accountcode", "AccountCode"])?,
        peeraccount: text(fields, &["peeraccount", "PeerAccount"])?,
        userfield: text(fields, &["userfield", "UserField"])?,
        recordingfile: text(fields, &["recordingfile", "RecordingFile"])?,
    })
}
