//! The leg-merge rule: the CDR rows of one call (same `linkedid`) as one `CallRecord`.
//
// Rule (docs/formats.md explains the reasons):
// - A *client leg* has an external number (more than `internal_max_digits` digits) as `src` or
//   `dst`; legs between two extensions (a consultation before a transfer) are not about the client.
// - Direction, phone and the agent's side come from the earliest client leg: client in `src` ⇒
//   inbound, agent is Party B; client in `dst` ⇒ outbound, agent is Party A; both external (an
//   outbound caller id set to the company number, or a forward) ⇒ outbound iff Party A's channel
//   is an extension's endpoint.
// - talk_seconds = the longest `billsec` among client legs where two people talked (ANSWERED with
//   a Party B); legs are not summed (Local-channel and transfer legs repeat the same minutes).
// - disposition = answered if any client leg talked; else inbound ⇒ no_answer (a missed call),
//   failed only if every leg failed; outbound ⇒ busy > no_answer > failed over the client legs.
// - manager = the agent of the longest talking leg; unanswered outbound ⇒ the dialing agent;
//   unanswered inbound ⇒ none (several phones rang, nobody is the call's manager).
// - started_at = the earliest `start`; call_id = `linkedid`; lead id from `userfield`.

use std::borrow::Cow;

use super::FormatError;
use super::asterisk::{AsteriskOptions, CdrDisposition, CdrRow, ManagerSource};
use crate::model::{CallRecord, Direction, Disposition};

/// Which party of a leg is the company's agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AgentSide {
    PartyA,
    PartyB,
}

/// What one client leg says about the call.
struct ClientLeg<'a> {
    row: &'a CdrRow,
    direction: Direction,
    phone: &'a str,
    agent: AgentSide,
}

/// Merges the legs of one call; `legs` may come in any order. `NotApplicable` when no leg has
/// an external number (an internal call), `Missing` for an empty slice.
pub fn merge_legs(
    legs: &[CdrRow],
    options: &AsteriskOptions,
) -> Result<CallRecord<'static>, FormatError> {
    let mut sorted: Vec<&CdrRow> = legs.iter().collect();
    sorted.sort_by(|a, b| {
        (a.start, a.sequence, &a.uniqueid).cmp(&(b.start, b.sequence, &b.uniqueid))
    });
    let Some(first) = sorted.first() else {
        return Err(FormatError::missing("uniqueid"));
    };
    let max_digits = usize::from(options.internal_max_digits);
    let client: Vec<ClientLeg<'_>> = sorted
        .iter()
        .filter_map(|row| client_leg(row, max_digits))
        .collect();
    let Some(opening) = client.first() else {
        return Err(FormatError::not_applicable(
            "dst",
            &first.linkedid,
            "no leg has an external number: an internal call",
        ));
    };
    // Longest conversation; the earliest one on ties (`max_by` keeps the last maximum).
    let talk = client
        .iter()
        .filter(|leg| leg.row.talked())
        .rev()
        .max_by_key(|leg| leg.row.billsec);
    let disposition = match talk {
        Some(_) => Disposition::Answered,
        None => unanswered(&client, opening.direction),
    };
    let agent_leg = talk.or((opening.direction == Direction::Outbound).then_some(opening));
    let manager_id = agent_leg.and_then(|leg| manager(leg, options.manager, max_digits));
    let recording = talk
        .map(|leg| leg.row)
        .filter(|row| !row.recordingfile.is_empty())
        .or_else(|| {
            sorted
                .iter()
                .copied()
                .find(|row| !row.recordingfile.is_empty())
        })
        .map(|row| recording_url(&row.recordingfile, &options.recording_url_prefix));
    Ok(CallRecord {
        call_id: Cow::Owned(first.linkedid.clone()),
        tenant: options.tenant.clone().map(Cow::Owned),
        lead_id: lead_id(&sorted, &options.lead_id_prefix).map(Cow::Owned),
        phone: Cow::Owned(opening.phone.to_owned()),
        manager_id: manager_id.map(Cow::Owned),
        direction: opening.direction,
        started_at: first.start,
        talk_seconds: talk.map_or(0, |leg| leg.row.billsec),
        disposition,
        recording_url: recording.map(Cow::Owned),
    })
}

/// More than `max_digits` digits: a client's number, not an extension.
fn is_external(number: &str, max_digits: usize) -> bool {
    number.bytes().filter(u8::is_ascii_digit).count() > max_digits
}

/// The endpoint of a channel name: `PJSIP/101-0000002a` → `101`, `Local/101@queue-…;1` → `101`.
fn endpoint(channel: &str) -> &str {
    let rest = channel.split_once('/').map_or(channel, |(_, rest)| rest);
    let rest = rest.split(['@', ';']).next().unwrap_or(rest);
    match rest.rfind('-') {
        Some(at) if at > 0 => &rest[..at],
        _ => rest,
    }
}

fn is_extension(name: &str, max_digits: usize) -> bool {
    !name.is_empty() && name.len() <= max_digits && name.bytes().all(|b| b.is_ascii_digit())
}

fn client_leg(row: &CdrRow, max_digits: usize) -> Option<ClientLeg<'_>> {
    let inbound = |row| ClientLeg {
        row,
        direction: Direction::Inbound,
        phone: &row.src,
        agent: AgentSide::PartyB,
    };
    let outbound = |row| ClientLeg {
        row,
        direction: Direction::Outbound,
        phone: &row.dst,
        agent: AgentSide::PartyA,
    };
    match (
        is_external(&row.src, max_digits),
        is_external(&row.dst, max_digits),
    ) {
        (true, false) => Some(inbound(row)),
        (false, true) => Some(outbound(row)),
        (true, true) if is_extension(endpoint(&row.channel), max_digits) => Some(outbound(row)),
        (true, true) => Some(inbound(row)),
        (false, false) => None,
    }
}

fn unanswered(client: &[ClientLeg<'_>], direction: Direction) -> Disposition {
    let failed = |row: &CdrRow| {
        matches!(
            row.disposition,
            CdrDisposition::Failed | CdrDisposition::Congestion
        )
    };
    match direction {
        Direction::Inbound if client.iter().all(|leg| failed(leg.row)) => Disposition::Failed,
        Direction::Inbound => Disposition::NoAnswer,
        Direction::Outbound => {
            let rank = |row: &CdrRow| match row.disposition {
                CdrDisposition::Busy => 2,
                // ANSWERED without a Party B: the PBX answered itself, the client did not.
                CdrDisposition::NoAnswer | CdrDisposition::Answered => 1,
                CdrDisposition::Failed | CdrDisposition::Congestion => 0,
            };
            match client.iter().map(|leg| rank(leg.row)).max() {
                Some(2) => Disposition::Busy,
                Some(0) => Disposition::Failed,
                _ => Disposition::NoAnswer,
            }
        }
    }
}

fn manager(leg: &ClientLeg<'_>, source: ManagerSource, max_digits: usize) -> Option<String> {
    let row = leg.row;
    let (account, extension) = match leg.agent {
        AgentSide::PartyA => {
            let extension = if is_external(&row.src, max_digits) || row.src.is_empty() {
                endpoint(&row.channel)
            } else {
                row.src.as_str()
            };
            (row.accountcode.as_str(), extension)
        }
        AgentSide::PartyB => (row.peeraccount.as_str(), endpoint(&row.dstchannel)),
    };
    let (preferred, fallback) = match source {
        ManagerSource::Account => (account, extension),
        ManagerSource::Extension => (extension, account),
    };
    [preferred, fallback]
        .into_iter()
        .map(str::trim)
        .find(|id| !id.is_empty())
        .map(str::to_owned)
}

/// The first `userfield` part (legs in order, parts split on `;` as Asterisk joins Party A's and
/// Party B's) that starts with `prefix`, without it.
fn lead_id(legs: &[&CdrRow], prefix: &str) -> Option<String> {
    legs.iter()
        .flat_map(|row| row.userfield.split(';'))
        .map(str::trim)
        .find_map(|part| {
            let head = part.get(..prefix.len())?;
            let id = part.get(prefix.len()..)?.trim();
            (head.eq_ignore_ascii_case(prefix) && !id.is_empty()).then(|| id.to_owned())
        })
}

fn recording_url(file: &str, prefix: &str) -> String {
    if file.contains("://") {
        file.to_owned()
    } else {
        format!("{prefix}{file}")
    }
}
