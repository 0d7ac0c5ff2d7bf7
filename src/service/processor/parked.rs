//! Records held back from the producer, in the order sent: their bytes kept in 1 MiB chunks,
//! each freed as soon as its records have been handed on.

use rdkafka::message::OwnedHeaders;

/// One record to produce: topic, partition (else the partitioner's), key, value, headers.
pub(super) type OutRecord<'a> = (
    &'a str,
    Option<i32>,
    Option<&'a [u8]>,
    Option<&'a [u8]>,
    Option<OwnedHeaders>,
);

/// The size of a chunk of bytes (a bigger record gets a chunk of its own).
const CHUNK: usize = 1 << 20;

/// Held records. A whole batch's changelog can be held (at-least-once, until the batch's
/// outputs are acknowledged): at 1M leads a day's close rewrote most leads, hundreds of MiB,
/// so the bytes go back to the allocator chunk by chunk while they are copied into librdkafka's
/// queue, not all at the end.
#[derive(Debug, Default)]
pub(super) struct Parked {
    topics: Vec<String>,
    chunks: Vec<Vec<u8>>,
    records: Vec<ParkedRecord>,
    bytes: usize,
}

#[derive(Debug)]
struct ParkedRecord {
    chunk: u32,
    topic: u16,
    /// `-1`: the partitioner's choice.
    partition: i32,
    key: Span,
    payload: Span,
    headers: Option<OwnedHeaders>,
}

/// Where a key or value lies in its record's chunk.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    /// `u32::MAX`: no bytes at all (`None`, not empty).
    len: u32,
}

impl Span {
    const ABSENT: Span = Span {
        start: 0,
        len: u32::MAX,
    };

    fn of<'a>(&self, chunk: &'a [u8]) -> Option<&'a [u8]> {
        if self.len == u32::MAX {
            return None;
        }
        let start = self.start as usize;
        chunk.get(start..start + self.len as usize)
    }
}

impl Parked {
    pub fn push(&mut self, (topic, partition, key, payload, headers): OutRecord<'_>) {
        let topic = match self.topics.iter().position(|t| t == topic) {
            Some(i) => i,
            None => {
                self.topics.push(topic.to_owned());
                self.topics.len() - 1
            }
        };
        let need = key.map_or(0, <[u8]>::len) + payload.map_or(0, <[u8]>::len);
        let room = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= need);
        if !room {
            self.chunks.push(Vec::with_capacity(need.max(CHUNK)));
        }
        let chunk_index = self.chunks.len() - 1;
        let Some(chunk) = self.chunks.last_mut() else {
            return;
        };
        let mut keep = |bytes: Option<&[u8]>| match bytes {
            None => Span::ABSENT,
            Some(b) => {
                let start = chunk.len();
                chunk.extend_from_slice(b);
                Span {
                    start: u32::try_from(start).unwrap_or(u32::MAX),
                    len: u32::try_from(b.len()).unwrap_or(u32::MAX - 1),
                }
            }
        };
        let (key, payload) = (keep(key), keep(payload));
        self.bytes += need;
        self.records.push(ParkedRecord {
            chunk: u32::try_from(chunk_index).unwrap_or(u32::MAX),
            topic: u16::try_from(topic).unwrap_or(u16::MAX),
            partition: partition.unwrap_or(-1),
            key,
            payload,
            headers,
        });
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Bytes of keys and values held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Hands every record to `send` in order, until one fails; empties the buffer either way.
    pub fn drain(&mut self, mut send: impl FnMut(OutRecord<'_>) -> Result<(), ()>) {
        let mut freed = 0;
        for record in std::mem::take(&mut self.records) {
            let chunk = record.chunk as usize;
            // Every record of the chunks before this one has been sent.
            for done in self.chunks.iter_mut().take(chunk).skip(freed) {
                *done = Vec::new();
            }
            freed = freed.max(chunk);
            let bytes = self.chunks.get(chunk).map_or(&[][..], Vec::as_slice);
            let topic = self.topics.get(usize::from(record.topic));
            let out = (
                topic.map_or("", String::as_str),
                (record.partition >= 0).then_some(record.partition),
                record.key.of(bytes),
                record.payload.of(bytes),
                record.headers,
            );
            if send(out).is_err() {
                break;
            }
        }
        self.clear();
    }

    /// Drops what is held (the batch is being rewound).
    pub fn clear(&mut self) {
        self.records = Vec::new();
        self.chunks.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parked_records_come_back_in_order_with_their_bytes() {
        let mut parked = Parked::default();
        parked.push(("violations", None, Some(b"k1"), Some(b"v1"), None));
        parked.push(("dead", Some(3), None, Some(b"bad"), None));
        parked.push(("violations", Some(1), Some(b"k2"), None, None));
        assert_eq!(parked.len(), 3);
        assert_eq!(parked.bytes(), 9);
        let mut seen = Vec::new();
        parked.drain(|(topic, partition, key, payload, _)| {
            seen.push((
                topic.to_owned(),
                partition,
                key.map(<[u8]>::to_vec),
                payload.map(<[u8]>::to_vec),
            ));
            Ok(())
        });
        assert_eq!(
            seen,
            vec![
                (
                    "violations".into(),
                    None,
                    Some(b"k1".to_vec()),
                    Some(b"v1".to_vec())
                ),
                ("dead".into(), Some(3), None, Some(b"bad".to_vec())),
                ("violations".into(), Some(1), Some(b"k2".to_vec()), None),
            ]
        );
        assert_eq!((parked.len(), parked.bytes()), (0, 0));
    }

    #[test]
    fn a_failed_send_stops_the_drain_and_drops_the_rest() {
        let mut parked = Parked::default();
        for i in 0..5u8 {
            parked.push(("t", None, None, Some(&[i]), None));
        }
        let mut sent = 0;
        parked.drain(|_| {
            sent += 1;
            if sent == 2 { Err(()) } else { Ok(()) }
        });
        assert_eq!(sent, 2);
        assert_eq!(parked.len(), 0);
    }

    #[test]
    fn records_across_chunks_keep_their_bytes_and_big_ones_fit() {
        let mut parked = Parked::default();
        let big = vec![7u8; CHUNK + 10];
        let small = [1u8; 300];
        let mut want = Vec::new();
        for i in 0..10_000u32 {
            let key = i.to_be_bytes();
            let value: &[u8] = if i == 5_000 { &big } else { &small };
            parked.push((
                "changelog",
                Some(i32::try_from(i % 4).unwrap_or(0)),
                Some(&key),
                Some(value),
                None,
            ));
            want.push((key.to_vec(), value.len()));
        }
        parked.push(("changelog", None, None, Some(b""), None));
        assert!(
            parked.chunks.len() > 3,
            "several chunks: {}",
            parked.chunks.len()
        );
        let mut got = Vec::new();
        let mut empty_value = None;
        parked.drain(|(_, partition, key, payload, _)| {
            match key {
                Some(key) => got.push((key.to_vec(), payload.map_or(0, <[u8]>::len))),
                None => empty_value = Some((partition, payload.map(<[u8]>::len))),
            }
            Ok(())
        });
        assert_eq!(got, want);
        assert_eq!(
            empty_value,
            Some((None, Some(0))),
            "an empty value is not an absent one"
        );
        assert_eq!(
            (parked.len(), parked.bytes(), parked.chunks.len()),
            (0, 0, 0)
        );
    }
}
