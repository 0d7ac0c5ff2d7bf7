//! Violations and QC reviews written as JSON by hand: byte for byte what serde_json writes, without its per-byte escaping loop.

use chrono::NaiveDate;

use super::json_fast::string_stops;
use crate::ascii;
use crate::model::{QcReview, Timestamp, Violation};

/// Appends `violation` as serde_json would serialise it (fields in declaration order, absent
/// options left out).
pub(crate) fn violation(v: &Violation, out: &mut Vec<u8>) {
    let mut o = Object::open(out);
    o.str("violation_id", &v.violation_id);
    o.str("rule", v.rule.as_str());
    o.str("tenant", &v.tenant);
    o.str("lead_id", &v.lead_id);
    o.opt_str("manager_id", v.manager_id.as_deref());
    if let Some(day) = v.business_day {
        o.date("business_day", day);
    }
    o.timestamp("detected_at", v.detected_at);
    o.opt_u32("attempts_on_day", v.attempts_on_day);
    o.opt_u32("attempts_total", v.attempts_total);
    o.opt_u32("required", v.required);
    o.opt_u32("day_of_period", v.day_of_period);
    o.opt_timestamp("episode_start", v.episode_start);
    o.opt_str("stage", v.stage.as_deref());
    o.opt_str("rejection_reason", v.rejection_reason.as_deref());
    o.opt_str("channel", v.channel.as_deref());
    o.opt_timestamp("deadline", v.deadline);
    o.opt_timestamp("last_activity_at", v.last_activity_at);
    o.opt_str("retracts", v.retracts.as_deref());
    o.close();
}

/// Appends `review` as serde_json would serialise it.
pub(crate) fn qc_review(q: &QcReview, out: &mut Vec<u8>) {
    let mut o = Object::open(out);
    o.str("review_id", &q.review_id);
    o.str("kind", q.kind.as_str());
    o.str("tenant", &q.tenant);
    o.str("lead_id", &q.lead_id);
    o.opt_str("manager_id", q.manager_id.as_deref());
    o.opt_str("call_id", q.call_id.as_deref());
    o.opt_str("recording_url", q.recording_url.as_deref());
    o.opt_u32("talk_seconds", q.talk_seconds);
    o.key("premature");
    o.out
        .extend_from_slice(if q.premature { b"true" } else { b"false" });
    o.timestamp("detected_at", q.detected_at);
    o.opt_str("rejection_reason", q.rejection_reason.as_deref());
    o.opt_str("stage", q.stage.as_deref());
    o.opt_u32("attempts_total", q.attempts_total);
    o.opt_str("earlier_lead_id", q.earlier_lead_id.as_deref());
    o.opt_str("earlier_manager_id", q.earlier_manager_id.as_deref());
    o.opt_str("matched_on", q.matched_on.map(|m| m.as_str()));
    o.close();
}

/// A JSON object being written: keys are ours (plain ASCII, never escaped).
struct Object<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Object<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    fn close(self) {
        self.out.push(b'}');
    }

    fn key(&mut self, name: &str) {
        if !std::mem::replace(&mut self.first, false) {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn str(&mut self, name: &str, value: &str) {
        self.key(name);
        string(self.out, value);
    }

    fn opt_str(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.str(name, value);
        }
    }

    fn opt_u32(&mut self, name: &str, value: Option<u32>) {
        if let Some(value) = value {
            self.key(name);
            self.out
                .extend_from_slice(ascii::decimal(value, &mut [0; 10]));
        }
    }

    /// Nothing in an RFC 3339 time needs escaping: its bytes are copied as they are.
    fn timestamp(&mut self, name: &str, at: Timestamp) {
        self.key(name);
        self.out.push(b'"');
        self.out.extend_from_slice(&at.rfc3339_bytes());
        self.out.push(b'"');
    }

    fn opt_timestamp(&mut self, name: &str, at: Option<Timestamp>) {
        if let Some(at) = at {
            self.timestamp(name, at);
        }
    }

    /// chrono writes a date as its `Debug` form: `YYYY-MM-DD` for years 0–9999.
    fn date(&mut self, name: &str, day: NaiveDate) {
        self.key(name);
        match ascii::iso_date(day) {
            Some(text) => {
                self.out.push(b'"');
                self.out.extend_from_slice(&text);
                self.out.push(b'"');
            }
            None => string(self.out, &format!("{day:?}")),
        }
    }
}

/// A JSON string with serde_json's escapes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other
/// control bytes as `\u00xx`; everything else (DEL, non-ASCII) as it is. Runs without
/// anything to escape are copied whole, found eight bytes at a time.
fn string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.push(b'"');
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        if let Some(word) = bytes.get(at..at + 8) {
            let mut chunk = [0; 8];
            chunk.copy_from_slice(word);
            let stops = string_stops(u64::from_le_bytes(chunk));
            if stops == 0 {
                at += 8;
                continue;
            }
            at += (stops.trailing_zeros() / 8) as usize;
        }
        let byte = bytes[at];
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ],
            _ => {
                at += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[copied..at]);
        out.extend_from_slice(escape);
        at += 1;
        copied = at;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::{MatchedOn, QcKind, Rule};

    /// Text with everything that needs escaping, non-ASCII and long plain runs.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-z0-9\"\\\\\u{0}-\u{1f}\u{7f}é€😀 -]{0,40}",
            Just(String::new()),
        ]
    }

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        (0..=Timestamp::MAX_MILLIS).prop_map(Timestamp::saturating_from_millis)
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        (-800_000i32..4_000_000).prop_filter_map("a date", NaiveDate::from_num_days_from_ce_opt)
    }

    prop_compose! {
        fn violation()(
            strings in proptest::collection::vec(text(), 4),
            opt_strings in proptest::collection::vec(proptest::option::of(text()), 5),
            rule in proptest::sample::select(Rule::ALL.to_vec()),
            business_day in proptest::option::of(date()),
            detected_at in timestamp(),
            numbers in proptest::collection::vec(proptest::option::of(any::<u32>()), 4),
            times in proptest::collection::vec(proptest::option::of(timestamp()), 3),
        ) -> Violation {
            Violation {
                violation_id: strings[0].clone(),
                rule,
                tenant: strings[1].clone(),
                lead_id: strings[2].clone(),
                manager_id: opt_strings[0].clone(),
                business_day,
                detected_at,
                attempts_on_day: numbers[0],
                attempts_total: numbers[1],
                required: numbers[2],
                day_of_period: numbers[3],
                episode_start: times[0],
                stage: opt_strings[1].clone(),
                rejection_reason: opt_strings[2].clone(),
                channel: opt_strings[3].clone(),
                deadline: times[1],
                last_activity_at: times[2],
                retracts: opt_strings[4].clone().or_else(|| Some(strings[3].clone())),
            }
        }
    }

    prop_compose! {
        fn qc_review()(
            strings in proptest::collection::vec(text(), 3),
            opt_strings in proptest::collection::vec(proptest::option::of(text()), 7),
            kind in proptest::sample::select(QcKind::ALL.to_vec()),
            numbers in proptest::collection::vec(proptest::option::of(any::<u32>()), 2),
            premature in any::<bool>(),
            detected_at in timestamp(),
            matched_on in proptest::option::of(proptest::sample::select(MatchedOn::ALL.to_vec())),
        ) -> QcReview {
            QcReview {
                review_id: strings[0].clone(),
                kind,
                tenant: strings[1].clone(),
                lead_id: strings[2].clone(),
                manager_id: opt_strings[0].clone(),
                call_id: opt_strings[1].clone(),
                recording_url: opt_strings[2].clone(),
                talk_seconds: numbers[0],
                premature,
                detected_at,
                rejection_reason: opt_strings[3].clone(),
                stage: opt_strings[4].clone(),
                attempts_total: numbers[1],
                earlier_lead_id: opt_strings[5].clone(),
                earlier_manager_id: opt_strings[6].clone(),
                matched_on,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn violations_are_written_as_serde_json_writes_them(v in violation()) {
            let mut ours = Vec::new();
            super::violation(&v, &mut ours);
            let theirs = serde_json::to_vec(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
        }

        #[test]
        fn qc_reviews_are_written_as_serde_json_writes_them(q in qc_review()) {
            let mut ours = Vec::new();
            super::qc_review(&q, &mut ours);
            let theirs = serde_json::to_vec(&q).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
        }
    }

    #[test]
    fn escapes_match_serde_json_at_every_offset() {
        let mut text = String::from("plain text long enough for words");
        for special in [
            '"', '\\', '\u{0}', '\u{8}', '\u{c}', '\n', '\r', '\t', '\u{1f}', '\u{7f}', 'é',
        ] {
            for at in 0..text.len().min(20) {
                let mut probe = text.clone();
                probe.insert(at, special);
                let mut ours = Vec::new();
                string(&mut ours, &probe);
                assert_eq!(
                    ours,
                    serde_json::to_vec(&probe).unwrap_or_default(),
                    "{probe:?}"
                );
            }
        }
        text.clear();
        let mut ours = Vec::new();
        string(&mut ours, &text);
        assert_eq!(ours, b"\"\"");
    }
}
