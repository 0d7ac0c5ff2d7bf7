//! Property tests: arbitrary, truncated and bit-flipped input never panics any decoder.

use proptest::prelude::*;

use super::*;
use crate::model::{Direction, Disposition, QcKind, Rule, Timestamp};

pub(super) fn call(tag: &str, full: bool) -> CallRecord<'static> {
    CallRecord {
        call_id: format!("call-{tag}").into(),
        tenant: full.then(|| "acme".into()),
        lead_id: full.then(|| format!("L-{tag}").into()),
        phone: "+79000000000".into(),
        manager_id: full.then(|| "m1".into()),
        direction: Direction::Outbound,
        started_at: Timestamp::from_millis(1_772_434_800_000).unwrap_or_default(),
        talk_seconds: 31,
        disposition: Disposition::Answered,
        recording_url: full.then(|| "https://rec/1".into()),
    }
}

pub(super) fn lead(tag: &str, full: bool) -> LeadEvent<'static> {
    LeadEvent {
        event_id: format!("ev-{tag}").into(),
        tenant: full.then(|| "acme".into()),
        lead_id: format!("L-{tag}").into(),
        occurred_at: Timestamp::from_millis(1_772_434_800_000).unwrap_or_default(),
        stage: "IN_PROCESS".into(),
        manager_id: full.then(|| "m1".into()),
        created_at: full.then_some(Timestamp::MIN),
        channel: full.then(|| "website".into()),
        phone: full.then(|| "+79000000000".into()),
        email: full.then(|| "a@b.c".into()),
        rejection_reason: full.then(|| "дубль".into()),
    }
}

fn violation(full: bool) -> Violation {
    let mut v = Violation::new("v".into(), Rule::StaleLead, "t", "L", Timestamp::MAX);
    if full {
        v.business_day = chrono::NaiveDate::from_epoch_days(20_000);
        v.attempts_total = Some(4);
        v.deadline = Some(Timestamp::MIN);
        v.retracts = Some("v0".into());
    }
    v
}

fn review(full: bool) -> QcReview {
    QcReview {
        review_id: "q".into(),
        kind: QcKind::CallListen,
        tenant: "t".into(),
        lead_id: "L".into(),
        manager_id: full.then(|| "m".into()),
        call_id: full.then(|| "c".into()),
        recording_url: None,
        talk_seconds: full.then_some(40),
        premature: full,
        detected_at: Timestamp::MIN,
        rejection_reason: None,
        stage: full.then(|| "JUNK".into()),
        attempts_total: None,
        earlier_lead_id: full.then(|| "E".into()),
        earlier_manager_id: full.then(|| "n".into()),
        matched_on: full.then_some(crate::model::MatchedOn::Email),
    }
}

/// Every valid frame of every type, encoding and fullness.
fn valid_frames() -> Vec<Vec<u8>> {
    let encodings = [
        Encoding::Json,
        Encoding::AvroConfluent { schema_id: 3 },
        Encoding::AvroSingleObject,
    ];
    let mut frames = Vec::new();
    for encoding in encodings {
        for full in [false, true] {
            let encoded = [
                encode_call(&call("x", full), encoding),
                encode_lead(&lead("x", full), encoding),
                encode_violation(&violation(full), encoding),
                encode_qc_review(&review(full), encoding),
            ];
            frames.extend(encoded.into_iter().filter_map(Result::ok));
        }
    }
    frames
}

fn containers() -> Vec<Vec<u8>> {
    let calls = [call("a", true), call("b", false)];
    let leads = [lead("a", false), lead("b", true)];
    [
        write_calls_container(Vec::new(), &calls),
        write_leads_container(Vec::new(), &leads),
    ]
    .into_iter()
    .filter_map(Result::ok)
    .collect()
}

/// Runs every decoder over `bytes`; returns how many accepted it.
fn decode_everything(bytes: &[u8]) -> usize {
    let mut accepted = [
        decode_call(bytes).is_ok(),
        decode_lead(bytes).is_ok(),
        decode_violation(bytes).is_ok(),
        decode_qc_review(bytes).is_ok(),
        decode_json_call(bytes).is_ok(),
        decode_json_lead(bytes).is_ok(),
        decode_json_violation(bytes).is_ok(),
        decode_json_qc_review(bytes).is_ok(),
    ]
    .into_iter()
    .filter(|ok| *ok)
    .count();
    if let Ok(records) = read_calls_container(bytes) {
        accepted += records.filter(Result::is_ok).count();
    }
    if let Ok(records) = read_leads_container(bytes) {
        accepted += records.filter(Result::is_ok).count();
    }
    accepted
}

#[test]
fn fixtures_are_valid() {
    let frames = valid_frames();
    assert_eq!(frames.len(), 24);
    for frame in &frames {
        assert!(decode_everything(frame) >= 1, "{frame:?}");
    }
    for container in containers() {
        assert_eq!(decode_everything(&container), 2);
    }
}

fn header() -> impl Strategy<Value = Vec<u8>> {
    let fingerprints: Vec<Vec<u8>> = RecordKind::ALL
        .iter()
        .map(|kind| {
            let mut h = SINGLE_OBJECT_MAGIC.to_vec();
            h.extend_from_slice(&kind.fingerprint().to_le_bytes());
            h
        })
        .collect();
    prop_oneof![
        Just(Vec::new()),
        Just(vec![0, 0, 0, 0, 1]),
        Just(CONTAINER_MAGIC.to_vec()),
        proptest::sample::select(fingerprints),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(
        head in header(),
        tail in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = head;
        bytes.extend_from_slice(&tail);
        decode_everything(&bytes);
    }

    #[test]
    fn strict_prefixes_of_frames_are_rejected(index in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let frames = valid_frames();
        let frame = index.get(&frames);
        let prefix = &frame[..cut.index(frame.len())];
        prop_assert_eq!(decode_everything(prefix), 0, "prefix {:?}", prefix);
    }

    #[test]
    fn bit_flipped_frames_never_panic(
        index in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
    ) {
        let mut frames = valid_frames();
        frames.extend(containers());
        let mut frame = index.get(&frames).clone();
        for (at, bit) in flips {
            let i = at.index(frame.len());
            frame[i] ^= 1 << bit;
        }
        decode_everything(&frame);
    }

    #[test]
    fn truncated_containers_never_panic(index in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let containers = containers();
        let container = index.get(&containers);
        decode_everything(&container[..cut.index(container.len())]);
    }
}
