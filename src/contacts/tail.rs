//! The variable part of a stored contact entry — lead id, unfolded marks and attempts, phones and e-mails — packed into one allocation.
//
// Layout (integers little-endian): the id's length (LEB128) and the id (first, so a lookup by
// id reads nothing else), four LEB128 counts (marks, attempts, phones, e-mails), the marks (`MARK` bytes each: at u32, key u64, manager symbol u32,
// terminal u8), the attempts (u32 each), then the phones and the e-mails (each: LEB128 length,
// the text, since u32, last u32). A typical lead (one phone, one e-mail, two marks, a few
// attempts) is one allocation of about 110 bytes, where a struct of `Vec`s and boxed strings
// took seven allocations and about 250 bytes (BENCHMARKS.md, "Memory per lead").
//
// Only `pack` writes a tail, so reading never meets bad bytes; still, every read is
// bounds-checked and yields nothing rather than panicking.

use std::ops::Range;

use crate::engine::Secs;

use super::managers::Sym;

/// Bytes of one packed mark.
pub const MARK: usize = 17;

/// A lead event reduced to what the questions need, its manager as a symbol (0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedMark {
    pub at: Secs,
    /// Orders events of equal time (the engine's hash of the event id).
    pub key: u64,
    pub who: Sym,
    pub terminal: bool,
}

impl PackedMark {
    pub fn order(&self) -> (Secs, u64) {
        (self.at, self.key)
    }

    fn read(b: &[u8; MARK]) -> Self {
        PackedMark {
            at: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            key: u64::from_le_bytes([b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11]]),
            who: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
            terminal: b[16] != 0,
        }
    }

    pub fn bytes(&self) -> [u8; MARK] {
        let mut b = [0; MARK];
        b[..4].copy_from_slice(&self.at.to_le_bytes());
        b[4..12].copy_from_slice(&self.key.to_le_bytes());
        b[12..16].copy_from_slice(&self.who.to_le_bytes());
        b[16] = u8::from(self.terminal);
        b
    }
}

/// The packed marks, sorted by (at, key).
#[derive(Clone, Copy, Debug)]
pub struct Marks<'a>(pub &'a [u8]);

impl<'a> Marks<'a> {
    pub fn len(&self) -> usize {
        self.0.len() / MARK
    }

    pub fn is_empty(&self) -> bool {
        self.0.len() < MARK
    }

    pub fn get(&self, i: usize) -> Option<PackedMark> {
        let bytes = self.0.get(i * MARK..(i + 1) * MARK)?;
        <&[u8; MARK]>::try_from(bytes).ok().map(PackedMark::read)
    }

    pub fn iter(self) -> impl DoubleEndedIterator<Item = PackedMark> + 'a {
        self.0
            .chunks_exact(MARK)
            .filter_map(|b| <&[u8; MARK]>::try_from(b).ok().map(PackedMark::read))
    }

    /// The first `n` marks.
    pub fn head(&self, n: usize) -> Marks<'a> {
        Marks(self.0.get(..n * MARK).unwrap_or(self.0))
    }

    /// The marks from the `n`th on (`bytes_from`: as bytes).
    pub fn bytes_from(&self, n: usize) -> &'a [u8] {
        self.0.get(n * MARK..).unwrap_or_default()
    }

    pub fn bytes_to(&self, n: usize) -> &'a [u8] {
        self.0.get(..n * MARK).unwrap_or(self.0)
    }

    /// The number of leading marks for which `pred` holds (`pred` true, then false).
    pub fn partition_point(&self, pred: impl Fn(&PackedMark) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid).is_some_and(|m| pred(&m)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// The attempt times (in the order they were added).
#[derive(Clone, Copy, Debug)]
pub struct Attempts<'a>(pub &'a [u8]);

impl<'a> Attempts<'a> {
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    pub fn is_empty(&self) -> bool {
        self.0.len() < 4
    }

    pub fn iter(self) -> impl Iterator<Item = Secs> + 'a {
        self.0
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// One packed phone or e-mail, and where its times are in the tail.
#[derive(Clone, Copy, Debug)]
pub struct PackedValue<'a> {
    pub text: &'a [u8],
    pub since: Secs,
    pub last: Secs,
    /// Offset of `since` (then `last`) in the tail.
    pub times_at: usize,
    /// The whole packed value (length, text, times).
    pub raw: &'a [u8],
}

impl<'a> PackedValue<'a> {
    pub fn as_str(&self) -> &'a str {
        std::str::from_utf8(self.text).unwrap_or_default()
    }
}

/// A list of packed values: `count` of them in `bytes`, which start at offset `at` of the tail.
#[derive(Clone, Copy, Debug)]
pub struct Values<'a> {
    pub bytes: &'a [u8],
    pub count: usize,
    pub at: usize,
}

impl<'a> Values<'a> {
    pub fn iter(self) -> ValueIter<'a> {
        ValueIter {
            bytes: self.bytes,
            pos: 0,
            left: self.count,
            base: self.at,
        }
    }

    /// The bytes `count` values take from the start of `bytes`.
    fn measure(bytes: &[u8], count: usize) -> usize {
        let mut iter = ValueIter {
            bytes,
            pos: 0,
            left: count,
            base: 0,
        };
        for _ in iter.by_ref() {}
        iter.pos
    }
}

pub struct ValueIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    left: usize,
    base: usize,
}

impl<'a> Iterator for ValueIter<'a> {
    type Item = PackedValue<'a>;

    fn next(&mut self) -> Option<PackedValue<'a>> {
        if self.left == 0 {
            return None;
        }
        let start = self.pos;
        let mut pos = self.pos;
        let len = varint(self.bytes, &mut pos);
        let text = self.bytes.get(pos..pos.checked_add(len)?)?;
        let times = pos + len;
        let since = u32_at(self.bytes, times)?;
        let last = u32_at(self.bytes, times + 4)?;
        self.pos = times + 8;
        self.left -= 1;
        Some(PackedValue {
            text,
            since,
            last,
            times_at: self.base + times,
            raw: self.bytes.get(start..self.pos)?,
        })
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Writes `value` at `at` (in place: a value's times when it is reported again).
pub fn set_u32(tail: &mut [u8], at: usize, value: u32) {
    if let Some(b) = at.checked_add(4).and_then(|end| tail.get_mut(at..end)) {
        b.copy_from_slice(&value.to_le_bytes());
    }
}

fn varint(bytes: &[u8], pos: &mut usize) -> usize {
    let mut n = 0usize;
    for shift in (0..usize::BITS).step_by(7) {
        let Some(&b) = bytes.get(*pos) else { break };
        *pos += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    n
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// A packed value on its own (to be added to a list).
pub fn value_bytes(text: &str, since: Secs, last: Secs) -> Vec<u8> {
    let mut out = Vec::with_capacity(varint_len(text.len()) + text.len() + 8);
    put_varint(&mut out, text.len());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&since.to_le_bytes());
    out.extend_from_slice(&last.to_le_bytes());
    out
}

/// A tail's sections, with the offsets an in-place edit ([`splice`]) needs.
#[derive(Clone, Copy, Debug)]
pub struct Parts<'a> {
    pub id: &'a [u8],
    pub marks: Marks<'a>,
    pub attempts: Attempts<'a>,
    pub phones: Values<'a>,
    pub emails: Values<'a>,
    /// Where the marks and the attempts start in the tail.
    pub marks_at: usize,
    pub attempts_at: usize,
}

impl Parts<'_> {
    /// The section counts, in header order (marks, attempts, phones, e-mails).
    pub fn counts(&self) -> [usize; 4] {
        [
            self.marks.len(),
            self.attempts.len(),
            self.phones.count,
            self.emails.count,
        ]
    }
}

/// The lead id's bytes alone (the first section: what a lookup by id reads).
pub fn id_bytes(tail: &[u8]) -> &[u8] {
    let mut pos = 0;
    let len = varint(tail, &mut pos);
    take(tail, &mut pos, len).1
}

/// The lead id.
pub fn id(tail: &[u8]) -> &str {
    std::str::from_utf8(id_bytes(tail)).unwrap_or_default()
}

/// The sections of `tail`.
pub fn parts(tail: &[u8]) -> Parts<'_> {
    let mut pos = 0;
    let id_len = varint(tail, &mut pos);
    let (_, id) = take(tail, &mut pos, id_len);
    let [marks, attempts, phones, emails] = [(); 4].map(|()| varint(tail, &mut pos));
    let (marks_at, mark_bytes) = take(tail, &mut pos, marks.saturating_mul(MARK));
    let (attempts_at, attempt_bytes) = take(tail, &mut pos, attempts.saturating_mul(4));
    let phone_len = Values::measure(tail.get(pos..).unwrap_or_default(), phones);
    let (phones_at, phone_bytes) = take(tail, &mut pos, phone_len);
    let (emails_at, email_bytes) = take(tail, &mut pos, tail.len());
    Parts {
        id,
        marks: Marks(mark_bytes),
        attempts: Attempts(attempt_bytes),
        phones: Values {
            bytes: phone_bytes,
            count: phones,
            at: phones_at,
        },
        emails: Values {
            bytes: email_bytes,
            count: emails,
            at: emails_at,
        },
        marks_at,
        attempts_at,
    }
}

/// Edits `tail` where it lies: each `(range, bytes)` of `edits` (ascending, not overlapping,
/// offsets of the old tail) replaces those bytes, and the header gets `counts` (marks, attempts,
/// phones, e-mails). The allocation is grown or shrunk to the exact new size, which the
/// allocator does in place when its block fits — unlike [`pack`], which allocates a new tail
/// and copies everything (an attempt or a mark added to a lead was an allocation each).
pub fn splice(tail: Box<[u8]>, edits: &[(Range<usize>, &[u8])], counts: [usize; 4]) -> Box<[u8]> {
    let mut pos = 0;
    let id_len = varint(&tail, &mut pos);
    let header_at = pos.saturating_add(id_len).min(tail.len());
    let mut header_end = header_at;
    for _ in 0..4 {
        varint(&tail, &mut header_end);
    }
    let mut header = [0u8; 4 * 10];
    let mut header_len = 0;
    for n in counts {
        header_len += put_varint_at(&mut header[header_len..], n);
    }
    let header_edit = (header_at..header_end, &header[..header_len]);
    let grows: usize = std::iter::once(&header_edit)
        .chain(edits)
        .map(|(range, bytes)| bytes.len().saturating_sub(range.len()))
        .sum();
    let mut out = Vec::from(tail);
    out.reserve_exact(grows);
    for (range, bytes) in edits.iter().rev().chain(std::iter::once(&header_edit)) {
        replace(&mut out, range.clone(), bytes);
    }
    out.into_boxed_slice()
}

/// Replaces `range` of `bytes` (clamped to its length) with `with`, moving what follows.
fn replace(bytes: &mut Vec<u8>, range: Range<usize>, with: &[u8]) {
    let len = bytes.len();
    let start = range.start.min(len);
    let end = range.end.clamp(start, len);
    let new_end = start + with.len();
    if new_end > end {
        bytes.resize(len + (new_end - end), 0);
    }
    bytes.copy_within(end..len, new_end);
    bytes.truncate(len + new_end - end);
    bytes[start..new_end].copy_from_slice(with);
}

/// Writes `n` as LEB128 at the start of `out` (at least 10 bytes long); returns its length.
fn put_varint_at(out: &mut [u8], mut n: usize) -> usize {
    let mut len = 0;
    while n >= 0x80 && len + 1 < out.len() {
        out[len] = (n as u8) | 0x80;
        n >>= 7;
        len += 1;
    }
    if let Some(last) = out.get_mut(len) {
        *last = n as u8;
        len += 1;
    }
    len
}

/// The next `len` bytes from `pos` (fewer at the end), and where they start.
fn take<'a>(tail: &'a [u8], pos: &mut usize, len: usize) -> (usize, &'a [u8]) {
    let start = (*pos).min(tail.len());
    let end = start.saturating_add(len).min(tail.len());
    *pos = end;
    (start, tail.get(start..end).unwrap_or_default())
}

/// A tail's sections for [`pack`], each as pieces to concatenate; value lists with their count.
pub struct Sections<'a> {
    pub id: &'a [u8],
    pub marks: &'a [&'a [u8]],
    pub attempts: &'a [&'a [u8]],
    pub phones: (usize, &'a [&'a [u8]]),
    pub emails: (usize, &'a [&'a [u8]]),
}

/// Packs the sections into one exactly sized allocation.
pub fn pack(s: Sections<'_>) -> Box<[u8]> {
    let total = |pieces: &[&[u8]]| pieces.iter().map(|p| p.len()).sum::<usize>();
    let (marks, attempts) = (total(s.marks), total(s.attempts));
    let counts = [marks / MARK, attempts / 4, s.phones.0, s.emails.0];
    let size = varint_len(s.id.len())
        + counts.iter().map(|&n| varint_len(n)).sum::<usize>()
        + s.id.len()
        + marks
        + attempts
        + total(s.phones.1)
        + total(s.emails.1);
    let mut out = Vec::with_capacity(size);
    put_varint(&mut out, s.id.len());
    out.extend_from_slice(s.id);
    for n in counts {
        put_varint(&mut out, n);
    }
    for piece in [s.marks, s.attempts, s.phones.1, s.emails.1]
        .into_iter()
        .flatten()
    {
        out.extend_from_slice(piece);
    }
    out.into_boxed_slice()
}

/// The same sections again (a `Parts` as `Sections` pieces), for edits that change one.
impl<'a> Parts<'a> {
    pub fn pack_with(
        &self,
        marks: Option<&[&[u8]]>,
        attempts: Option<&[&[u8]]>,
        phones: Option<(usize, &[&[u8]])>,
        emails: Option<(usize, &[&[u8]])>,
    ) -> Box<[u8]> {
        pack(Sections {
            id: self.id,
            marks: marks.unwrap_or(&[self.marks.0]),
            attempts: attempts.unwrap_or(&[self.attempts.0]),
            phones: phones.unwrap_or((self.phones.count, &[self.phones.bytes])),
            emails: emails.unwrap_or((self.emails.count, &[self.emails.bytes])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_pack_and_read_back() {
        let mark = PackedMark {
            at: 7,
            key: u64::MAX - 3,
            who: 2,
            terminal: true,
        };
        let phone = value_bytes("79161234567", 5, 9);
        let email = value_bytes(&"x".repeat(200), 0, u32::MAX);
        let tail = pack(Sections {
            id: "L-1".as_bytes(),
            marks: &[&mark.bytes(), &mark.bytes()],
            attempts: &[&3u32.to_le_bytes()],
            phones: (1, &[&phone]),
            emails: (2, &[&email, &phone]),
        });
        assert_eq!(id(&tail), "L-1");
        assert_eq!(id_bytes(&tail), b"L-1");
        let p = parts(&tail);
        assert_eq!(p.marks.iter().collect::<Vec<_>>(), vec![mark, mark]);
        assert_eq!(p.attempts.iter().collect::<Vec<_>>(), vec![3]);
        let phones: Vec<_> = p
            .phones
            .iter()
            .map(|v| (v.as_str(), v.since, v.last))
            .collect();
        assert_eq!(phones, vec![("79161234567", 5, 9)]);
        let emails: Vec<_> = p.emails.iter().map(|v| (v.text.len(), v.since)).collect();
        assert_eq!(emails, vec![(200, 0), (11, 5)]);
        let at = p.phones.iter().map(|v| v.times_at).next().unwrap_or(0);
        let mut tail = tail;
        set_u32(&mut tail, at + 4, 42);
        assert_eq!(parts(&tail).phones.iter().map(|v| v.last).next(), Some(42));
        assert_eq!(parts(&[]).marks.len(), 0);
        assert_eq!(parts(&[9, 9, 9]).phones.iter().count(), 0);
    }

    fn sections_of(
        id: &[u8],
        marks: &[u8],
        attempts: &[u8],
        phones: &[Vec<u8>],
        emails: &[Vec<u8>],
    ) -> Box<[u8]> {
        let phones: Vec<&[u8]> = phones.iter().map(Vec::as_slice).collect();
        let emails: Vec<&[u8]> = emails.iter().map(Vec::as_slice).collect();
        pack(Sections {
            id,
            marks: &[marks],
            attempts: &[attempts],
            phones: (phones.len(), &phones),
            emails: (emails.len(), &emails),
        })
    }

    proptest::proptest! {
        /// Editing a tail in place gives exactly the tail `pack` builds from the edited
        /// sections: a mark inserted, marks folded and attempts replaced, a phone appended —
        /// with counts that need one or two LEB128 bytes.
        #[test]
        fn splice_matches_pack(
            id in proptest::collection::vec(b'a'..=b'z', 0..30),
            marks in 0usize..140,
            attempts in proptest::collection::vec(proptest::prelude::any::<u32>(), 0..140),
            phones in proptest::collection::vec("[0-9]{0,15}", 0..4),
            emails in proptest::collection::vec("[a-z@.]{0,200}", 0..4),
            slot in 0usize..140,
            folded in 0usize..140,
            kept in 0usize..140,
        ) {
            let mark_bytes: Vec<u8> = (0..marks)
                .flat_map(|i| PackedMark { at: i as u32, key: 7, who: 1, terminal: false }.bytes())
                .collect();
            let attempt_bytes: Vec<u8> = attempts.iter().flat_map(|a| a.to_le_bytes()).collect();
            let phones: Vec<Vec<u8>> = phones.iter().map(|p| value_bytes(p, 1, 2)).collect();
            let emails: Vec<Vec<u8>> = emails.iter().map(|e| value_bytes(e, 3, 4)).collect();
            let tail = sections_of(&id, &mark_bytes, &attempt_bytes, &phones, &emails);
            let p = parts(&tail);

            // A mark inserted at `slot`.
            let slot = slot.min(marks);
            let new = PackedMark { at: 9, key: 1, who: 0, terminal: true }.bytes();
            let at = p.marks_at + slot * MARK;
            let mut counts = p.counts();
            counts[0] += 1;
            let mut want = mark_bytes[..slot * MARK].to_vec();
            want.extend_from_slice(&new);
            want.extend_from_slice(&mark_bytes[slot * MARK..]);
            let edited = splice(tail.clone(), &[(at..at, &new)], counts);
            proptest::prop_assert_eq!(
                &edited,
                &sections_of(&id, &want, &attempt_bytes, &phones, &emails)
            );

            // The first `folded` marks dropped and the attempts replaced by the first `kept`.
            let folded = folded.min(marks);
            let kept = kept.min(attempts.len()) * 4;
            let mut counts = p.counts();
            counts[0] -= folded;
            counts[1] = kept / 4;
            let edits = [
                (p.marks_at..p.marks_at + folded * MARK, &[][..]),
                (p.attempts_at..p.attempts_at + attempt_bytes.len(), &attempt_bytes[..kept]),
            ];
            let edited = splice(tail.clone(), &edits, counts);
            proptest::prop_assert_eq!(
                &edited,
                &sections_of(&id, &mark_bytes[folded * MARK..], &attempt_bytes[..kept], &phones, &emails)
            );

            // A phone appended.
            let phone = value_bytes("79990001122", 5, 6);
            let end = p.phones.at + p.phones.bytes.len();
            let mut counts = p.counts();
            counts[2] += 1;
            let edited = splice(tail.clone(), &[(end..end, &phone)], counts);
            let mut more = phones.clone();
            more.push(phone);
            proptest::prop_assert_eq!(
                &edited,
                &sections_of(&id, &mark_bytes, &attempt_bytes, &more, &emails)
            );
            proptest::prop_assert_eq!(id_bytes(&edited), &id[..]);
        }
    }
}
