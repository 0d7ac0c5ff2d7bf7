//! Fault injection for the exactly-once tests; off unless its environment variables are set.
//!
//! - `DOZVON_FAULT_ABORT_EVERY=n`: every n-th transaction is aborted instead of committed.
//! - `DOZVON_FAULT_STALL_COMMIT=n` with `DOZVON_FAULT_RESUME_FILE=PATH`: the n-th transaction
//!   stops just before its commit (outputs written, transaction open) until PATH exists — a
//!   zombie in the making, for the fencing test.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Turns aborts on.
pub const ABORT_EVERY_VAR: &str = "DOZVON_FAULT_ABORT_EVERY";
/// Which commit stalls.
pub const STALL_COMMIT_VAR: &str = "DOZVON_FAULT_STALL_COMMIT";
/// The file whose appearance ends the stall.
pub const RESUME_FILE_VAR: &str = "DOZVON_FAULT_RESUME_FILE";

/// The longest a stall lasts when the file never appears.
const MAX_STALL: Duration = Duration::from_secs(120);

#[derive(Debug, Default)]
pub struct Faults {
    abort_every: Option<u64>,
    stall: Option<(u64, PathBuf)>,
    commits: AtomicU64,
}

/// A positive integer from `var`, if set.
fn positive(var: &str) -> Result<Option<u64>, String> {
    match std::env::var(var) {
        Err(_) => Ok(None),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(format!("{var} must be a positive integer, not {text:?}")),
        },
    }
}

impl Faults {
    /// Reads the variables; a malformed value is refused.
    pub fn from_env() -> Result<Self, String> {
        let abort_every = positive(ABORT_EVERY_VAR)?;
        let stall = match (
            positive(STALL_COMMIT_VAR)?,
            std::env::var_os(RESUME_FILE_VAR),
        ) {
            (None, _) => None,
            (Some(n), Some(file)) => Some((n, PathBuf::from(file))),
            (Some(_), None) => {
                return Err(format!("{STALL_COMMIT_VAR} needs {RESUME_FILE_VAR}"));
            }
        };
        if let Some(n) = abort_every {
            tracing::warn!("fault injection: every {n}th transaction is aborted");
        }
        if let Some((n, file)) = &stall {
            tracing::warn!(file = %file.display(), "fault injection: transaction {n} stalls");
        }
        Ok(Faults {
            abort_every,
            stall,
            commits: AtomicU64::new(0),
        })
    }

    /// Called once per transaction about to commit: stalls it if asked to, then tells
    /// whether to abort it instead.
    pub fn before_commit(&self) -> bool {
        let n = self.commits.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some((_, file)) = self.stall.as_ref().filter(|(at, _)| *at == n) {
            tracing::warn!(
                transaction = n,
                "fault injection: stalling before the commit"
            );
            let started = Instant::now();
            while !file.exists() && started.elapsed() < MAX_STALL {
                std::thread::sleep(Duration::from_millis(20));
            }
            tracing::warn!(transaction = n, "fault injection: stall over");
        }
        self.abort_every.is_some_and(|every| n % every == 0)
    }
}
