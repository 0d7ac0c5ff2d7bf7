//! Single-pass JSON decoding of the common flat record shape; anything else is left to serde_json.
//
// The scanner accepts a strict subset of what serde_json accepts for `CallRecord` and
// `LeadEvent` — known keys once each, unescaped strings, `null`, plain unsigned integers —
// and returns exactly what serde_json would. On anything else (escapes, unknown keys,
// duplicates, missing fields, bad values, invalid UTF-8, trailing bytes) it returns `None`
// and the caller decodes with serde_json, which produces the error message. A differential
// property test (`json_fast_tests`) holds the two to the same results.

use std::borrow::Cow;

use crate::model::{CallRecord, Direction, Disposition, LeadEvent, Timestamp};

/// A cursor over one JSON text known to be valid UTF-8.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(bytes: &'a [u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        Some(Scanner { text, pos: 0 })
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// A string without escapes or control characters, borrowed from the input.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut end = start;
        // Eight bytes at a time to the first `"`, backslash or control byte; only `"` is ours.
        while let Some(word) = bytes.get(end..end + 8) {
            let mut chunk = [0; 8];
            chunk.copy_from_slice(word);
            let mask = string_stops(u64::from_le_bytes(chunk));
            if mask != 0 {
                end += (mask.trailing_zeros() / 8) as usize;
                break;
            }
            end += 8;
        }
        while !matches!(*bytes.get(end)?, b'"' | b'\\' | 0..=0x1f) {
            end += 1;
        }
        if bytes[end] != b'"' {
            return None;
        }
        let value = self.text.get(start..end)?;
        self.pos = end + 1;
        Some(value)
    }

    /// `null` (→ `None`) or a string.
    fn opt_string(&mut self) -> Option<Option<&'a str>> {
        self.skip_ws();
        if self.peek()? == b'n' {
            let rest = self.text.as_bytes().get(self.pos..self.pos + 4)?;
            (rest == b"null").then(|| self.pos += 4)?;
            return Some(None);
        }
        self.string().map(Some)
    }

    fn timestamp(&mut self) -> Option<Timestamp> {
        Timestamp::parse_rfc3339(self.string()?).ok()
    }

    fn opt_timestamp(&mut self) -> Option<Option<Timestamp>> {
        match self.opt_string()? {
            None => Some(None),
            Some(text) => Timestamp::parse_rfc3339(text).ok().map(Some),
        }
    }

    /// A plain non-negative integer that fits `u32` (no sign, fraction, exponent or leading 0).
    fn u32(&mut self) -> Option<u32> {
        self.skip_ws();
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(&digit @ b'0'..=b'9') = bytes.get(self.pos) {
            value = value * 10 + u64::from(digit - b'0');
            self.pos += 1;
            if self.pos - start > 10 {
                return None;
            }
        }
        let digits = self.pos - start;
        if digits == 0 || (digits > 1 && bytes[start] == b'0') {
            return None;
        }
        if matches!(bytes.get(self.pos), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        u32::try_from(value).ok()
    }

    /// Visits each `"key": value` of one object, telling `field` the key's position in `keys`
    /// (an unknown key ends the scan: serde_json decides); `field` must consume the value.
    /// `keys` are in their usual order, each written `"key":`: a key written exactly so (the
    /// next expected one, or a later one when some are absent) is recognised by comparing bytes
    /// instead of being scanned as a string; any other goes the general way.
    fn object(
        &mut self,
        keys: &[&'static str],
        mut field: impl FnMut(usize, &mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        self.skip_ws();
        let mut next = 0;
        if self.peek()? != b'}' {
            loop {
                self.skip_ws();
                let rest = self.text.as_bytes().get(self.pos..)?;
                let known = keys
                    .get(next..)?
                    .iter()
                    .position(|key| starts_with_key(rest, key));
                let key = match known {
                    Some(skipped) => {
                        let index = next + skipped;
                        next = index + 1;
                        self.pos += keys[index].len();
                        index
                    }
                    None => {
                        let key = self.string()?;
                        self.eat(b':')?;
                        keys.iter()
                            .position(|quoted| quoted.get(1..quoted.len() - 2) == Some(key))?
                    }
                };
                field(key, self)?;
                self.skip_ws();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        self.pos += 1;
        self.skip_ws();
        (self.pos == self.text.len()).then_some(())
    }
}

/// High bits set in the bytes of a little-endian word that are `"`, `\` or control bytes
/// (SWAR; exact for the lowest such byte, which is all the caller uses).
pub(super) fn string_stops(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

/// `rest` begins with `key` (at least 8 bytes long: the first 8 compared as one word).
fn starts_with_key(rest: &[u8], key: &str) -> bool {
    let key = key.as_bytes();
    let word = |bytes: &[u8]| -> Option<u64> {
        Some(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?))
    };
    match (word(rest), word(key)) {
        (Some(a), Some(b)) if a == b => match (rest.get(8..key.len()), key.get(8..)) {
            (Some(tail), Some(want)) => tail.iter().zip(want).all(|(a, b)| a == b),
            _ => false,
        },
        _ => false,
    }
}

/// Sets bit `bit` of `seen`; `None` when it was set already (a duplicate key).
fn first_time(seen: &mut u16, bit: u16) -> Option<()> {
    let mask = 1 << bit;
    (*seen & mask == 0).then(|| *seen |= mask)
}

fn direction(text: &str) -> Option<Direction> {
    Direction::ALL.into_iter().find(|d| d.as_str() == text)
}

fn disposition(text: &str) -> Option<Disposition> {
    Disposition::ALL.into_iter().find(|d| d.as_str() == text)
}

/// `CallRecord`'s keys as serde writes them (declaration order), each with its quotes and colon.
const CALL_KEYS: [&str; 10] = [
    "\"call_id\":",
    "\"tenant\":",
    "\"lead_id\":",
    "\"phone\":",
    "\"manager_id\":",
    "\"direction\":",
    "\"started_at\":",
    "\"talk_seconds\":",
    "\"disposition\":",
    "\"recording_url\":",
];

/// `LeadEvent`'s keys, likewise.
const LEAD_KEYS: [&str; 11] = [
    "\"event_id\":",
    "\"tenant\":",
    "\"lead_id\":",
    "\"occurred_at\":",
    "\"stage\":",
    "\"manager_id\":",
    "\"created_at\":",
    "\"channel\":",
    "\"phone\":",
    "\"email\":",
    "\"rejection_reason\":",
];

/// A call-detail record, or `None` when serde_json must decide.
pub(crate) fn call(bytes: &[u8]) -> Option<CallRecord<'_>> {
    let mut s = Scanner::new(bytes)?;
    let (mut call_id, mut tenant, mut lead_id, mut phone, mut manager_id) =
        (None, None, None, None, None);
    let (mut direction_, mut started_at, mut talk_seconds, mut disposition_, mut recording_url) =
        (None, None, None, None, None);
    let mut seen = 0u16;
    s.object(&CALL_KEYS, |key, s| {
        match key {
            0 => {
                first_time(&mut seen, 0)?;
                call_id = Some(s.string()?);
            }
            1 => {
                first_time(&mut seen, 1)?;
                tenant = s.opt_string()?;
            }
            2 => {
                first_time(&mut seen, 2)?;
                lead_id = s.opt_string()?;
            }
            3 => {
                first_time(&mut seen, 3)?;
                phone = Some(s.string()?);
            }
            4 => {
                first_time(&mut seen, 4)?;
                manager_id = s.opt_string()?;
            }
            5 => {
                first_time(&mut seen, 5)?;
                direction_ = Some(direction(s.string()?)?);
            }
            6 => {
                first_time(&mut seen, 6)?;
                started_at = Some(s.timestamp()?);
            }
            7 => {
                first_time(&mut seen, 7)?;
                talk_seconds = Some(s.u32()?);
            }
            8 => {
                first_time(&mut seen, 8)?;
                disposition_ = Some(disposition(s.string()?)?);
            }
            9 => {
                first_time(&mut seen, 9)?;
                recording_url = s.opt_string()?;
            }
            _ => return None,
        }
        Some(())
    })?;
    Some(CallRecord {
        call_id: Cow::Borrowed(call_id?),
        tenant: tenant.map(Cow::Borrowed),
        lead_id: lead_id.map(Cow::Borrowed),
        phone: Cow::Borrowed(phone?),
        manager_id: manager_id.map(Cow::Borrowed),
        direction: direction_?,
        started_at: started_at?,
        talk_seconds: talk_seconds?,
        disposition: disposition_?,
        recording_url: recording_url.map(Cow::Borrowed),
    })
}

/// A lead event, or `None` when serde_json must decide.
pub(crate) fn lead(bytes: &[u8]) -> Option<LeadEvent<'_>> {
    let mut s = Scanner::new(bytes)?;
    let (mut event_id, mut tenant, mut lead_id, mut occurred_at, mut stage, mut manager_id) =
        (None, None, None, None, None, None);
    let (mut created_at, mut channel, mut phone, mut email, mut rejection_reason) =
        (None, None, None, None, None);
    let mut seen = 0u16;
    s.object(&LEAD_KEYS, |key, s| {
        match key {
            0 => {
                first_time(&mut seen, 0)?;
                event_id = Some(s.string()?);
            }
            1 => {
                first_time(&mut seen, 1)?;
                tenant = s.opt_string()?;
            }
            2 => {
                first_time(&mut seen, 2)?;
                lead_id = Some(s.string()?);
            }
            3 => {
                first_time(&mut seen, 3)?;
                occurred_at = Some(s.timestamp()?);
            }
            4 => {
                first_time(&mut seen, 4)?;
                stage = Some(s.string()?);
            }
            5 => {
                first_time(&mut seen, 5)?;
                manager_id = s.opt_string()?;
            }
            6 => {
                first_time(&mut seen, 6)?;
                created_at = s.opt_timestamp()?;
            }
            7 => {
                first_time(&mut seen, 7)?;
                channel = s.opt_string()?;
            }
            8 => {
                first_time(&mut seen, 8)?;
                phone = s.opt_string()?;
            }
            9 => {
                first_time(&mut seen, 9)?;
                email = s.opt_string()?;
            }
            10 => {
                first_time(&mut seen, 10)?;
                rejection_reason = s.opt_string()?;
            }
            _ => return None,
        }
        Some(())
    })?;
    Some(LeadEvent {
        event_id: Cow::Borrowed(event_id?),
        tenant: tenant.map(Cow::Borrowed),
        lead_id: Cow::Borrowed(lead_id?),
        occurred_at: occurred_at?,
        stage: Cow::Borrowed(stage?),
        manager_id: manager_id.map(Cow::Borrowed),
        created_at,
        channel: channel.map(Cow::Borrowed),
        phone: phone.map(Cow::Borrowed),
        email: email.map(Cow::Borrowed),
        rejection_reason: rejection_reason.map(Cow::Borrowed),
    })
}
