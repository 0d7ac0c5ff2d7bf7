//! dozvon calls (SPEC §1.1) rewritten as the Asterisk CDR rows (legs) that merge back onto them.
#![allow(dead_code)] // each test binary uses a different part

use chrono::{DateTime, FixedOffset, TimeDelta};
use serde_json::{Map, Value, json};

/// The PBX clock: CDR times are its local wall-clock times (`[formats.asterisk] timezone`).
const PBX_ZONE: chrono_tz::Tz = chrono_tz::Europe::Moscow;

/// `dozvon gen` arguments of the generated dataset the Asterisk tests write as CDR rows: queue
/// calls, unanswered and failed calls, calls without a lead id, records out of order and some
/// twice (the generator's defaults).
pub const GENERATED: [&str; 8] = [
    "--seed",
    "11",
    "--days",
    "5",
    "--managers",
    "5",
    "--leads-per-day",
    "25",
];

/// How one call is spread over CDR rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One row: the manager's phone dials the client; a client's call rings one phone.
    OneRow,
    /// Several legs: an outbound call whose first trunk is congested and the second carries
    /// it; an inbound call through a queue (hold music answered by the PBX, two agents rung).
    Legs,
    /// An answered outbound call with an attended transfer: the manager talks, consults a
    /// colleague (a leg between two extensions) and joins the client with them (a shorter
    /// conversation that ends later). Other calls fall back to [`Shape::Legs`].
    Transfer,
}

impl Shape {
    /// The shapes in rotation by position, so that a file mixes them all (a file of one call
    /// still has several legs).
    pub fn nth(index: usize) -> Shape {
        [Shape::Transfer, Shape::OneRow, Shape::Legs][index % 3]
    }
}

/// A CDR row and when Asterisk writes it: all CDRs of a Party A channel are dispatched when
/// that channel hangs up, i.e. at the latest end among the legs of its `uniqueid`.
#[derive(Clone, Debug)]
pub struct Cdr {
    pub row: Value,
    pub written: DateTime<FixedOffset>,
}

/// What a dozvon call says, read from its JSON.
struct Call<'a> {
    id: &'a str,
    phone: &'a str,
    manager: Option<&'a str>,
    inbound: bool,
    disposition: &'a str,
    start: DateTime<FixedOffset>,
    talk: i64,
    userfield: String,
    recording: &'a str,
}

impl<'a> Call<'a> {
    fn read(call: &'a Value) -> Self {
        let text = |key: &str| call.get(key).and_then(Value::as_str);
        let started = text("started_at").expect("a call has started_at");
        Call {
            id: text("call_id").expect("a call has call_id"),
            phone: text("phone").expect("a call has a phone"),
            manager: text("manager_id"),
            inbound: text("direction") == Some("inbound"),
            disposition: text("disposition").expect("a call has a disposition"),
            start: DateTime::parse_from_rfc3339(started).expect("RFC 3339 started_at"),
            talk: call
                .get("talk_seconds")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            userfield: text("lead_id").map_or_else(String::new, |lead| format!("lead:{lead}")),
            recording: text("recording_url").unwrap_or_default(),
        }
    }

    fn answered(&self) -> bool {
        self.disposition == "answered"
    }

    /// Seconds the phone rang before the answer or the give-up.
    fn ring(&self) -> i64 {
        match self.disposition {
            "answered" => 8,
            "busy" => 4,
            "failed" => 0,
            _ => 30,
        }
    }

    /// The CDR disposition of the leg that decided the call.
    fn cdr_disposition(&self) -> &'static str {
        match self.disposition {
            "answered" => "ANSWERED",
            "busy" => "BUSY",
            "failed" => "FAILED",
            _ => "NO ANSWER",
        }
    }

    /// The manager's extension: three digits derived from the id (at most 4 digits = internal).
    fn extension(&self) -> String {
        let sum: u32 = self.manager.unwrap_or("").bytes().map(u32::from).sum();
        (100 + sum % 800).to_string()
    }

    fn colleague(&self) -> String {
        (self.extension().parse::<u32>().unwrap_or(100) + 1).to_string()
    }

    fn colleague_account(&self) -> String {
        format!("colleague-of-{}", self.manager.unwrap_or("nobody"))
    }
}

/// One leg with the columns every row has; the shape fills in the rest with `set`.
struct Leg {
    map: Map<String, Value>,
    /// When the leg ended.
    end: DateTime<FixedOffset>,
}

impl Leg {
    fn new(call: &Call<'_>, uniqueid: String, sequence: u32, span: Span) -> Leg {
        let mut map = Map::new();
        let local = |t: DateTime<FixedOffset>| {
            t.with_timezone(&PBX_ZONE)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        map.insert("uniqueid".into(), json!(uniqueid));
        map.insert("linkedid".into(), json!(call.id));
        map.insert("sequence".into(), json!(sequence.to_string()));
        map.insert("calldate".into(), json!(local(span.start)));
        let answer = span.answer.map_or_else(String::new, local);
        map.insert("answer".into(), json!(answer));
        map.insert("end".into(), json!(local(span.end)));
        let duration = (span.end - span.start).num_seconds();
        map.insert("duration".into(), json!(duration.to_string()));
        let billsec = span
            .answer
            .map_or(0, |answer| (span.end - answer).num_seconds());
        map.insert("billsec".into(), json!(billsec.to_string()));
        map.insert("amaflags".into(), json!("DOCUMENTATION"));
        for empty in ["accountcode", "peeraccount", "userfield", "recordingfile"] {
            map.insert(empty.into(), json!(""));
        }
        Leg { map, end: span.end }
    }

    fn set(mut self, pairs: &[(&str, &str)]) -> Leg {
        for (key, value) in pairs {
            self.map.insert((*key).to_owned(), json!(value));
        }
        self
    }
}

/// When a leg started, was answered and ended.
#[derive(Clone, Copy)]
struct Span {
    start: DateTime<FixedOffset>,
    answer: Option<DateTime<FixedOffset>>,
    end: DateTime<FixedOffset>,
}

impl Span {
    /// A leg from `start` that rang `ring` seconds and then talked `talk` (if `answered`).
    fn rang(start: DateTime<FixedOffset>, ring: i64, answered: bool, talk: i64) -> Span {
        let rung = start + TimeDelta::seconds(ring);
        match answered {
            true => Span {
                start,
                answer: Some(rung),
                end: rung + TimeDelta::seconds(talk),
            },
            false => Span {
                start,
                answer: None,
                end: rung,
            },
        }
    }
}

/// The CDR rows of `call` laid out as `shape`, each with the time Asterisk writes it.
pub fn rows(call: &Value, shape: Shape) -> Vec<Cdr> {
    let call = Call::read(call);
    assert!(
        !(call.inbound && call.answered() && call.manager.is_none()),
        "{}: an answered inbound call is answered by someone's phone: it needs a manager_id",
        call.id
    );
    let legs = match (call.inbound, shape) {
        (false, Shape::OneRow) => vec![dialed_once(&call, 1, call.start)],
        (false, Shape::Transfer) if call.answered() && call.manager.is_some() => transferred(&call),
        (false, _) => failover(&call),
        (true, Shape::OneRow) => vec![rung_directly(&call)],
        (true, _) => queued(&call),
    };
    let hangup = |uniqueid: &Value| {
        legs.iter()
            .filter(|leg| &leg.map["uniqueid"] == uniqueid)
            .map(|leg| leg.end)
            .max()
    };
    let written: Vec<_> = legs
        .iter()
        .map(|leg| hangup(&leg.map["uniqueid"]))
        .collect();
    legs.into_iter()
        .zip(written)
        .map(|(leg, hangup)| Cdr {
            written: hangup.unwrap_or(leg.end),
            row: Value::Object(leg.map),
        })
        .collect()
}

/// The manager's phone dials the client through a trunk (Party A: the manager); `trunk` tells
/// whether a trunk channel (Party B) came up at all.
fn dialed(call: &Call<'_>, sequence: u32, span: Span, disposition: &str, trunk: bool) -> Leg {
    let (ext, phone) = (call.extension(), call.phone);
    let channel = format!("PJSIP/{ext}-00000001");
    // A call placed without a manager (a dialer) has no extension to credit.
    let (src, channel) = match call.manager {
        Some(_) => (ext.as_str(), channel.as_str()),
        None => ("", ""),
    };
    let dstchannel = match trunk {
        true => format!("PJSIP/trunk-mango-0000{:04x}", sequence + 1),
        false => String::new(),
    };
    let lastdata = format!("PJSIP/{phone}@trunk-mango,60,tT");
    let recording = match disposition {
        "ANSWERED" => call.recording,
        _ => "",
    };
    Leg::new(call, call.id.to_owned(), sequence, span).set(&[
        ("src", src),
        ("dst", phone),
        (
            "clid",
            &format!("\"{}\" <{ext}>", call.manager.unwrap_or("")),
        ),
        ("dcontext", "from-internal"),
        ("channel", channel),
        ("dstchannel", &dstchannel),
        ("lastapp", "Dial"),
        ("lastdata", &lastdata),
        ("disposition", disposition),
        ("accountcode", call.manager.unwrap_or("")),
        ("userfield", &call.userfield),
        ("recordingfile", recording),
    ])
}

/// The call as one dialled leg from `start`.
fn dialed_once(call: &Call<'_>, sequence: u32, start: DateTime<FixedOffset>) -> Leg {
    let span = Span::rang(start, call.ring(), call.answered(), call.talk);
    let trunk = call.disposition != "failed";
    dialed(call, sequence, span, call.cdr_disposition(), trunk)
}

/// The first trunk is congested; one second later the second trunk carries the call.
fn failover(call: &Call<'_>) -> Vec<Leg> {
    let congested = dialed(
        call,
        1,
        Span::rang(call.start, 0, false, 0),
        "CONGESTION",
        false,
    );
    let carried = dialed_once(call, 2, call.start + TimeDelta::seconds(1));
    vec![congested, carried]
}

/// The manager talks, consults a colleague for up to 20 s at the end of the talk, and joins the
/// client with the colleague, who talks half as long as the manager did.
fn transferred(call: &Call<'_>) -> Vec<Leg> {
    let root = dialed_once(call, 1, call.start);
    let hangup = root.end;
    let (ext, colleague) = (call.extension(), call.colleague());
    let consult_start = (hangup - TimeDelta::seconds(call.talk.min(20))).max(call.start);
    let consult = Span {
        start: consult_start,
        answer: Some(consult_start),
        end: hangup,
    };
    let consultation = Leg::new(call, format!("{}.2", call.id), 2, consult).set(&[
        ("src", &ext),
        ("dst", &colleague),
        ("dcontext", "from-internal"),
        ("channel", &format!("PJSIP/{ext}-00000003")),
        ("dstchannel", &format!("PJSIP/{colleague}-00000004")),
        ("lastapp", "Dial"),
        ("disposition", "ANSWERED"),
        ("accountcode", call.manager.unwrap_or("")),
        ("peeraccount", &call.colleague_account()),
    ]);
    let joined_span = Span {
        start: hangup,
        answer: Some(hangup),
        end: hangup + TimeDelta::seconds(call.talk / 2),
    };
    let joined = Leg::new(call, format!("{}.3", call.id), 3, joined_span).set(&[
        ("src", call.phone),
        ("dst", &colleague),
        ("dcontext", "from-internal"),
        ("channel", "PJSIP/trunk-mango-00000002"),
        ("dstchannel", &format!("PJSIP/{colleague}-00000004")),
        ("lastapp", "Dial"),
        ("disposition", "ANSWERED"),
        ("peeraccount", &call.colleague_account()),
    ]);
    vec![root, consultation, joined]
}

/// A client's call to the manager's direct number (Party A: the trunk channel).
fn rung_directly(call: &Call<'_>) -> Leg {
    let answered = call.answered();
    let span = Span::rang(call.start, call.ring(), answered, call.talk);
    let ext = call.extension();
    let dstchannel = match (call.disposition, call.manager) {
        ("failed", _) | (_, None) => String::new(),
        _ => format!("PJSIP/{ext}-00000011"),
    };
    Leg::new(call, call.id.to_owned(), 1, span).set(&[
        ("src", call.phone),
        ("dst", &ext),
        ("dcontext", "from-trunk"),
        ("channel", "PJSIP/trunk-mango-00000010"),
        ("dstchannel", &dstchannel),
        ("lastapp", "Dial"),
        ("disposition", call.cdr_disposition()),
        ("peeraccount", call.manager.unwrap_or("")),
        ("userfield", &call.userfield),
        ("recordingfile", if answered { call.recording } else { "" }),
    ])
}

/// A client's call through queue 500: the queue answers with hold music (no Party B), a
/// colleague's phone rings unanswered, the manager's phone rings and answers (or not).
fn queued(call: &Call<'_>) -> Vec<Leg> {
    let trunk = "PJSIP/trunk-mango-00000010";
    let base = |leg: Leg| {
        leg.set(&[
            ("src", call.phone),
            ("dst", "500"),
            ("dcontext", "ext-queues"),
            ("channel", trunk),
            ("lastapp", "Queue"),
            ("lastdata", "500,t"),
            ("userfield", &call.userfield),
        ])
    };
    if call.disposition == "failed" {
        let span = Span::rang(call.start, 0, false, 0);
        let leg = Leg::new(call, call.id.to_owned(), 1, span);
        return vec![base(leg).set(&[("disposition", "FAILED")])];
    }
    let answered = call.answered();
    let hold = Span::rang(call.start, 0, true, call.ring());
    let waiting = base(Leg::new(call, call.id.to_owned(), 1, hold))
        .set(&[("dstchannel", ""), ("disposition", "ANSWERED")]);
    let colleague = call.colleague();
    let missed = Span::rang(call.start, call.ring(), false, 0);
    let other = base(Leg::new(call, call.id.to_owned(), 2, missed)).set(&[
        (
            "dstchannel",
            &format!("Local/{colleague}@from-queue-00000012;1"),
        ),
        ("disposition", "NO ANSWER"),
        ("peeraccount", &call.colleague_account()),
    ]);
    let mut legs = vec![waiting, other];
    if let Some(manager) = call.manager {
        let span = Span::rang(call.start, call.ring(), answered, call.talk);
        let ext = call.extension();
        let recording = if answered { call.recording } else { "" };
        legs.push(base(Leg::new(call, call.id.to_owned(), 3, span)).set(&[
            ("dstchannel", &format!("Local/{ext}@from-queue-00000013;1")),
            ("disposition", call.cdr_disposition()),
            ("peeraccount", manager),
            ("recordingfile", recording),
        ]));
    }
    legs
}

/// The CDRs of `calls`, shapes in rotation.
pub fn cdrs(calls: &[Value]) -> Vec<Cdr> {
    calls
        .iter()
        .enumerate()
        .flat_map(|(index, call)| rows(call, Shape::nth(index)))
        .collect()
}

/// The rows in the order Asterisk writes them: by hangup (stable for rows written together).
pub fn by_hangup(mut cdrs: Vec<Cdr>) -> Vec<Value> {
    cdrs.sort_by_key(|cdr| cdr.written);
    cdrs.into_iter().map(|cdr| cdr.row).collect()
}

/// An extension-to-extension call of 40 s from `start` (not judged: no client number).
pub fn internal_call(id: &str, start: DateTime<FixedOffset>) -> Cdr {
    let local = start.with_timezone(&PBX_ZONE).format("%Y-%m-%d %H:%M:%S");
    let row = json!({
        "uniqueid": id, "linkedid": id, "calldate": local.to_string(), "src": "101", "dst": "102",
        "channel": "PJSIP/101-00000020", "dstchannel": "PJSIP/102-00000021", "lastapp": "Dial",
        "duration": "40", "billsec": "35", "disposition": "ANSWERED", "accountcode": "ivanov",
    });
    Cdr {
        row,
        written: start + TimeDelta::seconds(40),
    }
}
