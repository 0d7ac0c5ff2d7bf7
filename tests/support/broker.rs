//! A Tansu broker of one test's own (scripts/tansu.sh), for tests that freeze, kill or restart it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A Tansu broker started for one test alone; stopped on drop.
pub struct PrivateBroker {
    dir: tempfile::TempDir,
    storage: Option<String>,
    pub address: String,
    pid: String,
}

impl PrivateBroker {
    /// A broker keeping its log in memory: gone when the process is.
    pub fn start() -> PrivateBroker {
        PrivateBroker::launch(tempfile::tempdir().expect("tempdir"), None, None)
    }

    /// A broker keeping its log in a SQLite file of its directory: it survives a restart.
    pub fn start_durable() -> PrivateBroker {
        let dir = tempfile::tempdir().expect("tempdir");
        // tansu reads the path after `sqlite:///`, so an absolute one starts with a fourth `/`.
        let storage = format!("sqlite:///{}", dir.path().join("tansu.db").display());
        PrivateBroker::launch(dir, Some(storage), None)
    }

    fn launch(dir: tempfile::TempDir, storage: Option<String>, port: Option<&str>) -> Self {
        let (address, pid) = spawn(dir.path(), storage.as_deref(), port);
        PrivateBroker {
            dir,
            storage,
            address,
            pid,
        }
    }

    /// Sends `signal` (`-STOP`, `-CONT`, …) to the broker process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {}", self.pid);
    }

    /// Kills the broker (SIGKILL: no shutdown work) and waits until the process is gone.
    pub fn kill(&self) {
        self.signal("-KILL");
        let proc = PathBuf::from(format!("/proc/{}", self.pid));
        for _ in 0..100 {
            let zombie_or_gone = std::fs::read_to_string(proc.join("stat"))
                .map(|stat| stat.contains(") Z "))
                .unwrap_or(true);
            if zombie_or_gone {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("tansu {} still runs 5 s after SIGKILL", self.pid);
    }

    /// Starts the broker again on the same address and storage (after [`PrivateBroker::kill`]).
    pub fn restart(&mut self) {
        let port = self.address.rsplit(':').next().expect("address has a port");
        let (address, pid) = spawn(self.dir.path(), self.storage.as_deref(), Some(port));
        assert_eq!(address, self.address, "restarted on the same address");
        self.pid = pid;
    }

    /// The broker's log so far (all its runs).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default()
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        // A stopped broker must be continued before it can be terminated.
        let _ = Command::new("kill").args(["-CONT", &self.pid]).status();
        let _ = Command::new(script())
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

/// Runs `scripts/tansu.sh start DIR`; returns the broker's address and process id.
fn spawn(dir: &Path, storage: Option<&str>, port: Option<&str>) -> (String, String) {
    let mut command = Command::new(script());
    command.arg("start").arg(dir);
    if let Some(storage) = storage {
        command.env("TANSU_STORAGE", storage);
    }
    if let Some(port) = port {
        command.env("TANSU_PORT", port);
    }
    let output = command.output().expect("scripts/tansu.sh runs");
    assert!(
        output.status.success(),
        "scripts/tansu.sh start: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let address = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (address, read_pid(dir))
}

fn read_pid(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("tansu.pid"))
        .expect("tansu.pid")
        .trim()
        .to_owned()
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tansu.sh")
}
