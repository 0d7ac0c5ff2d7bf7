//! Compact buffered events (a few dozen bytes each) and their materialisation into model records.

use std::borrow::Cow;

use crate::model::{CallRecord, Direction, Disposition, LeadEvent, Timestamp};

use super::GeneratedEvent;
use super::knobs::{
    CHANNELS, EMAIL_DOMAINS, REASON_DUPLICATE, REASON_NO_ANSWER, REASON_NOT_INTERESTED,
    REASON_WRONG_NUMBER, RECORDING_URL_BASE, STAGE_COLD_BASE, STAGE_CONVERTED, STAGE_IN_PROCESS,
    STAGE_JUNK, STAGE_NEW, STAGE_PROCESSED,
};
use super::people::{ManagerProfile, PhoneBook, crm_phone};

/// Who placed or took a call (index into the manager or QC list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Staff {
    Nobody,
    Manager(u32),
    Qc(u32),
}

/// CRM stages the generator uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    New,
    InProcess,
    Processed,
    Converted,
    Junk,
    ColdBase,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::New => STAGE_NEW,
            Stage::InProcess => STAGE_IN_PROCESS,
            Stage::Processed => STAGE_PROCESSED,
            Stage::Converted => STAGE_CONVERTED,
            Stage::Junk => STAGE_JUNK,
            Stage::ColdBase => STAGE_COLD_BASE,
        }
    }
}

/// Rejection reasons the generator uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    NoAnswer,
    WrongNumber,
    NotInterested,
    Duplicate,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::NoAnswer => REASON_NO_ANSWER,
            Reason::WrongNumber => REASON_WRONG_NUMBER,
            Reason::NotInterested => REASON_NOT_INTERESTED,
            Reason::Duplicate => REASON_DUPLICATE,
        }
    }
}

/// Contact data carried by the creation event.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Contact {
    pub channel: u8,
    /// (name, domain) indices of the e-mail, if the form had one.
    pub email: Option<(u8, u8)>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Body {
    Call {
        number: u64,
        staff: Staff,
        direction: Direction,
        disposition: Disposition,
        talk: u32,
        /// Bound to the lead (`lead_id` set, CRM phone format); else PBX format, no `lead_id`.
        bound: bool,
        /// Unbound calls: `8…` (true) or `7…` prefix.
        eight: bool,
    },
    Lead {
        number: u64,
        stage: Stage,
        manager: u32,
        reason: Option<Reason>,
        contact: Option<Contact>,
    },
}

/// One generated record before its strings are built.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Compact {
    /// Event time, UTC milliseconds.
    pub time: i64,
    /// Lead number (`{prefix}L{lead}`).
    pub lead: u64,
    /// The lead's creation time (every lead event carries it as `created_at`).
    pub created: i64,
    pub body: Body,
}

/// What turns numbers into strings.
pub(crate) struct Names<'a> {
    pub prefix: &'a str,
    pub tenant: Option<&'a str>,
    pub managers: &'a [ManagerProfile],
    pub qc: &'a [String],
    pub phones: &'a PhoneBook,
}

const EMAIL_NAMES: [&str; 10] = [
    "ivanov",
    "petrova",
    "smirnov",
    "kuznetsova",
    "popov",
    "volkova",
    "sokolov",
    "lebedeva",
    "kozlov",
    "novikova",
];

/// Number of e-mail name variants (for the simulation's choice).
pub(crate) const EMAIL_NAME_COUNT: u64 = EMAIL_NAMES.len() as u64;

impl Names<'_> {
    fn staff(&self, staff: Staff) -> Option<Cow<'static, str>> {
        let name = match staff {
            Staff::Nobody => None,
            Staff::Manager(i) => self.managers.get(i as usize).map(|m| m.id.as_str()),
            Staff::Qc(i) => self.qc.get(i as usize).map(String::as_str),
        };
        name.map(|n| Cow::Owned(n.to_owned()))
    }

    fn tenant(&self) -> Option<Cow<'static, str>> {
        self.tenant.map(|t| Cow::Owned(t.to_owned()))
    }
}

fn pick<'s>(list: &[&'s str], index: u8) -> &'s str {
    list.get(usize::from(index)).copied().unwrap_or_default()
}

impl Compact {
    /// The model record this stands for.
    pub(crate) fn materialize(&self, names: &Names<'_>) -> GeneratedEvent {
        let time = Timestamp::saturating_from_millis(self.time);
        let lead_id = format!("{}L{}", names.prefix, self.lead);
        let digits = names.phones.digits(self.lead);
        match self.body {
            Body::Call {
                number,
                staff,
                direction,
                disposition,
                talk,
                bound,
                eight,
            } => {
                let call_id = format!("{}C{}", names.prefix, number);
                let recording_url = (disposition == Disposition::Answered)
                    .then(|| Cow::Owned(format!("{RECORDING_URL_BASE}{call_id}.mp3")));
                let phone = if bound {
                    crm_phone(digits)
                } else {
                    format!("{}9{digits:09}", if eight { '8' } else { '7' })
                };
                GeneratedEvent::Call(CallRecord {
                    call_id: Cow::Owned(call_id),
                    tenant: names.tenant(),
                    lead_id: bound.then_some(Cow::Owned(lead_id)),
                    phone: Cow::Owned(phone),
                    manager_id: names.staff(staff),
                    direction,
                    started_at: time,
                    talk_seconds: talk,
                    disposition,
                    recording_url,
                })
            }
            Body::Lead {
                number,
                stage,
                manager,
                reason,
                contact,
            } => {
                let channels: [&'static str; 4] = CHANNELS.map(|(name, _, _)| name);
                GeneratedEvent::Lead(LeadEvent {
                    event_id: Cow::Owned(format!("{}E{}", names.prefix, number)),
                    tenant: names.tenant(),
                    lead_id: Cow::Owned(lead_id),
                    occurred_at: time,
                    stage: Cow::Borrowed(stage.as_str()),
                    manager_id: names.staff(Staff::Manager(manager)),
                    created_at: Some(Timestamp::saturating_from_millis(self.created)),
                    channel: contact.map(|c| Cow::Borrowed(pick(&channels, c.channel))),
                    phone: contact.map(|_| Cow::Owned(crm_phone(digits))),
                    email: contact.and_then(|c| c.email).map(|(name, domain)| {
                        let name = pick(&EMAIL_NAMES, name);
                        let domain = pick(&EMAIL_DOMAINS, domain);
                        Cow::Owned(format!("{name}.{}@{domain}", self.lead))
                    }),
                    rejection_reason: reason.map(|r| Cow::Borrowed(r.as_str())),
                })
            }
        }
    }
}
