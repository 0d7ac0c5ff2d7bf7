//! What a task is rebuilt from besides its changelog: the committed offsets of its input
//! partitions and the engine clock committed with them (offset metadata).
//!
//! The state itself comes from the changelog (`state_log.rs`), written in the same
//! transaction as the offsets; the clock is restored after it, so timers that fired before
//! the commit do not fire again.

use std::time::Duration;

use crate::model::Timestamp;

/// Where a task's input partitions were committed, per input (`None`: never committed).
#[derive(Clone, Debug, Default)]
pub struct Committed {
    pub calls: Option<i64>,
    pub leads: Option<i64>,
    /// The engine clock committed with the offsets.
    pub clock: Option<Timestamp>,
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

const METADATA_PREFIX: &str = "dozvon:v1:clock=";

/// The offset metadata that carries a task's engine clock.
pub fn clock_metadata(clock: Timestamp) -> String {
    format!("{METADATA_PREFIX}{}", clock.millis())
}

/// The clock in offset metadata written by [`clock_metadata`] (other metadata: `None`).
pub fn parse_clock_metadata(metadata: &str) -> Option<Timestamp> {
    let millis = metadata.strip_prefix(METADATA_PREFIX)?.parse().ok()?;
    Timestamp::from_millis(millis).ok()
}
