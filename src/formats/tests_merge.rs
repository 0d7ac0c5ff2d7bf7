//! `CdrMerger` tests: when a call is complete, duplicates, late legs, restarts.

use serde_json::json;

use super::tests_asterisk::{at, inbound, leg, outbound, row};
use super::{AsteriskOptions, CdrMerger, CdrRow, MergerStats};
use crate::model::{Disposition, Timestamp};

/// A call by 101 to another client, rooted at `id`, ending at local `end` (Moscow).
fn other_call(id: &str, start: &str, end: &str) -> CdrRow {
    row(&leg(
        outbound(),
        json!({"uniqueid": id, "linkedid": id, "calldate": start, "answer": start,
        "end": end, "dst": "89035550000", "billsec": 5}),
    ))
}

fn merger() -> CdrMerger {
    CdrMerger::new(AsteriskOptions::default())
}

#[test]
fn a_call_with_its_root_leg_is_emitted_once_event_time_passes_its_end_plus_settle() {
    let mut merger = merger();
    assert!(
        merger.push(row(&outbound())).is_empty(),
        "ends 10:16:00, due 10:16:30"
    );
    assert_eq!(merger.open_calls(), 1);
    assert!(
        merger
            .push(other_call(
                "x.1",
                "2024-03-04 10:16:00",
                "2024-03-04 10:16:29"
            ))
            .is_empty()
    );
    let out = merger.push(other_call(
        "x.2",
        "2024-03-04 10:16:10",
        "2024-03-04 10:16:30",
    ));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].call_id, "1709536500.1");
    assert_eq!(
        (out[0].talk_seconds, out[0].disposition),
        (52, Disposition::Answered)
    );
    assert_eq!(merger.clock(), at("2024-03-04T07:16:30Z"));
    // The other two are rooted too; a watermark closes them without more traffic.
    let out = merger.flush_before(at("2024-03-04T07:17:00Z"));
    let ids: Vec<&str> = out.iter().map(|call| call.call_id.as_ref()).collect();
    assert_eq!(ids, ["x.1", "x.2"], "ordered by start");
    assert_eq!(merger.open_calls(), 0);
    assert_eq!(
        merger.stats(),
        MergerStats {
            legs: 3,
            calls: 3,
            ..MergerStats::default()
        }
    );
}

#[test]
fn legs_of_one_queue_call_are_merged_into_one_record() {
    let mut merger = merger();
    for (seq, (agent, disposition, billsec)) in [
        ("101", "NO ANSWER", 0),
        ("102", "ANSWERED", 95),
        ("103", "NO ANSWER", 0),
    ]
    .into_iter()
    .enumerate()
    {
        let leg_row = row(&leg(
            inbound(agent, disposition, billsec),
            json!({"sequence": seq}),
        ));
        assert!(merger.push(leg_row).is_empty());
    }
    let out = merger.flush_before(at("2024-03-04T08:00:00Z"));
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].talk_seconds, out[0].manager_id.as_deref()),
        (95, Some("acc-102"))
    );
    assert_eq!(merger.stats().legs, 3);
}

#[test]
fn without_a_root_leg_the_call_waits_for_the_idle_timeout() {
    let mut merger = merger();
    let orphan = row(&leg(outbound(), json!({"uniqueid": "1709536500.2"}))); // linkedid stays .1
    assert!(!orphan.is_root());
    merger.push(orphan);
    assert!(
        merger.flush_before(at("2024-03-04T07:20:59Z")).is_empty(),
        "end 07:16:00 + 5 min not reached"
    );
    assert_eq!(merger.flush_before(at("2024-03-04T07:21:00Z")).len(), 1);
}

#[test]
fn a_root_leg_arriving_late_shortens_the_wait() {
    let mut merger = merger();
    let consult = row(&leg(
        outbound(),
        json!({"uniqueid": "1709536530.3", "dst": "102", "calldate": "2024-03-04 10:15:30"}),
    ));
    merger.push(consult);
    merger.push(row(&outbound()));
    assert_eq!(merger.flush_before(at("2024-03-04T07:16:30Z")).len(), 1);
}

#[test]
fn duplicates_are_ignored_and_late_legs_are_counted() {
    let mut merger = merger();
    merger.push(row(&outbound()));
    merger.push(row(&outbound()));
    assert_eq!(merger.stats().duplicate_legs, 1);
    assert_eq!(merger.flush_before(at("2024-03-04T07:17:00Z")).len(), 1);
    // A relay retry of the same row after the call was emitted, then a genuinely late leg.
    assert!(merger.push(row(&outbound())).is_empty());
    let late = row(&leg(outbound(), json!({"sequence": 9, "billsec": 500})));
    assert!(merger.push(late).is_empty());
    let stats = merger.stats();
    assert_eq!(
        (stats.duplicate_legs, stats.late_legs, stats.calls),
        (2, 1, 1)
    );
    assert!(merger.flush_before(at("2024-03-04T08:16:00Z")).is_empty());
    assert!(
        merger.push(row(&outbound())).is_empty(),
        "remembered for an hour after the call ended"
    );
    // After that the linkedid is forgotten: a stray leg is a call again, emitted `settle` after
    // it arrived (the clock is long past its end); the engine drops the repeated call id.
    assert!(merger.flush_before(at("2024-03-04T08:16:01Z")).is_empty());
    assert!(merger.push(row(&outbound())).is_empty());
    assert_eq!(merger.flush_before(at("2024-03-04T08:16:31Z")).len(), 1);
}

#[test]
fn legs_written_together_at_hangup_wait_for_each_other_when_the_clock_is_past_their_ends() {
    let mut merger = merger();
    // Another call's leg has moved the clock to 10:20.
    merger.push(other_call(
        "x.1",
        "2024-03-04 10:19:00",
        "2024-03-04 10:20:00",
    ));
    // A queue call's CDRs, dispatched at the caller's hangup (10:20:05): the leg of the agent
    // who did not answer ended at 10:15:20, long before the clock.
    let missed = row(&leg(
        inbound("101", "NO ANSWER", 0),
        json!({"sequence": 1, "end": "2024-03-04 10:15:20"}),
    ));
    assert!(
        merger.push(missed).is_empty(),
        "due settle after it arrived, not at once"
    );
    let answered = row(&leg(
        inbound("102", "ANSWERED", 290),
        json!({"sequence": 2, "end": "2024-03-04 10:20:05"}),
    ));
    assert!(merger.push(answered).is_empty());
    assert_eq!(merger.flush_before(at("2024-03-04T07:20:34Z")).len(), 1);
    let out = merger.flush_before(at("2024-03-04T07:20:35Z"));
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].disposition, out[0].talk_seconds),
        (Disposition::Answered, 290)
    );
    assert_eq!(out[0].manager_id.as_deref(), Some("acc-102"));
    assert_eq!(merger.stats().late_legs, 0);
}

#[test]
fn internal_calls_are_counted_not_emitted() {
    let mut merger = merger();
    merger.push(row(&leg(outbound(), json!({"dst": "102"}))));
    assert!(merger.flush_all().is_empty());
    assert_eq!(merger.stats().internal_calls, 1);
}

#[test]
fn pushing_pending_legs_again_after_a_restart_gives_the_same_calls() {
    let rows = [
        row(&leg(inbound("101", "NO ANSWER", 0), json!({"sequence": 1}))),
        row(&outbound()),
        row(&leg(inbound("102", "ANSWERED", 40), json!({"sequence": 2}))),
        other_call("x.1", "2024-03-04 10:30:00", "2024-03-04 10:31:00"),
    ];
    let mut straight = merger();
    let mut expected: Vec<_> = rows
        .iter()
        .cloned()
        .flat_map(|r| straight.push(r))
        .collect();
    expected.extend(straight.flush_all());

    let mut before = merger();
    let mut got: Vec<_> = rows[..3]
        .iter()
        .cloned()
        .flat_map(|r| before.push(r))
        .collect();
    let pending: Vec<CdrRow> = before.pending_legs().cloned().collect();
    let mut after = merger();
    got.extend(pending.into_iter().flat_map(|r| after.push(r)));
    got.extend(after.push(rows[3].clone()));
    got.extend(after.flush_all());
    assert_eq!(got, expected);
    assert_eq!(expected.len(), 3);
}

#[test]
fn flush_all_emits_incomplete_calls_in_start_order() {
    let mut merger = merger();
    assert!(
        merger
            .push(other_call(
                "b",
                "2024-03-04 10:00:00",
                "2024-03-04 10:01:00"
            ))
            .is_empty()
    );
    assert!(
        merger
            .push(other_call(
                "a",
                "2024-03-04 09:59:00",
                "2024-03-04 10:00:50"
            ))
            .is_empty()
    );
    let out = merger.flush_all();
    let starts: Vec<Timestamp> = out.iter().map(|call| call.started_at).collect();
    assert_eq!(
        starts,
        [at("2024-03-04T06:59:00Z"), at("2024-03-04T07:00:00Z")]
    );
    assert_eq!(merger.open_calls(), 0);
}
