//! The leg-merge rule on scenarios of the Asterisk CDR specification: queues, transfers, misses.

use serde_json::{Value, json};

use super::asterisk::merge_legs;
use super::tests_asterisk::{at, inbound, leg, outbound, row};
use super::{AsteriskOptions, CdrRow, FormatError, ManagerSource};
use crate::model::{Direction, Disposition};

fn merged(legs: &[Value]) -> Result<crate::model::CallRecord<'static>, FormatError> {
    merge_legs(
        &legs.iter().map(row).collect::<Vec<_>>(),
        &AsteriskOptions::default(),
    )
}

#[test]
fn a_queue_call_ringing_several_agents_is_credited_to_the_one_who_talked() {
    let legs = [
        leg(inbound("101", "NO ANSWER", 0), json!({"sequence": 11})),
        leg(
            inbound("102", "ANSWERED", 120),
            json!({"sequence": 12, "calldate": "2024-03-04 10:20:01"}),
        ),
        leg(inbound("103", "NO ANSWER", 0), json!({"sequence": 13})),
    ];
    let call = merged(&legs).unwrap();
    assert_eq!(call.direction, Direction::Inbound);
    assert_eq!(call.phone, "79161234567");
    assert_eq!(
        (call.disposition, call.talk_seconds),
        (Disposition::Answered, 120)
    );
    assert_eq!(
        call.manager_id.as_deref(),
        Some("acc-102"),
        "peeraccount of the answering agent"
    );
    assert_eq!(
        call.started_at,
        at("2024-03-04T07:15:00Z"),
        "the earliest leg start"
    );
    let by_extension = AsteriskOptions {
        manager: ManagerSource::Extension,
        ..AsteriskOptions::default()
    };
    let rows: Vec<CdrRow> = legs.iter().map(row).collect();
    assert_eq!(
        merge_legs(&rows, &by_extension)
            .unwrap()
            .manager_id
            .as_deref(),
        Some("102")
    );
}

#[test]
fn a_missed_queue_call_is_no_answer_even_though_the_queue_answered_it() {
    // The Queue app answers the caller to play hold music: ANSWERED without a Party B.
    let waiting = leg(
        inbound("101", "ANSWERED", 45),
        json!({"dstchannel": "", "peeraccount": ""}),
    );
    let legs = [
        waiting,
        inbound("101", "NO ANSWER", 0),
        inbound("102", "BUSY", 0),
    ];
    let call = merged(&legs).unwrap();
    assert_eq!(
        (call.disposition, call.talk_seconds, call.manager_id),
        (Disposition::NoAnswer, 0, None)
    );
    let trunk_down = [inbound("101", "FAILED", 0), inbound("102", "CONGESTION", 0)];
    assert_eq!(
        merged(&trunk_down).unwrap().disposition,
        Disposition::Failed
    );
}

#[test]
fn a_blind_transfer_counts_the_longest_conversation_not_the_sum() {
    let first = inbound("101", "ANSWERED", 20);
    let second = leg(
        inbound("102", "ANSWERED", 300),
        json!({"calldate": "2024-03-04 10:15:30", "sequence": 2, "dst": "102"}),
    );
    let call = merged(&[second, first]).unwrap();
    assert_eq!(
        (call.talk_seconds, call.manager_id.as_deref()),
        (300, Some("acc-102"))
    );
}

#[test]
fn an_attended_transfer_ignores_the_consultation_between_extensions() {
    // 101 talks to the client 50 s, consults 102 for 26 s, then joins the client with 102.
    let consult = leg(
        outbound(),
        json!({"uniqueid": "1709536530.3", "src": "101", "dst": "102", "billsec": 26,
        "calldate": "2024-03-04 10:15:30", "dstchannel": "PJSIP/102-00000003", "sequence": 2, "userfield": ""}),
    );
    let joined = |billsec: u32| {
        leg(
            outbound(),
            json!({"uniqueid": "1709536500.2", "calldate": "2024-03-04 10:16:00",
        "channel": "PJSIP/trunk-mango-00000002", "dstchannel": "PJSIP/102-00000003", "src": "74951234567",
        "dst": "102", "billsec": billsec, "accountcode": "", "peeraccount": "petrov", "sequence": 3, "userfield": ""}),
        )
    };
    let talk = leg(outbound(), json!({"billsec": 50}));
    let call = merged(&[joined(45), consult.clone(), talk.clone()]).unwrap();
    assert_eq!(
        call.direction,
        Direction::Outbound,
        "from the earliest client leg"
    );
    assert_eq!(call.phone, "89161234567");
    assert_eq!(
        (call.talk_seconds, call.manager_id.as_deref()),
        (50, Some("ivanov"))
    );
    let call = merged(&[joined(400), consult, talk]).unwrap();
    assert_eq!(
        (call.talk_seconds, call.manager_id.as_deref()),
        (400, Some("petrov"))
    );
    assert_eq!(
        call.lead_id.as_deref(),
        Some("L-77"),
        "the lead id from any leg"
    );
}

#[test]
fn unanswered_outbound_calls_keep_the_dialing_manager_and_the_most_telling_outcome() {
    let no_answer = leg(
        outbound(),
        json!({"disposition": "NO ANSWER", "billsec": 0, "answer": ""}),
    );
    let busy = leg(
        outbound(),
        json!({"disposition": "BUSY", "billsec": 0, "sequence": 2}),
    );
    let congestion = leg(
        outbound(),
        json!({"disposition": "CONGESTION", "billsec": 0, "sequence": 3}),
    );
    let call = merged(std::slice::from_ref(&no_answer)).unwrap();
    assert_eq!(
        (call.disposition, call.talk_seconds),
        (Disposition::NoAnswer, 0)
    );
    assert_eq!(call.manager_id.as_deref(), Some("ivanov"));
    assert_eq!(
        merged(&[no_answer.clone(), busy]).unwrap().disposition,
        Disposition::Busy
    );
    assert_eq!(
        merged(std::slice::from_ref(&congestion))
            .unwrap()
            .disposition,
        Disposition::Failed
    );
    assert_eq!(
        merged(&[congestion, no_answer]).unwrap().disposition,
        Disposition::NoAnswer
    );
}

#[test]
fn direction_comes_from_which_side_is_external() {
    // Outbound caller id set to the company number: Party A is still extension 101.
    let presented = merged(&[leg(outbound(), json!({"src": "74951234567"}))]).unwrap();
    assert_eq!(
        (presented.direction, presented.phone.as_ref()),
        (Direction::Outbound, "89161234567")
    );
    // A client's call forwarded from the trunk to a manager's mobile.
    let forwarded = leg(
        inbound("101", "ANSWERED", 60),
        json!({"dst": "89031112233", "dstchannel": "PJSIP/trunk-mango-00000012"}),
    );
    let call = merged(&[forwarded]).unwrap();
    assert_eq!(
        (call.direction, call.phone.as_ref()),
        (Direction::Inbound, "79161234567")
    );
    // Click-to-call: the originated channel has no caller id.
    let originated = merged(&[leg(outbound(), json!({"src": "", "accountcode": ""}))]).unwrap();
    assert_eq!(
        originated.manager_id.as_deref(),
        Some("101"),
        "falls back to the channel's endpoint"
    );
    let internal = merged(&[leg(outbound(), json!({"dst": "102"}))]).unwrap_err();
    assert_eq!(
        (internal.kind(), internal.field()),
        ("not_applicable", Some("dst"))
    );
    assert_eq!(
        merge_legs(&[], &AsteriskOptions::default())
            .unwrap_err()
            .kind(),
        "missing"
    );
}

#[test]
fn the_lead_id_comes_from_the_userfield_convention() {
    let lead = |userfield: &str, prefix: &str| {
        let options = AsteriskOptions {
            lead_id_prefix: prefix.into(),
            ..AsteriskOptions::default()
        };
        let rows = [row(&leg(outbound(), json!({"userfield": userfield})))];
        merge_legs(&rows, &options).unwrap().lead_id
    };
    assert_eq!(lead("lead:123", "lead:").as_deref(), Some("123"));
    assert_eq!(
        lead("campaign=spring; LEAD: 123 ", "lead:").as_deref(),
        Some("123"),
        "Party A;Party B, any case"
    );
    assert_eq!(
        lead("campaign=spring", "lead:"),
        None,
        "no lead id: found by phone (SPEC §4.8)"
    );
    assert_eq!(lead("lead:", "lead:"), None);
    assert_eq!(lead("", "lead:"), None);
    assert_eq!(
        lead("98765", "").as_deref(),
        Some("98765"),
        "an empty prefix takes the whole field"
    );
    assert_eq!(
        lead("привет", "lead:"),
        None,
        "non-ASCII userfields do not break prefix matching"
    );
}
