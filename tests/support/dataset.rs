//! The generated dataset of the service tests: written to files for `replay`, published to
//! the test's topics for `dozvon run`.

use std::path::{Path, PathBuf};

use super::{Topics, brokers};

/// A final watermark past every timer of the March 2026 datasets (all leads evicted by then),
/// which the service reaches too once its idle partitions follow the wall clock.
pub const UNTIL: &str = "2026-11-01T00:00:00Z";

/// The generator's arguments: six days, six managers, 40 leads a day (≈ 2,150 events).
pub const GEN: [&str; 8] = [
    "--seed",
    "7",
    "--days",
    "6",
    "--managers",
    "6",
    "--leads-per-day",
    "40",
];

/// Runs `dozvon gen` with `args` and panics on failure.
pub fn generate<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_dozvon"))
        .arg("gen")
        .args(args)
        .status()
        .expect("dozvon gen runs");
    assert!(status.success(), "dozvon gen {args:?}: {status}");
}

/// The JSON values of an NDJSON file, one per non-blank line.
pub fn read_ndjson(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect()
}

/// A committed fixture folder of `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The generated dataset ([`GEN`]) and what `replay` makes of it.
pub struct Generated {
    dir: tempfile::TempDir,
    pub violations: Vec<serde_json::Value>,
    pub reviews: Vec<serde_json::Value>,
}

impl Generated {
    /// Generates the files and replays them up to [`UNTIL`].
    pub fn new() -> Generated {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().to_str().expect("utf-8 path");
        generate(&[&GEN[..], &["--out", out]].concat());
        let (violations, reviews) = super::replay(
            &dir.path().join("calls.ndjson"),
            &dir.path().join("leads.ndjson"),
            UNTIL,
        );
        assert!(
            violations.len() > 50 && reviews.len() > 20,
            "a dataset with findings"
        );
        Generated {
            dir,
            violations,
            reviews,
        }
    }

    /// How many input records (calls and lead events) the dataset has.
    pub fn events(&self) -> usize {
        ["calls.ndjson", "leads.ndjson"]
            .iter()
            .map(|name| {
                std::fs::read_to_string(self.dir.path().join(name))
                    .expect("generated file")
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .count()
            })
            .sum()
    }

    /// Publishes the same events to the input topics (created with `partitions`).
    pub fn publish(&self, topics: &Topics, partitions: i32) {
        generate(&publish_args(topics, partitions, None));
    }

    /// Creates the input topics, then publishes the events at `rate` per second from a
    /// thread of its own (the returned handle ends when all are published).
    pub fn publish_paced(
        &self,
        topics: &Topics,
        partitions: i32,
        rate: u32,
    ) -> std::thread::JoinHandle<()> {
        super::create_topics(&[&topics.calls, &topics.leads], partitions);
        let args = publish_args(topics, partitions, Some(rate));
        std::thread::spawn(move || generate(&args))
    }
}

/// `gen` arguments publishing [`GEN`] to the test's input topics.
fn publish_args(topics: &Topics, partitions: i32, rate: Option<u32>) -> Vec<String> {
    let mut args: Vec<String> = GEN.iter().map(|a| (*a).to_owned()).collect();
    args.extend([
        "--brokers".to_owned(),
        brokers(),
        "--calls-topic".to_owned(),
        topics.calls.clone(),
        "--leads-topic".to_owned(),
        topics.leads.clone(),
        "--partitions".to_owned(),
        partitions.to_string(),
    ]);
    if let Some(rate) = rate {
        args.extend(["--rate".to_owned(), rate.to_string()]);
    }
    args
}
