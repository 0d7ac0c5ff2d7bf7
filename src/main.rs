//! The `dozvon` command line.
fn main() {}
