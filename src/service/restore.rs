//! What a task is rebuilt from besides its changelog: the committed offsets of its input
//! partitions and the clocks committed with them (offset metadata).
//!
//! The state itself comes from the changelog (`state_log.rs`), written in the same
//! transaction as the offsets; the clocks are restored after it, so timers that fired before
//! the commit do not fire again, and the task's clock is known before a new record arrives.

use std::time::Duration;

use crate::engine::Secs;
use crate::model::Timestamp;

/// What a task's committed offsets carried (`None`: never committed, or not known).
#[derive(Clone, Debug, Default)]
pub struct Committed {
    /// The engine clock committed with the offsets.
    pub clock: Option<Timestamp>,
    /// Each input partition's clock (the latest event time read before its committed offset),
    /// by input index.
    pub inputs: [Option<Timestamp>; 2],
    /// The routers' release markers read before the committed offset of the resolved-calls
    /// partition (they are not read again).
    pub sources: Option<Vec<Option<Secs>>>,
    /// How far the calls partition had been read when its offset was held back to a call still
    /// held for phone resolution.
    pub calls_read: Option<i64>,
    /// With `calls_read`: how far the partition's router had released.
    pub released: Option<Secs>,
}

impl Committed {
    /// Takes the engine clock committed with one of the task's offsets (the latest wins).
    pub fn restore_clock(&mut self, clock: Option<Timestamp>) {
        if let Some(clock) = clock {
            self.clock = Some(self.clock.map_or(clock, |c| c.max(clock)));
        }
    }
}

/// What a task commits with an offset: its engine clock, and, for an input partition, that
/// partition's clock (and, for a calls partition whose offset is held back, how far it had
/// been read), or, for the resolved-calls partition, the release markers read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetMeta {
    pub clock: Option<Timestamp>,
    pub input: Option<Timestamp>,
    pub read: Option<i64>,
    pub released: Option<Secs>,
    pub sources: Option<Vec<Option<Secs>>>,
}

/// Written by versions before the input clocks: the engine clock alone.
const V1_PREFIX: &str = "dozvon:v1:clock=";
const V2_PREFIX: &str = "dozvon:v2";

impl OffsetMeta {
    /// The metadata string:
    /// `dozvon:v2;clock=MILLIS;input=MILLIS;read=OFFSET;released=S;sources=S,S,…` (each part
    /// only when known; a source without a marker is empty). 64 partitions take < 800 bytes,
    /// within Kafka's default `offset.metadata.max.bytes` of 4096.
    pub fn encode(&self) -> String {
        let mut text = String::from(V2_PREFIX);
        if let Some(clock) = self.clock {
            text.push_str(&format!(";clock={}", clock.millis()));
        }
        if let Some(input) = self.input {
            text.push_str(&format!(";input={}", input.millis()));
        }
        if let Some(read) = self.read {
            text.push_str(&format!(";read={read}"));
        }
        if let Some(released) = self.released {
            text.push_str(&format!(";released={released}"));
        }
        if let Some(sources) = &self.sources {
            let list: Vec<String> = sources
                .iter()
                .map(|s| s.map(|s| s.to_string()).unwrap_or_default())
                .collect();
            text.push_str(";sources=");
            text.push_str(&list.join(","));
        }
        text
    }

    /// Metadata written by [`OffsetMeta::encode`] or by an older version; anything else
    /// (another tool's metadata, damage) is `None`: the task starts without clocks.
    pub fn parse(metadata: &str) -> Option<Self> {
        if let Some(millis) = metadata.strip_prefix(V1_PREFIX) {
            return Some(OffsetMeta {
                clock: Some(timestamp(millis)?),
                ..OffsetMeta::default()
            });
        }
        let rest = metadata.strip_prefix(V2_PREFIX)?;
        let mut meta = OffsetMeta::default();
        for part in rest.split(';').skip(1) {
            let (name, value) = part.split_once('=')?;
            match name {
                "clock" => meta.clock = Some(timestamp(value)?),
                "input" => meta.input = Some(timestamp(value)?),
                "read" => meta.read = Some(value.parse().ok()?),
                "released" => meta.released = Some(value.parse().ok()?),
                "sources" => {
                    let sources = value
                        .split(',')
                        .map(|s| {
                            if s.is_empty() {
                                Ok(None)
                            } else {
                                s.parse().map(Some)
                            }
                        })
                        .collect::<Result<_, _>>()
                        .ok()?;
                    meta.sources = Some(sources);
                }
                _ => {} // a later version's addition
            }
        }
        Some(meta)
    }
}

fn timestamp(millis: &str) -> Option<Timestamp> {
    Timestamp::from_millis(millis.parse().ok()?).ok()
}

/// What a restore did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Restored {
    /// Changelog records read.
    pub records: u64,
    /// Of those, the latest of each key: the ones decoded and applied.
    pub latest: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_every_part() {
        let full = OffsetMeta {
            clock: Some(Timestamp::from_compact_seconds(1_000)),
            input: Some(Timestamp::from_compact_seconds(2_000)),
            read: Some(42),
            released: Some(6),
            sources: Some(vec![Some(5), None, Some(7)]),
        };
        assert_eq!(
            full.encode(),
            "dozvon:v2;clock=1000000;input=2000000;read=42;released=6;sources=5,,7"
        );
        for meta in [full, OffsetMeta::default()] {
            assert_eq!(OffsetMeta::parse(&meta.encode()), Some(meta));
        }
    }

    #[test]
    fn older_and_foreign_metadata() {
        let v1 = OffsetMeta::parse("dozvon:v1:clock=5000").expect("v1");
        assert_eq!(v1.clock, Some(Timestamp::from_compact_seconds(5)));
        assert_eq!((v1.input, v1.sources), (None, None));
        for foreign in [
            "",
            "other",
            "dozvon:v2;clock=x",
            "dozvon:v2;sources=1,-2",
            "dozvon:v2;read=",
        ] {
            assert_eq!(OffsetMeta::parse(foreign), None, "{foreign}");
        }
        let later = OffsetMeta::parse("dozvon:v2;clock=1000;lag=3").expect("later");
        assert_eq!(later.clock, Some(Timestamp::from_compact_seconds(1)));
    }
}
