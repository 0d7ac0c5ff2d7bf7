//! Fault injection for the exactly-once tests: abort every n-th transaction instead of
//! committing it (`DOZVON_FAULT_ABORT_EVERY=n`). Off unless the variable is set.

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that turns injection on.
pub const ABORT_EVERY_VAR: &str = "DOZVON_FAULT_ABORT_EVERY";

#[derive(Debug, Default)]
pub struct Faults {
    abort_every: Option<u64>,
    commits: AtomicU64,
}

impl Faults {
    /// Reads [`ABORT_EVERY_VAR`]; a value that is not a positive integer is refused.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var(ABORT_EVERY_VAR) {
            Err(_) => Ok(Faults::default()),
            Ok(text) => match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => {
                    tracing::warn!("fault injection: every {n}th transaction is aborted");
                    Ok(Faults {
                        abort_every: Some(n),
                        commits: AtomicU64::new(0),
                    })
                }
                _ => Err(format!(
                    "{ABORT_EVERY_VAR} must be a positive integer, not {text:?}"
                )),
            },
        }
    }

    /// Whether the commit about to happen is to be aborted instead.
    pub fn abort_this_commit(&self) -> bool {
        let Some(every) = self.abort_every else {
            return false;
        };
        let n = self.commits.fetch_add(1, Ordering::Relaxed) + 1;
        n % every == 0
    }
}
