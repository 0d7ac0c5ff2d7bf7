//! Replays over files: the committed golden scenarios, NDJSON read and written, a replay with a config text.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dozvon::config::Config;
use dozvon::model::Timestamp;
use dozvon::replay::{self, ReplayOutput};
use serde_json::Value;

/// The golden scenarios of tests/fixtures: SPEC §7 first.
pub const SCENARIOS: [&str; 6] = [
    "spec-7",
    "cutoff",
    "qc-return",
    "sla-weekend",
    "stale-other",
    "touch-30s",
];

/// A committed fixture folder of `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The JSON values of an NDJSON file, blank lines skipped.
pub fn values(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("fixture lines are JSON"))
        .collect()
}

/// The final watermark of a scenario (`until` of its expected.json).
pub fn until(name: &str) -> Option<Timestamp> {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(name).join("expected.json")).ok()?)
            .ok()?;
    Timestamp::parse_rfc3339(expected["until"].as_str()?).ok()
}

/// NDJSON of `rows`.
pub fn ndjson(rows: &[Value]) -> String {
    rows.iter().map(|row| format!("{row}\n")).collect()
}

/// Writes `rows` as NDJSON to `path` and returns it.
pub fn write(path: PathBuf, rows: &[Value]) -> PathBuf {
    std::fs::write(&path, ndjson(rows)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// `dozvon replay` (the library call) of two files under the configuration `config` (TOML).
pub fn replay(config: &str, calls: &Path, leads: &Path, until: Option<Timestamp>) -> ReplayOutput {
    let config = Arc::new(Config::from_toml_str(config).expect("config"));
    replay::replay_files(config, calls, leads, until).expect("replay runs")
}
