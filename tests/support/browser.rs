//! Headless Chromium (Debian `chromium`) against a live page: the DOM after load, a screenshot.

use std::path::Path;
use std::process::Command;

/// The Chromium binary; scripts/test.sh installs the Debian package when it is missing.
const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(args: &[&str]) -> std::process::Output {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install the Debian package `chromium` (scripts/test.sh does)"
    );
    let profile = tempfile::tempdir().expect("profile dir");
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    // Without the background-networking flags Chromium tries to reach Google's hosts, which
    // this machine's closed network refuses.
    let output = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &profile_arg,
        ])
        .args(args)
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium {args:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The serialized DOM of `url` once loaded.
pub fn dom(url: &str) -> String {
    String::from_utf8_lossy(&chromium(&["--dump-dom", url]).stdout).into_owned()
}

/// A PNG screenshot of `url` in a `width`×`height` window.
pub fn screenshot(url: &str, path: &Path, width: u32, height: u32) {
    let shot = format!("--screenshot={}", path.display());
    let size = format!("--window-size={width},{height}");
    chromium(&[&shot, &size, "--hide-scrollbars", url]);
    let bytes = std::fs::read(path).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
}
